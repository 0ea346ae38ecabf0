"""Serializers of the ``subscriptions`` API (separate input and output shapes where they differ)."""
