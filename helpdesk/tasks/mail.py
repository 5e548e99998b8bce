"""Celery tasks: mail."""
