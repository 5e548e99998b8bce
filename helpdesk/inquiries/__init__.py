"""Inquiries: the record every channel feeds (services, selectors, filters, API, routes)."""
