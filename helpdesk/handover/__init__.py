"""Contractor handover: the JSON Lines export/import of every record (docs/handover.md)."""
