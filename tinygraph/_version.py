"""The package version, importable from anywhere in it without importing the whole package."""

__version__ = "0.1.0"
