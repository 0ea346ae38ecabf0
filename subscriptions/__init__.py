"""Subscriptions: the model catalogue mirrored from LiteLLM and the subscription state machine."""
