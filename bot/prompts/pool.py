"""A guild's prompt pool in the database: custom prompts, hidden built-ins, imports, usage.

The rules of *which* prompt comes next live in `rotation.py` (pure); this module reads and writes
what those rules need. Every way a prompt enters the pool (add, import, an approved suggestion)
goes through `insert_custom`, so "the same prompt" is decided once, by `prompt_key`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from bot.clock import Clock
from bot.db import Database, Transaction
from bot.errors import UserError
from bot.timeutil import to_db

from .importing import (
    ImportFileError,
    InFileDuplicate,
    Rejected,
    checked_prompt_text,
    parse_import,
    prompt_key,
)
from .library import load_library
from .rotation import (
    build_pool,
    custom_prompt_id,
    custom_rowid,
    is_builtin_id,
    parse_prompt_id,
    prompt_id_sort_key,
)

CUSTOM_THEME = "from this community"
LIST_PAGE_SIZE = 15


@dataclass(frozen=True, slots=True)
class PoolPrompt:
    """One prompt of a guild's pool (built-in or custom) as the list and the rotation see it."""

    prompt_id: str
    text: str
    theme: str
    builtin: bool
    hidden: bool = False
    used_in_cycle: bool = False


@dataclass(frozen=True, slots=True)
class PoolPage:
    """One page of `/admin prompts list`, with the pool's totals for its footer."""

    entries: list[PoolPrompt]
    page: int  # 1-based
    pages: int
    total: int  # every entry, hidden built-ins included
    in_pool: int  # what the rotation draws from
    used_in_cycle: int


@dataclass(frozen=True, slots=True)
class Removal:
    """What `/admin prompts remove` did: hid a built-in or deleted a custom prompt."""

    prompt_id: str
    text: str
    hidden: bool  # True: a built-in was hidden; False: a custom prompt was deleted


@dataclass(frozen=True, slots=True)
class PoolDuplicate:
    """An imported line whose prompt the pool already has, so the admin sees which."""

    line_no: int
    existing_id: str


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did, line by line: added, duplicates (in file, in pool), rejected."""

    added: list[str] = field(default_factory=list)  # new prompt ids
    duplicates_in_file: list[InFileDuplicate] = field(default_factory=list)
    duplicates_in_pool: list[PoolDuplicate] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Usage:
    """What the rotation needs: the current cycle, its used ids and the last prompt posted."""

    cycle: int
    used: frozenset[str]
    previous: str | None


@dataclass(frozen=True, slots=True)
class ClaimState:
    """What claiming a day's post decides on: the day's row (if any), the pool and its usage."""

    day_post_id: int | None
    day_status: str | None
    pool: dict[str, PoolPrompt]
    usage: Usage


# The one definition of "used in the current cycle": a post uses its prompt from the moment it
# is claimed (so a crash mid-send cannot hand out the same prompt twice); failed and skipped
# posts use nothing. The current cycle is the highest cycle among the posts that used one.
_USED_THIS_CYCLE = """
    SELECT id, prompt_id, cycle FROM prompt_posts
     WHERE guild_id = :guild_id AND status IN ('claimed', 'sent') AND cycle = (
        SELECT MAX(cycle) FROM prompt_posts
         WHERE guild_id = :guild_id AND status IN ('claimed', 'sent'))
"""

# One statement, so a claim is one read (each read is a hop to the database thread, and 10,000
# guilds may post in the same second). Parts are ordered by id, as `customs` and `usage` are.
_CLAIM_STATE = f"""
    SELECT 'day' AS part, id AS n, status AS value, CAST(NULL AS BIGINT) AS cycle
      FROM prompt_posts WHERE guild_id = :guild_id AND local_date = :day AND extra = 0
    UNION ALL
    SELECT 'hidden', CAST(NULL AS BIGINT), prompt_id, CAST(NULL AS BIGINT)
      FROM hidden_prompts WHERE guild_id = :guild_id
    UNION ALL
    SELECT 'custom', id, text, CAST(NULL AS BIGINT) FROM custom_prompts WHERE guild_id = :guild_id
    UNION ALL
    SELECT 'used', id, prompt_id, cycle FROM ({_USED_THIS_CYCLE}) AS used
    ORDER BY part, n
