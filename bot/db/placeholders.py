"""SQLite-style placeholders (`?` and `:name`) turned into PostgreSQL's `$1, $2, ...`.

Kindred's SQL is written once, in the subset both databases accept, with SQLite's placeholders.
asyncpg only knows `$n`, so the PostgreSQL driver rewrites each statement once (the result is
cached: statements are a fixed set of strings) and binds the parameters in the new order.

The scanner skips what is not SQL code: string literals ('it''s', E'\\n'), quoted identifiers,
comments and dollar-quoted bodies, so a `?` or `:x` in a literal stays literal; `::` is a cast,
never a parameter. A statement uses one style, `?` or `:name`, as sqlite3 requires too.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class PlaceholderError(ValueError):
    """A statement or its parameters do not fit together (a bug in the caller)."""


@dataclass(frozen=True, slots=True)
class Translated:
    """A statement rewritten to PostgreSQL's `$n` placeholders, with how to bind its params."""

    sql: str
    # For `:name` statements, the name bound to each `$n` in order; None for `?` statements.
    names: tuple[str, ...] | None
    count: int

    def bind(self, params: Sequence[Any] | Mapping[str, Any]) -> list[Any]:
        """The parameters in `$n` order."""
        if self.names is not None:
            if not isinstance(params, Mapping):
                raise PlaceholderError(f"named placeholders need a mapping: {self.sql!r}")
            try:
                return [params[name] for name in self.names]
            except KeyError as exc:
                raise PlaceholderError(f"no value for :{exc.args[0]} in {self.sql!r}") from None
        if isinstance(params, Mapping):
            if params or self.count:
                raise PlaceholderError(f"'?' placeholders need a sequence: {self.sql!r}")
            return []
        if len(params) != self.count:
            raise PlaceholderError(
                f"{self.count} placeholders but {len(params)} values: {self.sql!r}"
            )
        return list(params)


def _is_name_start(ch: str) -> bool:
    return ch.isalpha() or ch == "_"


def _is_name_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


@functools.lru_cache(maxsize=4096)
def translate(sql: str) -> Translated:
    """`sql` with `?` / `:name` rewritten to `$n` (see the module docstring)."""
    out: list[str] = []
    names: dict[str, int] = {}
    order: list[str] = []
    positional = 0
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        nxt = sql[i + 1] if i + 1 < n else ""
        if ch == "'":
            backslashes = i > 0 and sql[i - 1] in "eE" and (i < 2 or not _is_name_char(sql[i - 2]))
            end = _string_end(sql, i, backslashes)
            out.append(sql[i:end])
            i = end
        elif ch == '"':
            end = sql.find('"', i + 1)
            end = n if end < 0 else end + 1
            out.append(sql[i:end])
            i = end
        elif ch == "-" and nxt == "-":
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end])
            i = end
        elif ch == "/" and nxt == "*":
            end = sql.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(sql[i:end])
            i = end
        elif ch == "$" and (nxt == "$" or _is_name_start(nxt)) and not _after_name(sql, i):
            end = _dollar_end(sql, i)
            out.append(sql[i:end])
            i = end
        elif ch == "?":
            positional += 1
            out.append(f"${positional}")
            i += 1
        elif ch == ":" and nxt == ":":
            out.append("::")
            i += 2
        elif ch == ":" and _is_name_start(nxt):
            end = i + 1
            while end < n and _is_name_char(sql[end]):
                end += 1
            name = sql[i + 1 : end]
            if name not in names:
                order.append(name)
                names[name] = len(order)
            out.append(f"${names[name]}")
            i = end
        else:
            out.append(ch)
            i += 1
    if positional and order:
        raise PlaceholderError(f"a statement mixes '?' and ':name' placeholders: {sql!r}")
    if order:
        return Translated("".join(out), tuple(order), len(order))
    return Translated("".join(out), None, positional)


def _after_name(sql: str, i: int) -> bool:
    """A `$` right after an identifier character is part of a name, not a dollar quote."""
    return i > 0 and _is_name_char(sql[i - 1])


def _string_end(sql: str, start: int, backslashes: bool) -> int:
    """The index just past the string literal opening at `start`."""
    i, n = start + 1, len(sql)
    while i < n:
        ch = sql[i]
        if backslashes and ch == "\\":
            i += 2
        elif ch == "'":
            if i + 1 < n and sql[i + 1] == "'":
                i += 2
            else:
                return i + 1
        else:
            i += 1
    return n


def _dollar_end(sql: str, start: int) -> int:
    """The index just past a `$tag$ ... $tag$` body opening at `start` (or past `$name`)."""
    close = sql.find("$", start + 1)
    if close < 0:
        return start + 1
    tag = sql[start : close + 1]
    if not all(_is_name_char(c) for c in tag[1:-1]):
        return start + 1
    end = sql.find(tag, close + 1)
    return len(sql) if end < 0 else end + len(tag)
