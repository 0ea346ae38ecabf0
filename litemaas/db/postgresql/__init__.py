"""PostgreSQL with a client-side bound on every wait for the server (see ``base.py``)."""
