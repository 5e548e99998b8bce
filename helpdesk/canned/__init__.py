"""Canned responses: reply texts admins maintain, with variables filled in per inquiry."""
