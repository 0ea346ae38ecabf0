"""Read operations of ``accounts``: querysets already scoped to the acting user."""
