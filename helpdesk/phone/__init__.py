"""Phone channel: PBX files in (generic CSV, Asterisk), call rules, upsert, service hours, calls API."""
