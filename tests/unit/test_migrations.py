"""SQLite's and PostgreSQL's migrations build the same schema.

A migration is written twice (`NNNN_name.sql` and `NNNN_name.pg.sql`), so this compares what
the two sets build, table by table: columns (type, nullability, default), primary keys, foreign
keys with their ON DELETE, unique constraints and indexes. A migration added to one database
and not the other, or a column that differs, fails here. Types map one way: SQLite's INTEGER is
PostgreSQL's BIGINT (snowflakes exceed 32 bits), TEXT is TEXT.
"""

from __future__ import annotations

import re
from typing import Any

from bot.db import Database, SqliteConfig, migrate
from bot.db.migrations import load_migrations, missing_twins
from tests.support.postgres import PostgresServer

# A SQLite column type -> the PostgreSQL type its twin must have.
POSTGRES_TYPE_OF = {
    "INTEGER": "bigint",
    "TEXT": "text",
    "REAL": "double precision",
    "BLOB": "bytea",
}

Schema = dict[str, dict[str, Any]]


def test_every_migration_has_its_twin_and_both_sets_have_the_same_numbers():
    assert missing_twins() == []
    sqlite = [m.name.removesuffix(".sql") for m in load_migrations(backend="sqlite")]
    postgres = [m.name.removesuffix(".pg.sql") for m in load_migrations(backend="postgres")]
    assert sqlite == postgres


def test_a_migration_without_its_twin_is_named(tmp_path):
    (tmp_path / "0001_a.sql").write_text("CREATE TABLE a (x INTEGER);")
    (tmp_path / "0001_a.pg.sql").write_text("CREATE TABLE a (x BIGINT);")
    (tmp_path / "0002_b.sql").write_text("CREATE TABLE b (x INTEGER);")
    assert missing_twins(tmp_path) == ["0002_b.pg.sql"]


async def test_both_databases_end_with_the_same_schema(tmp_path, postgres_server: PostgresServer):
    config = await postgres_server.create_database(migrated=False)
    sqlite = await Database.open(SqliteConfig(tmp_path / "k.db"))
    postgres = await Database.open(config)
    try:
        await migrate(sqlite)
        await migrate(postgres)
        assert await sqlite.schema_version() == await postgres.schema_version()
        expected, actual = await sqlite_schema(sqlite), await postgres_schema(postgres)
        assert sorted(actual) == sorted(expected), "the two databases have different tables"
        for table in expected:
            assert actual[table] == expected[table], f"table {table} differs"
        assert await sqlite.table_columns() == await postgres.table_columns()
    finally:
        await sqlite.close()
        await postgres.close()
        await postgres_server.drop_database(config)


def _default(text: str | None) -> str | None:
    """A column default without PostgreSQL's cast (`'UTC'::text` -> `'UTC'`)."""
    return None if text is None else re.sub(r"::[a-z ]+$", "", text)


async def sqlite_schema(db: Database) -> Schema:
    schema: Schema = {}
    for table in await db.table_columns():
        info = await db.fetchall("SELECT * FROM pragma_table_info(?)", (table,))
        pk = tuple(r["name"] for r in sorted((r for r in info if r["pk"]), key=lambda r: r["pk"]))
        columns = {
            r["name"]: (
                POSTGRES_TYPE_OF.get(r["type"].upper(), f"SQLite {r['type']}"),
                bool(r["notnull"] or r["pk"]),
                _default(r["dflt_value"]),
            )
            for r in info
        }
        fks = {
            (r["from"], r["table"], r["to"], r["on_delete"])
            for r in await db.fetchall("SELECT * FROM pragma_foreign_key_list(?)", (table,))
        }
        indexes = set()
        for index in await db.fetchall("SELECT * FROM pragma_index_list(?)", (table,)):
            if index["origin"] == "pk":
                continue
            cols = await db.fetchall("SELECT name FROM pragma_index_info(?)", (index["name"],))
            name = index["name"] if index["origin"] == "c" else None  # CREATE INDEX names
            indexes.add((name, bool(index["unique"]), tuple(c[0] for c in cols)))
        schema[table] = {"columns": columns, "primary_key": pk, "fks": fks, "indexes": indexes}
    return schema


async def postgres_schema(db: Database) -> Schema:
    schema: Schema = {}
    for table in await db.table_columns():
        info = await db.fetchall(
            "SELECT column_name, data_type, is_nullable, column_default "
            "FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ?",
            (table,),
        )
        columns = {
            r["column_name"]: (
                r["data_type"],
                r["is_nullable"] == "NO",
                _default(r["column_default"]),
            )
            for r in info
        }
        pk = tuple(
            r[0]
            for r in await db.fetchall(
                "SELECT a.attname FROM pg_index AS i "
                "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
                "JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
                "WHERE i.indrelid = CAST(? AS regclass) AND i.indisprimary ORDER BY k.n",
                (table,),
            )
        )
        fks = {
            (r["column"], r["ref_table"], r["ref_column"], r["on_delete"])
            for r in await db.fetchall(
                "SELECT a.attname AS column, CAST(c.confrelid AS regclass)::text AS ref_table, "
                "ra.attname AS ref_column, "
                "CASE c.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' "
                "WHEN 'r' THEN 'RESTRICT' WHEN 'd' THEN 'SET DEFAULT' ELSE 'NO ACTION' END "
                "AS on_delete "
                "FROM pg_constraint AS c "
                "JOIN pg_attribute AS a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
                "JOIN pg_attribute AS ra ON ra.attrelid = c.confrelid "
                "AND ra.attnum = c.confkey[1] "
                "WHERE c.conrelid = CAST(? AS regclass) AND c.contype = 'f'",
                (table,),
            )
        }
        indexes = set()
        for index in await db.fetchall(
            "SELECT ic.relname AS name, i.indisunique AS is_unique, "
            "EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conindid = i.indexrelid) "
            "AS for_constraint, i.indexrelid AS oid "
            "FROM pg_index AS i JOIN pg_class AS ic ON ic.oid = i.indexrelid "
            "WHERE i.indrelid = CAST(? AS regclass) AND NOT i.indisprimary "
            # An expression index (the GIN search index) is the engine's own, like SQLite's
            # FTS5 table; tests/unit/test_helpdesk_search.py checks both find the same asks.
            "AND NOT (0 = ANY (CAST(i.indkey AS int2[])))",
            (table,),
        ):
            cols = await db.fetchall(
                "SELECT a.attname FROM pg_index AS i "
                "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
                "JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
                "WHERE i.indexrelid = ? ORDER BY k.n",
                (index["oid"],),
            )
            name = None if index["for_constraint"] else index["name"]
            indexes.add((name, index["is_unique"], tuple(c[0] for c in cols)))
        schema[table] = {"columns": columns, "primary_key": pk, "fks": fks, "indexes": indexes}
    return schema
