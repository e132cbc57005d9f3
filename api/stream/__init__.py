"""Live alert stream (SSE) fed by PostgreSQL LISTEN/NOTIFY on the outbox."""
