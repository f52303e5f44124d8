"""Which prompt a guild gets next: every prompt once per cycle, in a guild-specific random order.

Pure: the service passes in the guild's pool and what it has used in the current cycle; this
module returns the choice. Nothing here touches the database or Discord.

How the order is made, and why
------------------------------
Each prompt id gets a rank, ``sha256("<guild_id>:<cycle>:<prompt_id>")``, and the next prompt is
the unused one with the lowest rank. That is a seeded random permutation of the pool, with
properties a ``random.Random`` shuffle would not give for free:

* Reproducible across restarts, machines and Python versions (``hash()`` is salted per process;
  sha256 is not), so a replayed job picks the same prompt.
* Stable when the pool changes: adding or hiding one prompt does not reshuffle the others. A
  prompt added mid-cycle lands at a random place in the *current* cycle, because it has not been
  used in it; a hidden prompt simply is not in the pool.
* Different per guild and per cycle, so two guilds (or two cycles) see different orders.

A new cycle starts when every prompt in the pool has been used in this one. The new cycle never
opens with the prompt that closed the previous one (when there is any other choice), so a member
never sees the same prompt two posts in a row.

Prompt ids are strings: built-ins are ``b001``..., custom prompts are ``c<rowid>``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass

__all__ = [
    "Choice",
    "build_pool",
    "choose_next",
    "custom_prompt_id",
    "custom_rowid",
    "cycle_order",
    "is_builtin_id",
    "parse_prompt_id",
    "prompt_id_sort_key",
]

_PROMPT_ID = re.compile(r"([bc])([0-9]+)")


@dataclass(frozen=True, slots=True)
class Choice:
    """The prompt to post next and the cycle it belongs to.

    ``new_cycle`` is true when this choice started a fresh cycle, so the service knows the
    "used in this cycle" set is now just this prompt.
    """

    prompt_id: str
    cycle: int
    new_cycle: bool = False


def choose_next(
    pool_ids: Sequence[str],
    used_in_cycle: Set[str],
    guild_id: int,
    cycle: int,
    previous: str | None = None,
) -> Choice | None:
    """The next prompt for a guild, or ``None`` when the pool is empty.

    ``pool_ids`` is the guild's pool (see :func:`build_pool`); ``used_in_cycle`` the ids posted
    in cycle ``cycle`` (ids no longer in the pool are ignored). When every pool id has been used,
    cycle ``cycle + 1`` starts and all of the pool is eligible again, except ``previous`` (the
    last prompt posted) if another prompt exists.
    """
    pool = _unique(pool_ids)
    if not pool:
        return None
    unused = [prompt_id for prompt_id in pool if prompt_id not in used_in_cycle]
    if unused:
        return Choice(_lowest_rank(unused, guild_id, cycle), cycle)
    next_cycle = cycle + 1
    candidates = [prompt_id for prompt_id in pool if prompt_id != previous] or pool
    return Choice(_lowest_rank(candidates, guild_id, next_cycle), next_cycle, new_cycle=True)


def cycle_order(pool_ids: Iterable[str], guild_id: int, cycle: int) -> list[str]:
    """The whole pool in the order cycle ``cycle`` would post it (e.g. for an "up next" list)."""
    return sorted(_unique(pool_ids), key=lambda prompt_id: _rank(prompt_id, guild_id, cycle))


def build_pool(
    builtin_ids: Iterable[str], custom_ids: Iterable[str], hidden: Set[str]
) -> list[str]:
    """A guild's pool: built-in plus custom ids, minus hidden ones, deduplicated and sorted.

    Sorted (built-ins first, then by number) so the pool, and anything listed from it, has one
    canonical order whatever order the database returned rows in.
    """
    ids = {*builtin_ids, *custom_ids} - set(hidden)
    return sorted(ids, key=prompt_id_sort_key)


def custom_prompt_id(rowid: int) -> str:
    """The prompt id of a custom prompt stored with this row id."""
    if rowid < 1:
        raise ValueError(f"custom prompt row ids start at 1, got {rowid}")
    return f"c{rowid}"


def custom_rowid(prompt_id: str) -> int | None:
    """The row id inside a custom prompt id (``"c12"`` -> 12), or ``None`` if not custom."""
    match = _PROMPT_ID.fullmatch(prompt_id)
    if match is None or match.group(1) != "c":
        return None
    return int(match.group(2))


def is_builtin_id(prompt_id: str) -> bool:
    """Whether the id names a built-in prompt (``b`` and digits); says nothing about existence."""
    match = _PROMPT_ID.fullmatch(prompt_id)
    return match is not None and match.group(1) == "b"


def parse_prompt_id(text: str) -> str:
    """Normalise an id an admin typed (``" B012 "`` -> ``"b012"``); ``ValueError`` if malformed.

    The message is written for the admin, who may have pasted the prompt text instead of its id.
    """
    candidate = text.strip().casefold()
    if _PROMPT_ID.fullmatch(candidate):
        return candidate
    shown = text.strip().replace("`", "'")[:40] or "(nothing)"
    raise ValueError(
        f"`{shown}` is not a prompt id. Ids look like b012 (built-in) or c7 (your own); "
        "/admin prompts list shows them."
    )


def prompt_id_sort_key(prompt_id: str) -> tuple[int, int, str]:
    """Sort built-ins before custom prompts, each numerically (``c9`` before ``c10``)."""
    match = _PROMPT_ID.fullmatch(prompt_id)
    if match is None:
        return (2, 0, prompt_id)
    return (0 if match.group(1) == "b" else 1, int(match.group(2)), prompt_id)


def _unique(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def _rank(prompt_id: str, guild_id: int, cycle: int) -> tuple[bytes, str]:
    digest = hashlib.sha256(f"{guild_id}:{cycle}:{prompt_id}".encode()).digest()
    return (digest, prompt_id)


def _lowest_rank(candidates: Sequence[str], guild_id: int, cycle: int) -> str:
    return min(candidates, key=lambda prompt_id: _rank(prompt_id, guild_id, cycle))
