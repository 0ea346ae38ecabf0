"""Serializers of the ``integrations`` API (separate input and output shapes where they differ)."""
