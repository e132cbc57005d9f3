"""Alerts: read, filter, acknowledge, resolve (the lifecycle is ``alerts.lifecycle``)."""
