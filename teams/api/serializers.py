"""Serializers of the ``teams`` API (separate input and output shapes where they differ)."""
