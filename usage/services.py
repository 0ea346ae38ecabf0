"""Write operations of ``usage`` (``<entity>_<action>``, keyword-only, atomic, audited)."""
