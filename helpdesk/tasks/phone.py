"""Celery tasks: phone."""
