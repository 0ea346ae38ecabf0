"""Serializers of the ``usage`` API (separate input and output shapes where they differ)."""
