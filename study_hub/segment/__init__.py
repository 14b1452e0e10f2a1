"""RawDocument text -> passages. Pure functions: no I/O, no store."""

from study_hub.segment.segmenter import SegmentBounds, segment_text

__all__ = ["SegmentBounds", "segment_text"]
