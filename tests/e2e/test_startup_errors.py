"""`python -m bot` refuses bad configuration with one clear line, fast, and no traceback."""

import time

import pytest

from tests.support.process import run_bot


def assert_one_clear_line(result, setting: str, elapsed: float) -> None:
    assert result.returncode != 0
    assert elapsed < 5
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert setting in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({}, "DISCORD_TOKEN"),
        ({"DISCORD_TOKEN": ""}, "DISCORD_TOKEN"),
        ({"DISCORD_TOKEN": "x", "DATABASE_URL": "mysql://db/kindred"}, "DATABASE_URL"),
        ({"DISCORD_TOKEN": "x", "LOG_LEVEL": "CHATTY"}, "LOG_LEVEL"),
        ({"DISCORD_TOKEN": "x", "SHARD_COUNT": "6", "SHARD_IDS": "4-7"}, "SHARD_IDS"),
        ({"DISCORD_TOKEN": "x", "SHARD_COUNT": "2", "SHARD_IDS": "1"}, "SHARD_IDS"),
    ],
)
def test_bad_settings_exit_with_one_line(tmp_path, settings, named):
    started = time.monotonic()
    result = run_bot(tmp_path, **settings)
    assert_one_clear_line(result, named, time.monotonic() - started)


def test_an_unwritable_database_path_exits_with_one_line(tmp_path):
    (tmp_path / "blocker").write_text("a file where a folder should be")
    started = time.monotonic()
    result = run_bot(tmp_path, DISCORD_TOKEN="x", DATABASE_URL="sqlite:///blocker/kindred.db")
    assert_one_clear_line(result, "DATABASE_URL", time.monotonic() - started)


def test_an_unreachable_postgresql_exits_with_one_line_that_hides_the_password(tmp_path):
    started = time.monotonic()
    result = run_bot(
        tmp_path,
        DISCORD_TOKEN="x",
        DATABASE_URL="postgresql://kindred:s3cret-pw@127.0.0.1:9/kindred",  # nothing listens
    )
    assert_one_clear_line(result, "DATABASE_URL: cannot connect", time.monotonic() - started)
    assert "s3cret-pw" not in result.stderr + result.stdout


def test_real_environment_wins_over_dotenv(tmp_path):
    (tmp_path / ".env").write_text("DISCORD_TOKEN=from-dotenv\nLOG_LEVEL=CHATTY\n")
    result = run_bot(tmp_path, LOG_LEVEL="WARNING", DATABASE_URL="mysql://nope")
    # .env supplied the token (no token error) but the real LOG_LEVEL won over .env's bad one,
    # so the first problem found is the malformed DATABASE_URL from the real environment.
    assert "DATABASE_URL" in result.stderr and "LOG_LEVEL" not in result.stderr


def test_a_corrupt_database_is_refused_with_one_line(tmp_path):
    (tmp_path / "bad.db").write_bytes(b"not sqlite" * 500)
    started = time.monotonic()
    result = run_bot(tmp_path, DISCORD_TOKEN="x", DATABASE_URL="sqlite:///bad.db")
    assert_one_clear_line(result, "DATABASE_URL", time.monotonic() - started)


def test_discord_unreachable_at_start_up_is_one_line(tmp_path):
    from tests.support.process import REPO, SITECUSTOMIZE

    started = time.monotonic()
    result = run_bot(
        tmp_path,
        DISCORD_TOKEN="x",
        DATABASE_URL="sqlite:///k.db",
        KINDRED_FAKE_DISCORD_URL="http://127.0.0.1:9",  # nothing listens there
        PYTHONPATH=f"{SITECUSTOMIZE}:{REPO}",
    )
    assert result.returncode != 0
    assert time.monotonic() - started < 10
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("kindred: cannot reach Discord")
    assert "voice will NOT be supported" not in result.stderr
