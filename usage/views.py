"""Portal pages of ``usage`` (server-rendered, thin: selectors to read, services to write)."""
