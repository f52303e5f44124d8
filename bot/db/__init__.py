"""Kindred's database: the shared connection and its migrations."""

from .connection import Database, DatabaseError, Transaction
from .migrations import migrate

__all__ = ["Database", "DatabaseError", "Transaction", "migrate"]
