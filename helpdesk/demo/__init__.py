"""The demo seeder (make demo)."""
