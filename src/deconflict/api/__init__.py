"""HTTP API: app factory, authentication, schemas, error mapping and routes under /api/v1."""
