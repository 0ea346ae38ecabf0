"""Write operations of ``subscriptions`` (``<entity>_<action>``, keyword-only, atomic, audited)."""
