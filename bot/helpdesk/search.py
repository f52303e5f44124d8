"""Words for `/board search`: what an ask is indexed by, and what a search looks for.

Both databases get the same words, folded here rather than by each engine: case-folded,
accents removed (NFKD without combining marks, so "Évaluation" is "evaluation"), split on
everything that is not a letter or a digit. An ask's topic, details and (once shared) what
helped are stored as those words in `helpdesk_search.body`; SQLite indexes them with FTS5,
PostgreSQL with a GIN `tsvector` index (`Database.words_condition`).

A search is its words, each quoted (`"grading" "rubrics"`: every word, in any order). Quoting
is what keeps a member's text out of the query syntax: what is left of `"`, `*`, `NEAR(`, `-`
or `:` after splitting is letters and digits, and inside quotes neither FTS5 nor
`websearch_to_tsquery` reads an operator. The text is always a bound parameter.
"""

from __future__ import annotations

import re
import unicodedata

from bot.db import Transaction

#: More words than this add nothing a member could mean and only cost the index work.
MAX_SEARCH_WORDS = 24
_WORD = re.compile(r"[^\W_]+")


def search_words(*texts: str | None) -> list[str]:
    """The folded words of `texts`, in order (repeats kept)."""
    joined = " ".join(t for t in texts if t)
    decomposed = unicodedata.normalize("NFKD", joined)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return _WORD.findall(plain)


def match_query(text: str) -> str | None:
    """The query for a member's search text: its distinct words, quoted; None without words."""
    words = list(dict.fromkeys(search_words(text)))[:MAX_SEARCH_WORDS]
    return " ".join(f'"{word}"' for word in words) or None


async def index_ask(
    tx: Transaction,
    ask_id: int,
    guild_id: int,
    topic: str,
    details: str,
    shared_summary: str | None = None,
) -> None:
    """(Re)index an ask's words: at creation, and when what helped is shared."""
    await tx.execute(
        "INSERT INTO helpdesk_search (ask_id, guild_id, body) VALUES (?, ?, ?) "
        "ON CONFLICT (ask_id) DO UPDATE SET body = excluded.body",
        (ask_id, guild_id, " ".join(search_words(topic, details, shared_summary))),
    )
