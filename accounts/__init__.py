"""Accounts: users, roles, login providers, personal access tokens and notifications."""
