"""Portal pages of ``subscriptions`` (server-rendered, thin: selectors to read, services to write)."""
