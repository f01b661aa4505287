"""Persistence: SQLAlchemy tables, the repository behind the services, Alembic migrations."""
