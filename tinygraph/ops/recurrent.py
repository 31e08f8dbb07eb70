"""Recurrent."""

__all__: list[str] = []
