"""Security incidents (personal-data leaks and the like)."""
