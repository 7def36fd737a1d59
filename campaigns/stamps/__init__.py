"""Stamp cards: visit-based earning (issue 16)."""
