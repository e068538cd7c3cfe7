"""Errors of the storage layer that import nothing heavy (the light read path raises them too)."""

from __future__ import annotations


class NotFoundError(LookupError):
    """A document, version or other row the caller named does not exist."""
