"""Help-ledger topics: one canonical spelling per topic, and autocomplete ranking.

Pure: no discord, no database. The ledger stores `normalise_topic(raw)` as the topic key
(unique per guild), so "PBL ", "pbl" and a full-width "PBL" are one topic; `/ask`, `/offer`
and `/board` autocomplete with `rank_topics(query, guild_topics)`.

Decisions (and why)
-------------------
* **Canonical form.** Unicode NFKC, case-folded (`"STRASSE"` and `"straße"` are one topic),
  whitespace of any kind collapsed to single spaces and trimmed. NFKC folds look-alike forms
  (full-width letters, ligatures, composed vs decomposed accents) that members cannot tell
  apart on screen and would otherwise become duplicate topics.
* **Invisible characters are removed.** Zero-width, bidi-override and other format (Cf) and
  control (Cc) characters are dropped; control whitespace (tab, newline) becomes a space first.
  Invisible differences must not create two topics that look identical, and bidi overrides can
  make a topic display as something else.
* **A leading `#` is dropped.** Educators write topics as hashtags (`#edchat`); "#edchat" and
  "edchat" should be one topic, and a line starting with `# ` renders as a Discord heading.
  `#` elsewhere is kept (`C#`).
* **`@`, `<`, `>` and backticks are rejected, not silently removed.** Every message is sent with
  `AllowedMentions.none()`, so nothing would ping, but `@everyone` or `<@123>` in a topic would
  still *display* like a mention (and `<#id>`, `<t:...>`, `<:emoji:id>` would render as markup),
  and a backtick breaks the inline-code quoting we use to show topics. No real teaching topic
  needs these characters, and a clear error ("remove them") beats a topic silently different
  from what was typed. Other markdown (`*`, `_`, `~`, `|`) is legitimate in topics
  (`stem_ed`) and is escaped by the cogs when rendering.
* **A topic needs a letter or a digit.** Punctuation- or emoji-only topics (`---`, `**`, `🧪`)
  cannot be found by typing in autocomplete and are almost always a slip.
* **Length is 2-60 characters of the canonical form** (code points), so the limit a member is
  told about is the one that is stored. Two allows `AI`, `PE`, `EL`; sixty fits an autocomplete
  choice (Discord allows 100) and a board line.
* **Autocomplete never raises.** `rank_topics` uses `normalise_query`, the same folding without
  any validation, because an exception in an autocomplete callback just shows the member an
  empty, broken list.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable

from bot.errors import UserError

TOPIC_MIN = 2
TOPIC_MAX = 60
#: Discord shows at most 25 autocomplete choices.
AUTOCOMPLETE_LIMIT = 25
#: Queries shorter than this get no fuzzy matches: with 1 or 2 characters nearly everything is
#: "close", and prefix/substring matching already covers them.
FUZZY_MIN_QUERY = 3
#: difflib ratio needed to count as a close spelling. 0.6 (difflib's usual cut-off) lets
#: unrelated short words through ("mat" ~ "art"); 0.7 still accepts one or two slips in a word
#: ("asesment" ~ "assessment" is 0.89, "mth" ~ "math" is 0.86).
FUZZY_MIN_RATIO = 0.7
#: Autocomplete values are at most 100 characters; longer queries are cut, never rejected.
_QUERY_MAX = 100

FORBIDDEN_CHARACTERS = frozenset("@<>`")
_EXAMPLE = "project-based learning"


class HelpdeskInputError(UserError, ValueError):
    """Input a member can fix; the message is shown to them as is.

    A `UserError` so the command tree renders it ephemerally without any translation, and a
    `ValueError` so pure callers and tests can treat it as ordinary bad input.
    """


def _fold(raw: str) -> str:
    """The canonical folding shared by validation and autocomplete (never raises)."""
    text = unicodedata.normalize("NFKC", raw)
    kept: list[str] = []
    for ch in text:
        if ch.isspace():
            kept.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs"):
            continue  # control, zero-width / bidi format, lone surrogate
        else:
            kept.append(ch)
    # Case folding can produce text that is not NFKC (e.g. "İ" -> "i̇"), so normalise again.
    folded = unicodedata.normalize("NFKC", "".join(kept).casefold())
    collapsed = " ".join(folded.split())
    return collapsed.lstrip("#").strip()


def _has_letter_or_digit(text: str) -> bool:
    return any(unicodedata.category(ch)[0] in ("L", "N") for ch in text)


def _preview(topic: str) -> str:
    return topic if len(topic) <= TOPIC_MAX else topic[: TOPIC_MAX - 1] + "…"


def normalise_topic(raw: str | None) -> str:
    """Return the canonical topic for `raw`, or raise `HelpdeskInputError` saying how to fix it.

    The result is the key stored once per guild; see the module docstring for each rule.
    """
    topic = _fold(raw or "")
    if not topic:
        raise HelpdeskInputError(f"Give a topic, for example `{_EXAMPLE}`.")
    if FORBIDDEN_CHARACTERS.intersection(topic):
        raise HelpdeskInputError(
            "A topic can't contain `@`, `<`, `>` or backticks (they would look like mentions "
            "or formatting); please remove them."
        )
    if not TOPIC_MIN <= len(topic) <= TOPIC_MAX:
        raise HelpdeskInputError(
            f"A topic needs {TOPIC_MIN}–{TOPIC_MAX} characters; "
            f"`{_preview(topic)}` has {len(topic)}."
        )
    if not _has_letter_or_digit(topic):
        raise HelpdeskInputError(
            f"A topic needs at least one letter or number; `{topic}` has none. "
            f"For example `{_EXAMPLE}`."
        )
    return topic


def normalise_query(raw: object) -> str:
    """Fold an autocomplete or filter query like a topic, without validating; never raises.

    Forbidden characters are dropped (they cannot occur in stored topics anyway) and the query
    is cut to 100 characters.
    """
    if not isinstance(raw, str):
        return ""
    folded = _fold(raw[: _QUERY_MAX * 2])
    return "".join(ch for ch in folded if ch not in FORBIDDEN_CHARACTERS).strip()[:_QUERY_MAX]


def _compact(text: str) -> str:
    """Letters and digits only, so "k12" finds "k-12" and "project based" finds "project-based"."""
    return "".join(ch for ch in text if ch.isalnum())


def _words(text: str) -> list[str]:
    return "".join(ch if ch.isalnum() else " " for ch in text).split()


def _substring_at_word_start(key: str, query: str) -> bool:
    """True when `query` occurs in `key` at the start of a word ("learn" in "pb learning")."""
    start = key.find(query)
    while start != -1:
        if start == 0 or not key[start - 1].isalnum():
            return True
        start = key.find(query, start + 1)
    return False


def _fuzzy_score(matcher: difflib.SequenceMatcher[str], key: str, query: str) -> float:
    """Best difflib ratio of `query` against the topic, its start, each word and word start.

    Comparing against pieces, not just the whole topic, is what lets "asesment" find
    "assessment for learning" and a half-typed "projct b" find "project-based learning".
    """
    n = len(query)
    candidates = {key, key[:n]}
    for word in _words(key):
        candidates.add(word)
        candidates.add(word[:n])
    best = 0.0
    for candidate in candidates:
        matcher.set_seq1(candidate)
        # Cheap upper bounds first: autocomplete runs on every keystroke.
        if matcher.real_quick_ratio() < FUZZY_MIN_RATIO or matcher.quick_ratio() < FUZZY_MIN_RATIO:
            continue
        best = max(best, matcher.ratio())
    return best


def rank_topics(query: object, topics: Iterable[str], limit: int = AUTOCOMPLETE_LIMIT) -> list[str]:
    """The guild's topics that match `query`, best first, at most `limit`; never raises.

    Classes, in order: prefix matches, then substring matches, then close spellings (difflib
    ratio >= `FUZZY_MIN_RATIO`, queries of 3+ characters); anything else is left out, because a
    list of unrelated topics reads as "these match". Within a class the order is deterministic:
    prefixes and substrings by (word-start match first for substrings) length then
    alphabetically, so the exact topic and the most general ones come first; close spellings by
    closeness, then length, then alphabetically. An empty query lists topics alphabetically.

    Matching is case- and whitespace-insensitive (both sides go through `normalise_query`) and
    also ignores punctuation ("k12" finds "k-12"). Topics that fold to the same key are
    returned once, as first given.
    """
    if not isinstance(limit, int) or limit <= 0:
        return []
    by_key: dict[str, str] = {}
    for topic in topics:
        key = normalise_query(topic)
        if key and key not in by_key:
            by_key[key] = topic
    q = normalise_query(query)
    if not q:
        return [by_key[key] for key in sorted(by_key)[:limit]]

    cq = _compact(q)
    matcher: difflib.SequenceMatcher[str] = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(q)  # seq2 is the cached side; the query is fixed for the whole call
    ranked: list[tuple[int, float, int, int, str]] = []  # class, -score, not-word-start, len, key
    for key in by_key:
        ck = _compact(key)
        if key.startswith(q) or (cq and ck.startswith(cq)):
            ranked.append((0, 0.0, 0, len(key), key))
        elif q in key or (cq and cq in ck):
            word_start = _substring_at_word_start(key, q) or _substring_at_word_start(key, cq)
            ranked.append((1, 0.0, 0 if word_start else 1, len(key), key))
        elif len(q) >= FUZZY_MIN_QUERY:
            score = _fuzzy_score(matcher, key, q)
            if score >= FUZZY_MIN_RATIO:
                ranked.append((2, -score, 0, len(key), key))
    ranked.sort()
    return [by_key[entry[-1]] for entry in ranked[:limit]]


#: Marks a topic the pairing engine may match on but nobody may be shown: an anonymous ask's.
#: normalise_topic drops control characters, so no real topic starts with it.
PRIVATE_TOPIC_MARK = "\x00"


def private_topic(topic: str) -> str:
    """An anonymous ask's topic as the pairing engine sees it (matched, never shown)."""
    return PRIVATE_TOPIC_MARK + topic


def shown_topics(topics: Iterable[str]) -> tuple[str, ...]:
    """The topics an intro may name: without anonymous asks' (which would say who asked)."""
    return tuple(t for t in topics if not t.startswith(PRIVATE_TOPIC_MARK))
