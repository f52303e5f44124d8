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
