"""Topic normalisation and autocomplete ranking (bot.helpdesk.topics)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import UserError
from bot.helpdesk.topics import (
    AUTOCOMPLETE_LIMIT,
    TOPIC_MAX,
    HelpdeskInputError,
    normalise_query,
    normalise_topic,
    rank_topics,
)

# --------------------------------------------------------------------------- normalise_topic


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  PBL  ", "pbl"),
        ("pbl", "pbl"),
        ("Project   Based\tLearning", "project based learning"),
        ("  Project\n\nBased \u00a0 Learning ", "project based learning"),
        ("STRASSE", "strasse"),
        ("straße", "strasse"),
        ("\uff30\uff42\uff4c", "pbl"),  # full-width letters fold to ASCII (NFKC)
        ("cafe\u0301", "café"),  # decomposed accent composes
        ("AI", "ai"),
        ("C#", "c#"),
        ("#EdChat", "edchat"),
        ("## Reading", "reading"),
        ("stem_ed", "stem_ed"),
    ],
)
def test_normalise_topic_canonical_form(raw: str, expected: str) -> None:
    assert normalise_topic(raw) == expected


def test_same_topic_whatever_the_spelling() -> None:
    assert normalise_topic("  PBL  ") == normalise_topic("pbl")
    assert normalise_topic("STRASSE") == normalise_topic("straße")


@pytest.mark.parametrize(
    "raw",
    [
        "p\u200bbl",  # zero-width space
        "p\u200cb\u200dl",  # zero-width non-joiner / joiner
        "\ufeffpbl",  # byte-order mark
        "pbl\u2060",  # word joiner
        "\u202epbl",  # right-to-left override
        "p\x00b\x07l",  # control characters
    ],
)
def test_invisible_characters_are_removed(raw: str) -> None:
    assert normalise_topic(raw) == "pbl"


@pytest.mark.parametrize("raw", ["", "   ", "\t\n", "\u200b\u200b", None])
def test_empty_topic_asks_for_one(raw: str | None) -> None:
    with pytest.raises(HelpdeskInputError) as info:
        normalise_topic(raw)
    assert str(info.value) == "Give a topic, for example `project-based learning`."


def test_too_short_names_limit_and_length() -> None:
    with pytest.raises(HelpdeskInputError) as info:
        normalise_topic("  x ")
    assert str(info.value) == "A topic needs 2–60 characters; `x` has 1."


def test_length_counts_the_canonical_form() -> None:
    # A zero-width character does not count towards the two characters.
    with pytest.raises(HelpdeskInputError, match="has 1"):
        normalise_topic("x\u200b")
    # "#a" is the topic "a".
    with pytest.raises(HelpdeskInputError, match="has 1"):
        normalise_topic("#a")


def test_length_boundaries() -> None:
    assert normalise_topic("ab") == "ab"
    assert normalise_topic("a" * TOPIC_MAX) == "a" * TOPIC_MAX
    with pytest.raises(HelpdeskInputError) as info:
        normalise_topic("a" * (TOPIC_MAX + 1))
    message = str(info.value)
    assert message.startswith("A topic needs 2–60 characters;")
    assert message.endswith("has 61.")


def test_spaces_do_not_count_towards_the_limit() -> None:
    assert normalise_topic("  " + "a" * 30 + "      " + "b" * 29 + "  ") == (
        "a" * 30 + " " + "b" * 29
    )


@pytest.mark.parametrize("raw", ["@everyone", "@here", "<@123456789>", "<#42>", "a `b` c", "a>b"])
def test_mention_and_markup_characters_are_rejected(raw: str) -> None:
    with pytest.raises(HelpdeskInputError, match="remove them"):
        normalise_topic(raw)


@pytest.mark.parametrize("raw", ["---", "**", "...", "\U0001f9ea\U0001f52c", "# #"])
def test_topic_needs_a_letter_or_digit(raw: str) -> None:
    with pytest.raises(HelpdeskInputError):
        normalise_topic(raw)


def test_digits_only_is_a_topic() -> None:
    assert normalise_topic("K-12") == "k-12"
    assert normalise_topic("504") == "504"


def test_error_is_a_user_error_and_a_value_error() -> None:
    with pytest.raises(UserError):
        normalise_topic("")
    with pytest.raises(ValueError):
        normalise_topic("")


@given(st.text())
def test_normalise_topic_is_idempotent_or_rejects(raw: str) -> None:
    try:
        topic = normalise_topic(raw)
    except HelpdeskInputError:
        return
    assert normalise_topic(topic) == topic
    assert 2 <= len(topic) <= TOPIC_MAX
    assert topic == topic.strip()
    assert "  " not in topic
    assert not set("@<>`") & set(topic)


@given(st.one_of(st.text(), st.none(), st.integers()))
def test_normalise_query_never_raises(raw: object) -> None:
    assert isinstance(normalise_query(raw), str)


# --------------------------------------------------------------------------- rank_topics

TOPICS = [
    "project-based learning",
    "assessment for learning",
    "unlearning",
    "pbl",
    "math",
    "k-12 math",
    "art",
    "differentiation",
    "classroom management",
    "edchat",
]


def test_prefix_before_substring_before_fuzzy() -> None:
    topics = ["mathematics", "k-12 math", "meth labs", "math", "art"]
    # "math": prefix (math, mathematics), substring (k-12 math), close (meth labs: "meth").
    assert rank_topics("math", topics) == ["math", "mathematics", "k-12 math", "meth labs"]


def test_prefix_matches_are_shortest_then_alphabetical() -> None:
    assert rank_topics("p", ["pbl", "pe", "project-based learning", "pair work"]) == [
        "pe",
        "pbl",
        "pair work",
        "project-based learning",
    ]


def test_substrings_at_a_word_start_come_first() -> None:
    assert rank_topics("learn", TOPICS) == [
        "project-based learning",
        "assessment for learning",
        "unlearning",
    ]


def test_close_spellings_are_found() -> None:
    assert rank_topics("asesment", TOPICS) == ["assessment for learning"]
    assert rank_topics("diferentiation", TOPICS) == ["differentiation"]
    assert rank_topics("classrom", TOPICS) == ["classroom management"]
    assert rank_topics("projct b", TOPICS) == ["project-based learning"]


def test_unrelated_topics_are_left_out() -> None:
    assert rank_topics("zzzz", TOPICS) == []
    assert rank_topics("biology", TOPICS) == []


def test_short_queries_get_no_fuzzy_noise() -> None:
    assert rank_topics("ar", ["art", "math"]) == ["art"]
    assert rank_topics("xy", ["xz"]) == []


def test_case_whitespace_and_punctuation_insensitive() -> None:
    assert rank_topics("  PBL ", TOPICS) == ["pbl"]
    assert rank_topics("PROJECT   based", TOPICS) == ["project-based learning"]
    assert rank_topics("k12", TOPICS) == ["k-12 math"]
    assert rank_topics("#EdChat", TOPICS) == ["edchat"]
    assert rank_topics("STRASSE", ["straße"]) == ["straße"]


def test_empty_query_lists_alphabetically() -> None:
    assert rank_topics("", TOPICS) == sorted(TOPICS)
    assert rank_topics("   ", TOPICS, limit=3) == sorted(TOPICS)[:3]


def test_limit_is_honoured() -> None:
    many = [f"topic {i:03d}" for i in range(100)]
    assert len(rank_topics("", many)) == AUTOCOMPLETE_LIMIT
    assert len(rank_topics("topic", many)) == AUTOCOMPLETE_LIMIT
    assert rank_topics("topic", many, limit=3) == ["topic 000", "topic 001", "topic 002"]
    assert rank_topics("topic", many, limit=0) == []
    assert rank_topics("topic", many, limit=-1) == []


def test_deterministic_regardless_of_input_order() -> None:
    assert rank_topics("a", TOPICS) == rank_topics("a", list(reversed(TOPICS)))
    assert rank_topics("mth", TOPICS) == rank_topics("mth", sorted(TOPICS))


def test_duplicates_are_returned_once() -> None:
    assert rank_topics("pb", ["pbl", "pbl", "PBL "]) == ["pbl"]


def test_accepts_any_iterable() -> None:
    assert rank_topics("edc", (t for t in TOPICS)) == ["edchat"]


@given(st.one_of(st.text(), st.none()), st.lists(st.text(max_size=30), max_size=30))
def test_rank_topics_never_raises(query: object, topics: list[str]) -> None:
    result = rank_topics(query, topics)
    assert len(result) <= AUTOCOMPLETE_LIMIT
    assert len(result) == len(set(result))
    assert set(result) <= set(topics)


def test_autocomplete_is_fast_enough_for_a_big_guild() -> None:
    import time

    topics = [f"topic number {i} about teaching" for i in range(2000)]
    started = time.perf_counter()
    rank_topics("teachnig", topics)
    assert time.perf_counter() - started < 1.0
