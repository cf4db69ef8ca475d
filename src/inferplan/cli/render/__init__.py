"""Turning core results into output: one module per command, shared helpers in ``common``."""
