"""Serializers of the ``apikeys`` API (separate input and output shapes where they differ)."""
