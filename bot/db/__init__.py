"""Kindred's database: one interface (`Database`), a SQLite and a PostgreSQL driver, migrations.

`Database.open(config)` picks the driver: a `SqliteConfig` (or a path) opens the SQLite file, a
`PostgresConfig` a pool on the server. See docs/architecture.md for the SQL both accept.
"""

from .base import Backend, Database, DatabaseError, Params, Row, Snapshot, Transaction
from .config import DatabaseConfig, PostgresConfig, SqliteConfig
from .migrations import migrate

__all__ = [
    "Backend",
    "Database",
    "DatabaseConfig",
    "DatabaseError",
    "Params",
    "PostgresConfig",
    "Row",
    "Snapshot",
    "SqliteConfig",
    "Transaction",
    "migrate",
]
