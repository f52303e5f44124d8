"""The built-in prompt library: ``library.json`` loaded into frozen, validated values.

The prompts are data, not code, so a writer can edit them without touching Python. They are
validated on load (not just in a test) because a malformed library would otherwise surface as a
strange post at 07:30 in some guild; failing at startup is kinder.

Ids (``b001``...) are stable: guilds store them to hide a prompt and to record that it was used,
so an id is never renumbered or reused. A retired prompt is removed and its id left unused.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from bot.prompts.importing import prompt_key

__all__ = [
    "MAX_BUILTIN_LENGTH",
    "THEMES",
    "BuiltinPrompt",
    "LibraryError",
    "builtin_by_id",
    "get_builtin",
    "load_library",
    "parse_library",
]

THEMES: tuple[str, ...] = (
    "reflection",
    "growth mindset",
    "connection",
    "sharing a resource",
    "asking for help",
    "celebrating a small win",
)
"""Every theme a built-in prompt may carry, in the order they are presented."""

MAX_BUILTIN_LENGTH = 300
"""Built-ins are short on purpose: answerable in a few sentences, readable on a phone."""

_ID_PATTERN = re.compile(r"b[0-9]{3,}")
_LIBRARY_FILE = "library.json"


class LibraryError(ValueError):
    """``library.json`` breaks a rule; the message names the prompt and the rule."""


@dataclass(frozen=True, slots=True)
class BuiltinPrompt:
    """One prompt shipped with Kindred."""

    id: str
    text: str
    theme: str


@functools.cache
def load_library() -> tuple[BuiltinPrompt, ...]:
    """The built-in prompts in file order, loaded once per process and validated."""
    raw = resources.files("bot.prompts").joinpath(_LIBRARY_FILE).read_text(encoding="utf-8")
    return parse_library(raw)


@functools.cache
def builtin_by_id() -> Mapping[str, BuiltinPrompt]:
    """Built-in prompts keyed by id (read-only view; do not mutate)."""
    return {prompt.id: prompt for prompt in load_library()}


def get_builtin(prompt_id: str) -> BuiltinPrompt | None:
    """The built-in prompt with this id, or ``None`` (e.g. a custom ``c12`` id, or a typo)."""
    return builtin_by_id().get(prompt_id)


def parse_library(raw: str) -> tuple[BuiltinPrompt, ...]:
    """Parse and validate the JSON text of a library; raises :class:`LibraryError`.

    Separate from :func:`load_library` so tests can feed broken libraries to the validator.
    """
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise LibraryError(f"{_LIBRARY_FILE} is not valid JSON: {exc}") from exc
    entries = document.get("prompts") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise LibraryError(f'{_LIBRARY_FILE} needs a non-empty "prompts" list')
    prompts = tuple(_parse_entry(index, entry) for index, entry in enumerate(entries))
    _check_unique(prompts)
    return prompts


def _parse_entry(index: int, entry: Any) -> BuiltinPrompt:
    where = f"prompt #{index + 1}"
    if not isinstance(entry, dict):
        raise LibraryError(f"{where}: expected an object with id, theme and text")
    prompt_id, theme, text = entry.get("id"), entry.get("theme"), entry.get("text")
    if not isinstance(prompt_id, str) or not _ID_PATTERN.fullmatch(prompt_id):
        raise LibraryError(f"{where}: id {prompt_id!r} must look like b001")
    where = f"prompt {prompt_id}"
    if theme not in THEMES:
        raise LibraryError(f"{where}: unknown theme {theme!r}; use one of {', '.join(THEMES)}")
    if not isinstance(text, str) or not text.strip():
        raise LibraryError(f"{where}: text is empty")
    if text != text.strip():
        raise LibraryError(f"{where}: text has leading or trailing whitespace")
    if len(text) > MAX_BUILTIN_LENGTH:
        raise LibraryError(f"{where}: text is {len(text)} characters, limit {MAX_BUILTIN_LENGTH}")
    return BuiltinPrompt(id=prompt_id, text=text, theme=theme)


def _check_unique(prompts: tuple[BuiltinPrompt, ...]) -> None:
    """Ids must be unique, and so must texts under :func:`prompt_key` (the rule imports use)."""
    ids: set[str] = set()
    keys: dict[str, str] = {}
    for prompt in prompts:
        if prompt.id in ids:
            raise LibraryError(f"prompt {prompt.id}: id is used twice")
        ids.add(prompt.id)
        key = prompt_key(prompt.text)
        if key in keys:
            raise LibraryError(f"prompt {prompt.id}: same text as prompt {keys[key]}")
        keys[key] = prompt.id
