"""Complaints and their classification."""
