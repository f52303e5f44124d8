"""A PostgreSQL server for the tests, and a fresh database on it for each test.

The server is the one `KINDRED_TEST_POSTGRES_DSN` names (CI starts one), else a throwaway
cluster started here: `initdb` in a temporary folder (as the `postgres` user when the tests run
as root, since PostgreSQL refuses to run as root), `fsync=off`, listening on a Unix socket in that
folder only, so it never collides with another server or another test run.

A fresh database takes about 20 ms: `CREATE DATABASE ... TEMPLATE` copies a template migrated
once per session, instead of running every migration for every test.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bot.db import Database, PostgresConfig, migrate

DSN_VARIABLE = "KINDRED_TEST_POSTGRES_DSN"
REQUIRE_VARIABLE = "KINDRED_REQUIRE_POSTGRES"


class PostgresUnavailable(Exception):
    """PostgreSQL cannot be found or started; the message says why, in one line."""


@dataclass
class PostgresServer:
    """A server the tests may create and drop databases on (as a superuser)."""

    admin_dsn: str  # the maintenance database, e.g. .../postgres
    stop: Callable[[], None] = lambda: None
    #: Stop the server (fast: connections are cut), wait `down_for` seconds, start it again
    #: (a cluster started here; None for a server named by the environment).
    restart: Callable[[float], None] | None = None
    prefix: str = field(default_factory=lambda: f"kindred_t{os.getpid()}_")
    _numbers: itertools.count[int] = field(default_factory=itertools.count)
    _template_ready: bool = False

    @property
    def template(self) -> str:
        return f"{self.prefix}template"

    def dsn(self, database: str) -> str:
        return urlunsplit(urlsplit(self.admin_dsn)._replace(path=f"/{database}"))

    async def admin(self, sql: str) -> None:
        conn = await asyncpg.connect(self.admin_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def create_database(self, *, migrated: bool = True) -> PostgresConfig:
        """A new database: empty, or at the latest schema version (from the template)."""
        if migrated and not self._template_ready:
            await self.admin(f"DROP DATABASE IF EXISTS {self.template}")
            await self.admin(f"CREATE DATABASE {self.template} TEMPLATE template0")
            db = await Database.open(PostgresConfig(self.dsn(self.template)))
            try:
                await migrate(db)
            finally:
                await db.close()
            self._template_ready = True
        name = f"{self.prefix}{next(self._numbers)}"
        template = self.template if migrated else "template0"
        await self.admin(f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
        return PostgresConfig(self.dsn(name), pool_min=1, pool_max=4)

    async def drop_database(self, config: PostgresConfig) -> None:
        name = urlsplit(config.dsn).path.removeprefix("/")
        await self.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def drop_leftovers(self) -> None:
        """Drop every database this test run created (on a server that outlives it)."""

        async def drop() -> None:
            conn = await asyncpg.connect(self.admin_dsn)
            try:
                names = await conn.fetch(
                    "SELECT datname FROM pg_database WHERE starts_with(datname, $1)", self.prefix
                )
                for (name,) in names:
                    await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            finally:
                await conn.close()

        asyncio.run(drop())


def postgres_server() -> PostgresServer:
    """The server for this test run (see the module docstring); raises PostgresUnavailable."""
    dsn = os.environ.get(DSN_VARIABLE, "").strip()
    if dsn:
        server = PostgresServer(dsn)
        try:
            asyncio.run(server.admin("SELECT 1"))
        except (OSError, asyncpg.PostgresError) as exc:
            raise PostgresUnavailable(f"{DSN_VARIABLE} cannot be reached: {exc}") from exc
        return server
    return start_cluster()


def find_bindir() -> Path | None:
    """Where initdb and pg_ctl are: on PATH, or Debian's /usr/lib/postgresql/<version>/bin."""
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return candidates[-1].parent if candidates else None


def start_cluster() -> PostgresServer:
    """initdb + pg_ctl start in a temporary folder; the server's `stop` removes it all."""
    bindir = find_bindir()
    if bindir is None:
        raise PostgresUnavailable(
            "PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql/*/bin); "
            f"install it or set {DSN_VARIABLE}"
        )
    root = Path(tempfile.mkdtemp(prefix="kindred-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(root, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data, log = root / "data", root / "server.log"

    def run(*args: str) -> None:
        result = subprocess.run(
            [*as_postgres, *args], capture_output=True, text=True, timeout=60, check=False
        )
        if result.returncode:
            detail = (result.stderr or result.stdout).strip().splitlines()
            if log.exists():
                detail += log.read_text(errors="replace").strip().splitlines()
            raise PostgresUnavailable(
                f"{Path(args[0]).name} failed: {detail[-1] if detail else result.returncode}"
            )

    def stop() -> None:
        subprocess.run(
            [*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)

    def restart(down_for: float = 0.0) -> None:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-w", "-m", "fast", "stop")
        time.sleep(down_for)
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
            "-o", options, "start")  # fmt: skip

    options = (
        f"-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        f"-c listen_addresses='' -c unix_socket_directories={root}"
    )
    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--no-locale", "--no-sync")  # fmt: skip
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
            "-o", options, "start")  # fmt: skip
    except (PostgresUnavailable, OSError, subprocess.TimeoutExpired) as exc:
        stop()
        if isinstance(exc, PostgresUnavailable):
            raise
        raise PostgresUnavailable(f"cannot start PostgreSQL: {exc}") from exc
    return PostgresServer(
        f"postgresql://postgres@/postgres?host={root}", stop=stop, restart=restart
    )
