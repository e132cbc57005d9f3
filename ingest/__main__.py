"""``python -m ingest``: run the ingester (see ingest/service.py)."""

from ingest.service import main

main()
