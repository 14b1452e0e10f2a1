"""study_hub: study and search the original texts of policy documents.

Data flows one way: readers (``ingest``) -> segmenter (``segment``) -> store -> indexes -> search -> web.
"""

__version__ = "0.1.0"
