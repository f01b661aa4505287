"""Route modules, one per resource under /api/v1."""
