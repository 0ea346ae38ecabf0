"""Serializers of the ``accounts`` API (separate input and output shapes where they differ)."""
