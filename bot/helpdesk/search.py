"""Words for `/board search`: what an ask is indexed by, and what a search looks for.

Both databases get the same words, folded here rather than by each engine: case-folded,
accents removed (NFKD without combining marks, so "Évaluation" is "evaluation"), split on
everything that is not a letter or a digit. An open or resolved ask's topic, details and (once
shared) what helped are stored as those words in `helpdesk_search.body`, after its guild's own
word (`g<guild id>`); a withdrawn or stale ask leaves the index. SQLite indexes the words with
FTS5, PostgreSQL with a GIN `tsvector` index (`Database.newest_with_words`).

A search is the guild's word and the member's words, each quoted (`"g42" "grading" "rubrics"`:
every word, in any order, in this guild). Quoting is what keeps a member's text out of the
query syntax: what is left of `"`, `*`, `NEAR(`, `-` or `:` after splitting is letters and
digits, and inside quotes neither FTS5 nor `websearch_to_tsquery` reads an operator. The text
is always a bound parameter. The guild's word lets the index narrow to the guild before
anything is read, so a search costs the same in a guild of ten asks or among a million; a
member can type `g42` too, which only ever matches within their own guild.
"""

from __future__ import annotations

import re
import unicodedata

from bot.db import Transaction

#: More words than this add nothing a member could mean and only cost the index work.
MAX_SEARCH_WORDS = 24
#: Longer runs of letters are not words anyone searches for; PostgreSQL would drop them from
#: its index (and from a query, silently widening it), so both engines leave them out.
MAX_WORD_LENGTH = 100
_WORD = re.compile(r"[^\W_]+")


def search_words(*texts: str | None) -> list[str]:
    """The folded words of `texts`, in order (repeats kept)."""
    joined = " ".join(t for t in texts if t)
    decomposed = unicodedata.normalize("NFKD", joined)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return [w for w in _WORD.findall(plain) if len(w) <= MAX_WORD_LENGTH]


def guild_word(guild_id: int) -> str:
    """The word every indexed ask of the guild carries."""
    return f"g{guild_id}"


def match_query(text: str, guild_id: int) -> str | None:
    """The query for a member's search text in a guild: the guild's word and the text's
    distinct words, quoted; None when the text has no words."""
    words = list(dict.fromkeys(search_words(text)))[:MAX_SEARCH_WORDS]
    if not words:
        return None
    return " ".join(f'"{word}"' for word in [guild_word(guild_id), *words])


async def index_ask(
    tx: Transaction,
    ask_id: int,
    guild_id: int,
    topic: str,
    details: str,
    shared_summary: str | None = None,
) -> None:
    """(Re)index an ask's words: at creation, and when what helped is shared."""
    body = " ".join([guild_word(guild_id), *search_words(topic, details, shared_summary)])
    await tx.execute(
        "INSERT INTO helpdesk_search (ask_id, guild_id, body) VALUES (?, ?, ?) "
        "ON CONFLICT (ask_id) DO UPDATE SET body = excluded.body",
        (ask_id, guild_id, body),
    )


async def unindex_ask(tx: Transaction, ask_id: int) -> None:
    """A withdrawn or stale ask is no longer found (search covers open and resolved asks)."""
    await tx.execute("DELETE FROM helpdesk_search WHERE ask_id = ?", (ask_id,))
