"""Read operations of ``teams``: querysets already scoped to the acting user."""
