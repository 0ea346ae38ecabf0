"""Read operations of ``integrations``: querysets already scoped to the acting user."""
