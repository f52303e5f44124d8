"""Parsing prompt import files: good lines kept, bad lines explained, bad files refused."""

from __future__ import annotations

import pytest

from bot.prompts.importing import (
    MAX_IMPORT_BYTES,
    MAX_PROMPT_LENGTH,
    ImportFileError,
    InFileDuplicate,
    Rejected,
    parse_import,
    prompt_key,
    prompt_problem,
)

TOO_LONG = "x" * (MAX_PROMPT_LENGTH + 1)
TOO_LONG_REASON = "too long (1,001 characters, the limit is 1,000)"


def test_prompt_key_folds_case_and_whitespace() -> None:
    assert prompt_key("  What  went\tWELL\ntoday? ") == "what went well today?"
    assert prompt_key("Straße") == prompt_key("STRASSE")


def test_prompt_problem() -> None:
    assert prompt_problem("fine") is None
    assert prompt_problem("x" * MAX_PROMPT_LENGTH) is None
    assert prompt_problem("") == "empty"
    assert prompt_problem(TOO_LONG) == TOO_LONG_REASON


# -- txt -------------------------------------------------------------------------------------------


def test_txt_one_prompt_per_line_trimmed() -> None:
    result = parse_import("prompts.txt", b"  First?  \r\nSecond?\rThird?\n")
    assert result.accepted == ["First?", "Second?", "Third?"]
    assert result.accepted_lines == [1, 2, 3]
    assert result.rejected == [] and result.duplicates_in_file == []


def test_txt_blank_lines_are_ignored_silently() -> None:
    result = parse_import("prompts.txt", b"\nOne?\n   \n\nTwo?\n\n\n")
    assert result.accepted == ["One?", "Two?"]
    assert result.accepted_lines == [2, 5]
    assert result.rejected == []


def test_txt_bad_lines_are_rejected_and_the_rest_kept() -> None:
    data = b"\n".join(
        [
            b"Good one?",
            TOO_LONG.encode(),
            b"Caf\xe9 latte?",  # Latin-1, not UTF-8
            "Café au lait?".encode(),
        ]
    )
    result = parse_import("prompts.TXT", data)
    assert result.accepted == ["Good one?", "Café au lait?"]
    assert result.rejected == [Rejected(2, TOO_LONG_REASON), Rejected(3, "not UTF-8")]


def test_txt_utf8_bom_is_stripped() -> None:
    result = parse_import("p.txt", b"\xef\xbb\xbfFirst?\nSecond?")
    assert result.accepted == ["First?", "Second?"]


def test_txt_duplicates_within_file_reported_separately() -> None:
    result = parse_import("p.txt", b"What went well?\nOther?\nwhat  WENT well?\n")
    assert result.accepted == ["What went well?", "Other?"]
    assert result.duplicates_in_file == [InFileDuplicate(3, 1, "what  WENT well?")]
    assert result.rejected == []


# -- csv -------------------------------------------------------------------------------------------


def test_csv_text_column_any_case_with_quotes_and_newlines() -> None:
    data = (
        b"theme,TEXT,notes\r\n"
        b'reflection,"What, exactly, went well?",x\r\n'
        b'growth,"Two lines:\nfirst, then second",\r\n'
        b'connection,"He said ""hi"" first",\r\n'
    )
    result = parse_import("prompts.csv", data)
    assert result.accepted == [
        "What, exactly, went well?",
        "Two lines:\nfirst, then second",
        'He said "hi" first',
    ]
    assert result.accepted_lines == [2, 3, 4]


def test_csv_rejects_empty_cell_long_text_and_bad_bytes_per_row() -> None:
    data = b"\n".join(
        [
            b"text,theme",
            b"Fine?,a",
            b",reflection",  # text cell empty but the row is not: worth telling the admin
            b",,",  # fully blank row: ignored
            TOO_LONG.encode() + b",b",
            b"Caf\xe9?,c",
            b"Also fine?,d",
        ]
    )
    result = parse_import("p.csv", data)
    assert result.accepted == ["Fine?", "Also fine?"]
    assert result.rejected == [
        Rejected(3, "empty"),
        Rejected(5, TOO_LONG_REASON),
        Rejected(6, "not UTF-8"),
    ]


def test_csv_short_row_counts_as_empty() -> None:
    result = parse_import("p.csv", b"theme,text\nreflection\n")
    assert result.rejected == [Rejected(2, "empty")]


def test_csv_semicolon_export_with_bom() -> None:
    data = "\ufefftext;theme\nQu'avez-vous appris ?;réflexion\n".encode()
    assert parse_import("p.csv", data).accepted == ["Qu'avez-vous appris ?"]


def test_csv_duplicates_within_file() -> None:
    result = parse_import("p.csv", b"text\nOne?\nTwo?\n ONE? \n")
    assert result.accepted == ["One?", "Two?"]
    assert result.duplicates_in_file == [InFileDuplicate(4, 2, "ONE?")]


def test_csv_without_text_column_is_refused() -> None:
    with pytest.raises(ImportFileError, match=r"no `text` column.*`prompt`, `theme`"):
        parse_import("p.csv", b"prompt,theme\nWhat?,x\n")


def test_csv_with_unclosed_quote_is_refused() -> None:
    with pytest.raises(ImportFileError, match="could not be read as CSV"):
        parse_import("p.csv", b'text\n"What went well?\nNext\n')


# -- whole-file problems ---------------------------------------------------------------------------


def test_too_big_file_is_refused() -> None:
    data = b"Prompt?\n" * (MAX_IMPORT_BYTES // 8 + 1)
    with pytest.raises(ImportFileError, match=r"is just over 1 MB; the limit is 1 MB\. Split it"):
        parse_import("big.txt", data)
    with pytest.raises(ImportFileError, match=r"`big\.csv` is 2\.0 MB"):
        parse_import("big.csv", data * 2)


def test_file_at_the_limit_is_accepted() -> None:
    data = b"One?\n" + b"\n" * (MAX_IMPORT_BYTES - 5)
    assert len(data) == MAX_IMPORT_BYTES
    assert parse_import("edge.txt", data).accepted == ["One?"]


@pytest.mark.parametrize("name", ["prompts.docx", "prompts", "prompts.txt.exe", "data.json"])
def test_wrong_extension_is_refused(name: str) -> None:
    with pytest.raises(ImportFileError, match=r"not a \.txt or \.csv file"):
        parse_import(name, b"What?\n")


def test_filename_is_made_safe_for_the_message() -> None:
    with pytest.raises(ImportFileError) as caught:
        parse_import("`@everyone`.pdf", b"x")
    assert "``" not in str(caught.value)


@pytest.mark.parametrize("data", [b"", b"   \n\n", b"\xef\xbb\xbf"])
def test_empty_file_is_refused(data: bytes) -> None:
    with pytest.raises(ImportFileError, match="is empty"):
        parse_import("p.txt", data)


def test_utf16_file_is_refused_with_advice() -> None:
    with pytest.raises(ImportFileError, match=r"UTF-16.*UTF-8"):
        parse_import("p.txt", "What?\n".encode("utf-16"))


def test_import_errors_are_value_errors() -> None:
    assert issubclass(ImportFileError, ValueError)
