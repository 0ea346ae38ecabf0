"""Portal pages of ``integrations`` (server-rendered, thin: selectors to read, services to write)."""
