"""Use cases: one command = one database transaction holding the change and its consequences."""
