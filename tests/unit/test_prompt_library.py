"""The built-in library: enough prompts, every theme covered, short, unique, stable ids."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from bot.prompts.importing import prompt_key
from bot.prompts.library import (
    MAX_BUILTIN_LENGTH,
    THEMES,
    BuiltinPrompt,
    LibraryError,
    get_builtin,
    load_library,
    parse_library,
)


@pytest.fixture(scope="module")
def library() -> tuple[BuiltinPrompt, ...]:
    return load_library()


def test_at_least_120_prompts(library: tuple[BuiltinPrompt, ...]) -> None:
    assert len(library) >= 120


def test_every_theme_has_at_least_15(library: tuple[BuiltinPrompt, ...]) -> None:
    counts = Counter(prompt.theme for prompt in library)
    assert set(counts) == set(THEMES)
    assert min(counts.values()) >= 15


def test_only_known_themes(library: tuple[BuiltinPrompt, ...]) -> None:
    assert {prompt.theme for prompt in library} <= set(THEMES)


def test_texts_are_non_empty_trimmed_and_short(library: tuple[BuiltinPrompt, ...]) -> None:
    for prompt in library:
        assert prompt.text.strip() == prompt.text != ""
        assert len(prompt.text) <= MAX_BUILTIN_LENGTH, prompt.id


def test_no_duplicate_texts_even_ignoring_case_and_spaces(
    library: tuple[BuiltinPrompt, ...],
) -> None:
    texts = [prompt.text for prompt in library]
    assert len(set(texts)) == len(texts)
    loose = [" ".join(text.casefold().split()) for text in texts]
    assert len(set(loose)) == len(loose)
    assert len({prompt_key(text) for text in texts}) == len(texts)


def test_ids_are_unique_and_well_formed(library: tuple[BuiltinPrompt, ...]) -> None:
    ids = [prompt.id for prompt in library]
    assert len(set(ids)) == len(ids)
    assert all(prompt_id.startswith("b") and prompt_id[1:].isdigit() for prompt_id in ids)


def test_prompts_are_frozen(library: tuple[BuiltinPrompt, ...]) -> None:
    with pytest.raises(AttributeError):
        library[0].text = "changed"  # type: ignore[misc]


def test_get_builtin(library: tuple[BuiltinPrompt, ...]) -> None:
    first = library[0]
    assert get_builtin(first.id) == first
    assert get_builtin("c1") is None
    assert get_builtin("b999") is None


def _doc(*prompts: dict[str, str]) -> str:
    return json.dumps({"version": 1, "prompts": list(prompts)})


GOOD = {"id": "b001", "theme": "reflection", "text": "What went well?"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("not json", "not valid JSON"),
        (json.dumps({"prompts": []}), "non-empty"),
        (_doc({**GOOD, "id": "x1"}), "must look like b001"),
        (_doc({**GOOD, "theme": "gratitude"}), "unknown theme"),
        (_doc({**GOOD, "text": "   "}), "empty"),
        (_doc({**GOOD, "text": " padded"}), "whitespace"),
        (_doc({**GOOD, "text": "x" * 301}), "301 characters"),
        (_doc(GOOD, {**GOOD, "text": "Other?"}), "id is used twice"),
        (
            _doc(GOOD, {**GOOD, "id": "b002", "text": "what  WENT well?"}),
            "b002: same text as prompt b001",
        ),
    ],
)
def test_validator_rejects_broken_libraries(raw: str, message: str) -> None:
    with pytest.raises(LibraryError, match=message):
        parse_library(raw)
