"""Write operations of ``integrations`` (``<entity>_<action>``, keyword-only, atomic, audited)."""
