"""Normalization."""

__all__: list[str] = []
