"""Self-hosted OpenAPI docs: Swagger UI and ReDoc served from assets shipped in a pinned package,
so ``/docs`` and ``/redoc`` work on an intranet with no internet."""
