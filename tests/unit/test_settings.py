from pathlib import Path

import pytest

from bot.db import PostgresConfig, SqliteConfig
from bot.settings import Settings, SettingsError

TOKEN = "MTAx.fake.token"


def test_defaults_apply_when_only_the_token_is_set():
    settings = Settings.from_env({"DISCORD_TOKEN": TOKEN})
    assert settings.token == TOKEN
    assert settings.database == SqliteConfig(Path("data/kindred.db"))
    assert settings.dev_guild_id is None


@pytest.mark.parametrize("token", ["", "   "])
def test_missing_token_names_the_setting(token):
    with pytest.raises(SettingsError, match="DISCORD_TOKEN"):
        Settings.from_env({"DISCORD_TOKEN": token})


@pytest.mark.parametrize(
    "url",
    ["mysql://x/y", "sqlite://relative.db", "sqlite:///", "data/kindred.db", "sqlite:///data/"],
)
def test_malformed_database_url_is_refused(url):
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        Settings.from_env({"DISCORD_TOKEN": TOKEN, "DATABASE_URL": url})


def test_absolute_database_url():
    settings = Settings.from_env({"DISCORD_TOKEN": TOKEN, "DATABASE_URL": "sqlite:////tmp/k.db"})
    assert settings.database == SqliteConfig(Path("/tmp/k.db"))


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://kindred:s3cret@db.example:5432/kindred",
        "postgres://kindred:s3cret@db.example/kindred",
        "postgresql://kindred@/kindred?host=/var/run/postgresql",
    ],
)
def test_postgresql_urls_select_the_postgresql_driver(url):
    settings = Settings.from_env({"DISCORD_TOKEN": TOKEN, "DATABASE_URL": url})
    assert settings.database == PostgresConfig(url)
    assert "s3cret" not in repr(settings) and "s3cret" not in settings.database.display


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("postgresql://kindred:s3cret@db.example:99999/kindred", "bad port"),
        ("postgresql://kindred:s3cret@db.example:port/kindred", "bad port"),
        ("postgresql://kindred:s3cret@db.example:5432", "names no database"),
        ("postgresql://kindred:s3cret@db.example/kindred/extra", "names no database"),
        ("postgresql:///kindred", "names no server"),
    ],
)
def test_a_malformed_postgresql_url_is_one_line_without_the_password(url, problem):
    with pytest.raises(SettingsError, match="DATABASE_URL") as caught:
        Settings.from_env({"DISCORD_TOKEN": TOKEN, "DATABASE_URL": url})
    message = str(caught.value)
    assert problem in message and "\n" not in message
    assert "s3cret" not in message


def test_unknown_log_level_is_refused_and_known_ones_accepted():
    with pytest.raises(SettingsError, match="LOG_LEVEL"):
        Settings.from_env({"DISCORD_TOKEN": TOKEN, "LOG_LEVEL": "LOUD"})
    assert Settings.from_env({"DISCORD_TOKEN": TOKEN, "LOG_LEVEL": "debug"}).log_level == 10


def test_dev_guild_id_must_be_a_snowflake():
    with pytest.raises(SettingsError, match="DEV_GUILD_ID"):
        Settings.from_env({"DISCORD_TOKEN": TOKEN, "DEV_GUILD_ID": "my-server"})
    settings = Settings.from_env({"DISCORD_TOKEN": TOKEN, "DEV_GUILD_ID": "123456789012345678"})
    assert settings.dev_guild_id == 123456789012345678


def test_the_rate_limit_defaults_to_discords_and_must_be_a_positive_number():
    assert Settings.from_env({"DISCORD_TOKEN": TOKEN}).rate_limit == 50.0
    settings = Settings.from_env({"DISCORD_TOKEN": TOKEN, "DISCORD_RATE_LIMIT": "1200"})
    assert settings.rate_limit == 1200.0
    for bad in ("fast", "0", "-5"):
        with pytest.raises(SettingsError, match="DISCORD_RATE_LIMIT"):
            Settings.from_env({"DISCORD_TOKEN": TOKEN, "DISCORD_RATE_LIMIT": bad})


def test_repr_never_shows_the_token():
    assert TOKEN not in repr(Settings.from_env({"DISCORD_TOKEN": TOKEN}))


PG_URL = "postgresql://kindred@db.example/kindred"


def shard_settings(**env: str) -> Settings:
    return Settings.from_env({"DISCORD_TOKEN": TOKEN, "DATABASE_URL": PG_URL, **env})


def test_one_shard_serving_everything_is_the_default():
    plan = Settings.from_env({"DISCORD_TOKEN": TOKEN}).shards
    assert (plan.count, plan.ids, plan.everything) == (1, (0,), True)


@pytest.mark.parametrize(
    ("ids", "expected"),
    [("0-3", (0, 1, 2, 3)), ("4,5", (4, 5)), ("0-1, 4", (0, 1, 4)), ("", (0, 1, 2, 3, 4, 5))],
)
def test_shard_ids_take_ranges_and_lists(ids, expected):
    assert shard_settings(SHARD_COUNT="6", SHARD_IDS=ids).shards.ids == expected


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"SHARD_COUNT": "0"}, "SHARD_COUNT '0' is not a number of shards"),
        ({"SHARD_COUNT": "six"}, "SHARD_COUNT 'six' is not a number of shards"),
        ({"SHARD_IDS": "0-1"}, "SHARD_IDS '0-1' needs SHARD_COUNT"),
        ({"SHARD_COUNT": "6", "SHARD_IDS": "4-7"}, "shard 7 does not exist with 6 shards"),
        ({"SHARD_COUNT": "6", "SHARD_IDS": "3-1"}, "runs backwards"),
        ({"SHARD_COUNT": "6", "SHARD_IDS": "1,x"}, "'x' is not a shard number"),
        ({"SHARD_COUNT": "6", "SHARD_IDS": "0-2,2"}, "a shard is listed twice"),
    ],
)
def test_bad_shard_settings_are_one_line_naming_the_problem(env, problem):
    with pytest.raises(SettingsError, match=problem) as caught:
        shard_settings(**env)
    assert "\n" not in str(caught.value)


def test_sqlite_refuses_a_subset_of_shards_but_takes_them_all():
    with pytest.raises(SettingsError, match="SQLite serves one process"):
        Settings.from_env({"DISCORD_TOKEN": TOKEN, "SHARD_COUNT": "2", "SHARD_IDS": "1"})
    plan = Settings.from_env({"DISCORD_TOKEN": TOKEN, "SHARD_COUNT": "2"}).shards
    assert plan.ids == (0, 1)
