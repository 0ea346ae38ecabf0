"""Write operations of ``teams`` (``<entity>_<action>``, keyword-only, atomic, audited)."""
