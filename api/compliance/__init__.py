"""Compliance report for a custody decision (羁押必要性审查): JSON and printable HTML."""
