"""The store's error (`StoreError`): a storage problem worth a clear message."""

from __future__ import annotations


class StoreError(Exception):
    """A storage problem worth a clear message (bad URL, foreign file, unsupported operation)."""
