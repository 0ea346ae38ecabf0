"""Shared REST API plumbing: the error handler, pagination and base permissions."""
