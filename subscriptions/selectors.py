"""Read operations of ``subscriptions``: querysets already scoped to the acting user."""
