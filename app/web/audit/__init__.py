"""Auditor pages (read-only)."""
