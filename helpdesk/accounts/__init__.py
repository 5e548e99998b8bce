"""Staff accounts: API tokens, staff users, the token endpoint."""
