"""How privacy treats a table's member columns; each feature declares the rules of its tables.

By default a row in which a member's id appears in any `*user_id` column is theirs: shown by
`/privacy show` and deleted by `/privacy forget`. A feature whose table holds someone else's
record that mentions the member says so with a `TableRule` in its `privacy_rules`:

- `anonymise`: keep the row, replace the id by a pseudonym (a partner's pairing history keeps an
  anonymous marker, so repeat avoidance and stats stay consistent);
- `keep`: neither shown to the member nor removed. Only for another member's confidential choice
  about them (a block): showing it would reveal it, removing it would silently undo it.

Ids 0 and below are never members (features use 0 for "nobody"; pseudonyms are negative).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.errors import UserError


@dataclass(frozen=True, slots=True)
class TableRule:
    """How privacy treats one table; tables without a rule are plain "delete the rows"."""

    label: str = ""  # plain words for /privacy show, e.g. "asks for help"
    anonymise: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()


TableRules = Mapping[str, TableRule]


def merge_rules(sources: Iterable[TableRules]) -> dict[str, TableRule]:
    """One table -> rule map from every feature's rules; a table claimed twice is a bug."""
    merged: dict[str, TableRule] = {}
    for rules in sources:
        for table, rule in rules.items():
            if table in merged:
                raise RuntimeError(f"two features declare privacy rules for {table}")
            merged[table] = rule
    return merged


def check_member_id(user_id: int) -> None:
    """Refuse ids that are never members (0, pseudonyms) before touching anything."""
    if user_id <= 0:
        raise UserError("That is not a member's id.")
