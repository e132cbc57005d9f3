"""MQTT ingest: decode, validate, order, evaluate (hooks), write in batches, acknowledge.

Stages are listed in :func:`ingest.pipeline.build_stages`; the process is ``python -m ingest``.
"""
