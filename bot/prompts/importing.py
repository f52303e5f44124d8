"""Parse an admin's prompt file (``/admin prompts import``) into prompts and rejected lines.

Pure: bytes in, plain values out. The service decides what to store; this module only says which
lines are usable prompts, which are not (and why), and which repeat an earlier line of the same
file. Duplicates against prompts already in the guild are found by the service, using the same
:func:`prompt_key` so "what counts as the same prompt" is defined once.

Two formats are accepted:

* ``.txt``: one prompt per line. Each line is decoded on its own, so one line with broken bytes
  is rejected as "not UTF-8" and the rest of the file is still imported.
* ``.csv``: a header row with a ``text`` column (any case; other columns are ignored), parsed
  with :mod:`csv`, so quoted commas and quoted line breaks work. Comma, semicolon and tab
  delimiters are recognised from the header row, because spreadsheet programs in many locales
  export semicolons.

Blank lines (empty or only whitespace) are ignored everywhere, silently: admins use them to
group prompts, and reporting each as "rejected" would bury the rejections that matter. A CSV row
that has other cells filled in but an empty ``text`` cell *is* reported as "empty", because that
usually means a misaligned row the admin wants to know about.

Line numbers are 1-based. For ``.csv`` they are row numbers as a spreadsheet shows them (the
header is row 1), which equal file line numbers unless a cell contains a line break.

Problems with the file as a whole (wrong extension, too big, empty, UTF-16, no ``text`` column,
malformed CSV) raise :class:`ImportFileError`, a :class:`ValueError` whose message tells the admin
what to do.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from bot.errors import UserError

__all__ = [
    "ALLOWED_EXTENSIONS",
    "MAX_IMPORT_BYTES",
    "MAX_PROMPT_LENGTH",
    "REASON_EMPTY",
    "REASON_NOT_UTF8",
    "ImportFileError",
    "ImportParse",
    "InFileDuplicate",
    "Rejected",
    "clean_prompt_text",
    "parse_import",
    "prompt_key",
    "prompt_problem",
    "too_long_reason",
]

MAX_PROMPT_LENGTH = 1000
"""Longest prompt, in characters, for custom, imported and suggested prompts alike."""

MAX_IMPORT_BYTES = 1024 * 1024
"""Largest import file (1 MB): far more than any prompt list needs, small enough to parse inline."""

ALLOWED_EXTENSIONS = (".txt", ".csv")

REASON_EMPTY = "empty"
REASON_NOT_UTF8 = "not UTF-8"

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_CSV_DELIMITERS = (",", ";", "\t")
_WHITESPACE_RUN = re.compile(r"\s+")


class ImportFileError(ValueError):
    """The file as a whole cannot be imported; the message says how to fix it."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """A line that is not a usable prompt, with a reason an admin can act on."""

    line_no: int
    reason: str


@dataclass(frozen=True, slots=True)
class InFileDuplicate:
    """A line whose prompt already appeared earlier in the same file (by :func:`prompt_key`)."""

    line_no: int
    first_line_no: int
    text: str


@dataclass(frozen=True, slots=True)
class ImportParse:
    """The result of parsing one file.

    ``accepted`` holds cleaned prompt texts in file order, each unique within the file;
    ``accepted_lines`` holds their line numbers, parallel to ``accepted``, so the service can
    name the line of a prompt that turns out to duplicate one already stored.
    """

    accepted: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    duplicates_in_file: list[InFileDuplicate] = field(default_factory=list)
    accepted_lines: list[int] = field(default_factory=list)


def prompt_key(text: str) -> str:
    """The comparison key for "is this the same prompt?": case-folded, whitespace collapsed.

    "What  went WELL today? " and "what went well today?" are the same prompt to a member, so
    they must be one prompt in the pool. Punctuation is kept: it can change a question's meaning.
    """
    return _WHITESPACE_RUN.sub(" ", text.casefold()).strip()


def clean_prompt_text(text: str) -> str:
    """The text as it will be stored: surrounding whitespace trimmed, inner text untouched.

    Inner line breaks are kept on purpose: a CSV cell may hold a deliberate two-line prompt.
    """
    return text.strip()


def too_long_reason(length: int) -> str:
    """The rejection reason for a prompt of ``length`` characters."""
    return f"too long ({length:,} characters, the limit is {MAX_PROMPT_LENGTH:,})"


def prompt_problem(text: str) -> str | None:
    """Why a cleaned prompt text cannot be used, or ``None`` if it can.

    Shared with ``/admin prompts add`` and ``/prompt suggest`` so every way in has one rule.
    """
    if not text:
        return REASON_EMPTY
    if len(text) > MAX_PROMPT_LENGTH:
        return too_long_reason(len(text))
    return None


def parse_import(filename: str, data: bytes) -> ImportParse:
    """Parse an uploaded ``.txt`` or ``.csv`` file of prompts.

    Raises :class:`ImportFileError` (a ``ValueError``) when the file cannot be imported at all.
    See the module docstring for the rules on blank lines, line numbers and encodings.
    """
    extension = _extension(filename)
    shown = _display_name(filename)
    if extension not in ALLOWED_EXTENSIONS:
        raise ImportFileError(
            f"`{shown}` is not a .txt or .csv file. Save your prompts as plain text (.txt, one "
            "prompt per line) or as a spreadsheet export (.csv) with a column named `text`."
        )
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportFileError(
            f"`{shown}` is {_megabytes(len(data))}; the limit is 1 MB. "
            "Split it into smaller files and import them one at a time."
        )
    if data.startswith(_UTF16_BOMS):
        raise ImportFileError(
            f"`{shown}` is saved as UTF-16. Save it again as UTF-8 (in most editors: "
            "Save As, then choose the UTF-8 encoding) and import it again."
        )
    data = data.removeprefix(_UTF8_BOM)
    if not data.strip():
        raise ImportFileError(f"`{shown}` is empty. Put one prompt per line and import it again.")
    rows = _txt_rows(data) if extension == ".txt" else _csv_rows(shown, data)
    return _collect(rows)


# -- helpers -------------------------------------------------------------------------------------

_Row = tuple[int, str | None]
"""(line number, raw text) or (line number, None) for a line that is not valid UTF-8."""


def _extension(filename: str) -> str:
    name = filename.strip().casefold()
    dot = name.rfind(".")
    return name[dot:] if dot >= 0 else ""


def _display_name(filename: str) -> str:
    """The filename, safe to show inside backticks in a Discord message."""
    name = filename.replace("`", "'").strip() or "the file"
    return name if len(name) <= 60 else name[:57] + "..."


def _megabytes(size: int) -> str:
    megabytes = size / (1024 * 1024)
    return f"{megabytes:.1f} MB" if megabytes >= 1.05 else "just over 1 MB"


def _txt_rows(data: bytes) -> list[_Row]:
    """One row per line, each decoded separately so one bad line cannot spoil the others.

    ``bytes.splitlines`` splits on ``\\n``, ``\\r\\n`` and ``\\r`` only (not on the Unicode line
    separators ``str.splitlines`` knows), which matches what a text editor shows as lines.
    """
    rows: list[_Row] = []
    for line_no, raw in enumerate(data.splitlines(), start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            rows.append((line_no, None))
            continue
        if text.strip():
            rows.append((line_no, text))
    return rows


def _csv_rows(shown: str, data: bytes) -> list[_Row]:
    """The ``text`` cell of every data row, keyed by spreadsheet row number.

    The file is decoded with ``surrogateescape`` so invalid bytes survive as lone surrogates;
    a cell containing one is reported as "not UTF-8" while the other rows are imported.
    """
    content = data.decode("utf-8", errors="surrogateescape")
    header_line = content.splitlines()[0] if content else ""
    delimiter = _detect_delimiter(header_line)
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
        column = _text_column(shown, header)
        rows: list[_Row] = []
        for row_no, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            cell = cells[column] if column < len(cells) else ""
            rows.append((row_no, None if _has_undecodable(cell) else cell))
    except csv.Error as exc:
        raise ImportFileError(
            f"`{shown}` could not be read as CSV near line {reader.line_num} ({exc}). "
            "Check that quotes are paired, or export the sheet again as CSV."
        ) from exc
    return rows


def _detect_delimiter(header_line: str) -> str:
    """The delimiter that makes a cell of the header row read ``text`` (comma by default)."""
    for delimiter in _CSV_DELIMITERS:
        cells = next(csv.reader([header_line], delimiter=delimiter), [])
        if any(_header_name(cell) == "text" for cell in cells):
            return delimiter
    return ","


def _header_name(cell: str) -> str:
    return cell.strip().strip('"').strip().casefold()


def _text_column(shown: str, header: list[str]) -> int:
    names = [_header_name(cell) for cell in header]
    if "text" in names:
        return names.index("text")
    found = ", ".join(f"`{cell.strip()[:30]}`" for cell in header if cell.strip()) or "nothing"
    raise ImportFileError(
        f"`{shown}` has no `text` column (its first row has {found}). Put a header row first, "
        "with a column named `text` holding one prompt per row."
    )


def _has_undecodable(text: str) -> bool:
    return any("\udc80" <= char <= "\udcff" for char in text)


def _collect(rows: list[_Row]) -> ImportParse:
    """Sort rows into accepted, rejected and in-file duplicates (blank lines are already gone)."""
    result = ImportParse()
    first_seen: dict[str, int] = {}
    for line_no, raw in rows:
        if raw is None:
            result.rejected.append(Rejected(line_no, REASON_NOT_UTF8))
            continue
        text = clean_prompt_text(raw)
        problem = prompt_problem(text)
        if problem is not None:
            result.rejected.append(Rejected(line_no, problem))
            continue
        key = prompt_key(text)
        if key in first_seen:
            result.duplicates_in_file.append(InFileDuplicate(line_no, first_seen[key], text))
            continue
        first_seen[key] = line_no
        result.accepted.append(text)
        result.accepted_lines.append(line_no)
    return result


def checked_prompt_text(text: str) -> str:
    """The cleaned prompt text, or a UserError saying why it cannot be a prompt."""
    cleaned = clean_prompt_text(text)
    problem = prompt_problem(cleaned)
    if problem is not None:
        raise UserError(f"A prompt needs 1 to 1,000 characters; this one is {problem}.")
    return cleaned