"""


class PromptPool:
    """Reads and writes a guild's prompt pool: customs, hidden built-ins, cycle usage."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    # -- reading ---------------------------------------------------------------------------------

    async def hidden_ids(self, guild_id: int, tx: Transaction | None = None) -> set[str]:
        """The built-ins an admin removed from this guild's pool."""
        reader = tx or self._db
        rows = await reader.fetchall(
            "SELECT prompt_id FROM hidden_prompts WHERE guild_id = ?", (guild_id,)
        )
        return {row["prompt_id"] for row in rows}

    async def customs(self, guild_id: int, tx: Transaction | None = None) -> list[PoolPrompt]:
        """The guild's own prompts, oldest first."""
        reader = tx or self._db
        rows = await reader.fetchall(
            "SELECT id, text FROM custom_prompts WHERE guild_id = ? ORDER BY id", (guild_id,)
        )
        return [_custom(row["id"], row["text"]) for row in rows]

    async def pool(self, guild_id: int, tx: Transaction | None = None) -> dict[str, PoolPrompt]:
        """The prompts the rotation draws from (built-in + custom - hidden), by id, sorted."""
        return _assemble(await self.hidden_ids(guild_id, tx), await self.customs(guild_id, tx))

    async def claim_state(
        self, guild_id: int, day: str, reader: Database | Transaction
    ) -> ClaimState:
        """`pool`, `usage` and the day's (non-extra) post row in one read, for a claim."""
        rows = await reader.fetchall(_CLAIM_STATE, {"guild_id": guild_id, "day": day})
        day_rows = [row for row in rows if row["part"] == "day"]
        pool = _assemble(
            {row["value"] for row in rows if row["part"] == "hidden"},
            [_custom(row["n"], row["value"]) for row in rows if row["part"] == "custom"],
        )
        usage = _usage([(row["value"], row["cycle"]) for row in rows if row["part"] == "used"])
        return ClaimState(
            day_post_id=day_rows[0]["n"] if day_rows else None,
            day_status=day_rows[0]["value"] if day_rows else None,
            pool=pool,
            usage=usage,
        )

    async def usage(self, guild_id: int) -> Usage:
        """Prompts posted (or being posted) in the current cycle; failed posts use nothing."""
        rows = await self._db.fetchall(f"{_USED_THIS_CYCLE} ORDER BY id", {"guild_id": guild_id})
        return _usage([(row["prompt_id"], row["cycle"]) for row in rows])

    async def page(self, guild_id: int, page: int) -> PoolPage:
        """One page of every prompt (hidden built-ins too, flagged), built-ins first."""
        hidden = await self.hidden_ids(guild_id)
        used = (await self.usage(guild_id)).used
        entries = [
            PoolPrompt(p.id, p.text, p.theme, True, p.id in hidden, p.id in used)
            for p in load_library()
        ] + [
            PoolPrompt(c.prompt_id, c.text, c.theme, False, False, c.prompt_id in used)
            for c in await self.customs(guild_id)
        ]
        entries.sort(key=lambda e: prompt_id_sort_key(e.prompt_id))
        pages = max(1, -(-len(entries) // LIST_PAGE_SIZE))
        if not 1 <= page <= pages:
            raise UserError(f"There is no page {page}; the pool has {pages} pages.")
        start = (page - 1) * LIST_PAGE_SIZE
        in_pool = [e for e in entries if not e.hidden]
        return PoolPage(
            entries=entries[start : start + LIST_PAGE_SIZE],
            page=page,
            pages=pages,
            total=len(entries),
            in_pool=len(in_pool),
            used_in_cycle=sum(e.used_in_cycle for e in in_pool),
        )

    # -- changing the pool -----------------------------------------------------------------------

    async def add(self, guild_id: int, text: str) -> PoolPrompt:
        """Add one custom prompt; it joins the current cycle (it has not been used in it)."""
        cleaned = checked_prompt_text(text)
        async with self._db.transaction() as tx:
            existing = await self.existing_keys(guild_id, tx)
            if prompt_key(cleaned) in existing:
                raise UserError(
                    f"That prompt is already in the pool as `{existing[prompt_key(cleaned)]}`."
                )
            prompt_id = await self.insert_custom(tx, guild_id, cleaned, "admin")
        return PoolPrompt(prompt_id, cleaned, CUSTOM_THEME, builtin=False)

    async def remove(self, guild_id: int, typed_id: str) -> Removal:
        """Delete a custom prompt, or hide a built-in one (built-ins are shared, never deleted)."""
        try:
            prompt_id = parse_prompt_id(typed_id)
        except ValueError as exc:
            raise UserError(str(exc)) from exc
        async with self._db.transaction() as tx:
            if is_builtin_id(prompt_id):
                builtin = next((p for p in load_library() if p.id == prompt_id), None)
                if builtin is None:
                    raise UserError(f"There is no built-in prompt `{prompt_id}`.")
                hidden = await tx.execute(
                    "INSERT INTO hidden_prompts (guild_id, prompt_id, hidden_at) "
                    "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    (guild_id, prompt_id, to_db(self._clock.now())),
                )
                if not hidden:
                    raise UserError(f"`{prompt_id}` is already hidden in this server.")
                return Removal(prompt_id, builtin.text, hidden=True)
            row = await tx.fetchone(
                "SELECT text FROM custom_prompts WHERE id = ? AND guild_id = ?",
                (custom_rowid(prompt_id), guild_id),
            )
            if row is None:
                raise UserError(
                    f"This server has no prompt `{prompt_id}`; /admin prompts list shows the ids."
                )
            await tx.execute("DELETE FROM custom_prompts WHERE id = ?", (custom_rowid(prompt_id),))
            return Removal(prompt_id, row["text"], hidden=False)

    async def import_file(self, guild_id: int, filename: str, data: bytes) -> ImportReport:
        """Add every usable, new line of a .txt/.csv file; report the rest line by line."""
        try:
            parsed = parse_import(filename, data)
        except ImportFileError as exc:
            raise UserError(str(exc)) from exc
        report = ImportReport(
            duplicates_in_file=parsed.duplicates_in_file, rejected=parsed.rejected
        )
        async with self._db.transaction() as tx:
            existing = await self.existing_keys(guild_id, tx)
            for text, line_no in zip(parsed.accepted, parsed.accepted_lines, strict=True):
                if (found := existing.get(prompt_key(text))) is not None:
                    report.duplicates_in_pool.append(PoolDuplicate(line_no, found))
                    continue
                report.added.append(await self.insert_custom(tx, guild_id, text, "import"))
        return report

    async def existing_keys(self, guild_id: int, tx: Transaction) -> dict[str, str]:
        """prompt_key -> id for every prompt in the pool (hidden built-ins are not in it)."""
        return {prompt_key(p.text): pid for pid, p in (await self.pool(guild_id, tx)).items()}

    async def insert_custom(self, tx: Transaction, guild_id: int, text: str, source: str) -> str:
        """Add a checked, new prompt to the pool in `tx` (every way in goes through here, so
        "the same prompt" is decided once, by `prompt_key`); returns its id."""
        rowid = await tx.fetchval(
            "INSERT INTO custom_prompts (guild_id, text, text_key, source, created_at) "
            "VALUES (?, ?, ?, ?, ?) RETURNING id",
            (guild_id, text, prompt_key(text), source, to_db(self._clock.now())),
        )
        return custom_prompt_id(rowid)


def _usage(used: list[tuple[str, int]]) -> Usage:
    """The rotation's view of `(prompt_id, cycle)` rows of the current cycle, oldest first."""
    if not used:
        return Usage(0, frozenset(), None)
    return Usage(used[0][1], frozenset(p for p, _ in used), used[-1][0])


def _custom(rowid: int, text: str) -> PoolPrompt:
    return PoolPrompt(custom_prompt_id(rowid), text, CUSTOM_THEME, builtin=False)


def _assemble(hidden: set[str], customs: list[PoolPrompt]) -> dict[str, PoolPrompt]:
    """The pool from its parts: built-in + custom - hidden, by id, sorted."""
    by_id = {p.prompt_id: p for p in customs}
    every = _builtins() | by_id
    return {pid: every[pid] for pid in build_pool(_builtins(), by_id, hidden)}


@functools.cache
def _builtins() -> dict[str, PoolPrompt]:
    """The built-in library as pool entries, built once (it never changes while running)."""
    return {p.id: PoolPrompt(p.id, p.text, p.theme, builtin=True) for p in load_library()}
