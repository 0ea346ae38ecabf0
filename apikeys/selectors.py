"""Read operations of ``apikeys``: querysets already scoped to the acting user."""
