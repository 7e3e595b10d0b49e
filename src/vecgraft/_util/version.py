"""The package version, in one place (read by `vecgraft.__version__` and file metadata)."""

__version__ = "0.1.0"
