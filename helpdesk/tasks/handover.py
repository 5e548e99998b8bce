"""Celery tasks: handover."""
