"""Altair chart builders: frames in, charts out (no data access, no analysis)."""
