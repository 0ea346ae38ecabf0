"""Read operations of ``usage``: querysets already scoped to the acting user."""
