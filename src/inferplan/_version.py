"""The package version (the CLI and profile headers read it without importing the API)."""

__version__ = "0.1.0"
