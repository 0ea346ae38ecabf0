"""Write operations of ``apikeys`` (``<entity>_<action>``, keyword-only, atomic, audited)."""
