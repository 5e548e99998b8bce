"""Escalations to the ministry desk and their return."""
