"""Errors raised by the geofence package.

::

    GeofenceError
     ├── ZoneError    a zone's input geometry was refused (the reason is for a human)
     └── RuleError    a rule, schedule or permit is inconsistent (missing zone, bad window, ...)

Fixes are never refused here: ingest validates them before they reach the engine.
"""

from __future__ import annotations


class GeofenceError(Exception):
    """Base of every error the geofence package raises on bad configuration input."""


class ZoneError(GeofenceError):
    """A zone geometry was refused; ``reason`` says why in words an administrator understands."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RuleError(GeofenceError):
    """A rule, schedule or leave permit is inconsistent with itself or with the zones it names."""
