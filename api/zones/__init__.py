"""Zones: GeoJSON in a declared datum, stored in WGS84, served in the datum asked for."""
