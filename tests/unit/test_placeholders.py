"""SQLite placeholders rewritten for PostgreSQL: only real parameters become `$n`."""

import pytest

from bot.db.placeholders import PlaceholderError, translate


def test_question_marks_are_numbered_in_order():
    statement = translate("UPDATE jobs SET due_at = ?, attempts = ? WHERE key = ?")
    assert statement.sql == "UPDATE jobs SET due_at = $1, attempts = $2 WHERE key = $3"
    assert statement.bind(("a", 1, "k")) == ["a", 1, "k"]


def test_a_name_used_twice_is_one_parameter():
    statement = translate("SELECT * FROM t WHERE guild_id = :guild AND (a = :user OR b = :user)")
    assert statement.sql == "SELECT * FROM t WHERE guild_id = $1 AND (a = $2 OR b = $2)"
    assert statement.bind({"user": 5, "guild": 9, "unused": 0}) == [9, 5]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 'what? :no' FROM t",
        "SELECT 'it''s ? here' FROM t",
        "SELECT E'a\\' ? b' FROM t",
        'SELECT "odd?name" FROM t',
        "SELECT 1 -- a comment? :x\nFROM t",
        "SELECT /* ? :x */ 1 FROM t",
        "SELECT $body$ ? :x $body$ FROM t",
        "SELECT CAST(x AS TEXT)::bigint FROM t",
    ],
)
def test_literals_comments_and_casts_are_left_alone(sql):
    statement = translate(sql)
    assert statement.sql == sql and statement.count == 0


def test_a_cast_next_to_a_parameter_stays_a_cast():
    assert translate("SELECT ?::bigint, ?::text").sql == "SELECT $1::bigint, $2::text"
    assert translate("SELECT :n::bigint").sql == "SELECT $1::bigint"


def test_a_statement_mixing_both_styles_is_refused():
    with pytest.raises(PlaceholderError, match="mixes"):
        translate("SELECT ? WHERE x = :n")


def test_literals_between_parameters_do_not_shift_the_numbers():
    statement = translate("SELECT ? || '?' || ? WHERE x = 'a:b' AND y = ?")
    assert statement.sql == "SELECT $1 || '?' || $2 WHERE x = 'a:b' AND y = $3"


def test_mismatched_parameters_are_refused_with_the_statement():
    with pytest.raises(PlaceholderError, match="2 placeholders but 1 values"):
        translate("SELECT ?, ?").bind((1,))
    with pytest.raises(PlaceholderError, match="no value for :user"):
        translate("SELECT :user").bind({"guild": 1})
    with pytest.raises(PlaceholderError, match="need a mapping"):
        translate("SELECT :user").bind((1,))
