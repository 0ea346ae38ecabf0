"""Portal pages of ``accounts`` (server-rendered, thin: selectors to read, services to write)."""
