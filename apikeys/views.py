"""Portal pages of ``apikeys`` (server-rendered, thin: selectors to read, services to write)."""
