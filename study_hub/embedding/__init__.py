"""Sentence embeddings: the default model (built offline from a PyPI package) and the encoder wrapper."""
