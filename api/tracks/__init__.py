"""Tracks: a case's fixes over a range as GeoJSON (optionally simplified), GPX and CSV."""
