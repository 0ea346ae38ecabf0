"""Portal pages of ``teams`` (server-rendered, thin: selectors to read, services to write)."""
