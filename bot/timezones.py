"""IANA timezone names: validation with a helpful suggestion, and autocomplete."""

from __future__ import annotations

import difflib
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from .errors import UserError


@cache
def timezone_names() -> tuple[str, ...]:
    """Every IANA name tzdata knows, sorted; computed once (it reads ~600 files)."""
    return tuple(sorted(n for n in available_timezones() if "/" in n or n == "UTC"))


@cache
def _by_folded_name() -> dict[str, str]:
    return {name.casefold(): name for name in timezone_names()}


def resolve_timezone(raw: str) -> ZoneInfo:
    """`america/chicago` → ZoneInfo('America/Chicago'); a typo gets a UserError with a guess."""
    text = raw.strip().replace(" ", "_")
    name = _by_folded_name().get(text.casefold())
    if name is None:
        guesses = difflib.get_close_matches(text, timezone_names(), n=1, cutoff=0.6)
        hint = f" Did you mean `{guesses[0]}`?" if guesses else ""
        raise UserError(
            f"`{raw.strip()[:60]}` is not a timezone I know.{hint} Use an IANA name such as "
            "`America/Chicago` or `Europe/Berlin` (pick one from the suggestions)."
        )
    return ZoneInfo(name)


def suggest_timezones(query: str, limit: int = 25) -> list[str]:
    """Names for autocomplete: prefix matches on any path segment first, then substrings."""
    needle = query.strip().replace(" ", "_").casefold()
    names = timezone_names()
    if not needle:
        return list(names[:limit])
    prefix = [n for n in names if any(p.startswith(needle) for p in n.casefold().split("/"))]
    prefix += [n for n in names if n.casefold().startswith(needle) and n not in prefix]
    rest = [n for n in names if needle in n.casefold() and n not in prefix]
    return (prefix + rest)[:limit]
