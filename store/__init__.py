"""Database access: numbered SQL migrations, the asyncpg pool, and each table's SQL."""
