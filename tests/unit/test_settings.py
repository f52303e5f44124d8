from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError

TOKEN = "MTAx.fake.token"


def test_defaults_apply_when_only_the_token_is_set():
    settings = Settings.from_env({"DISCORD_TOKEN": TOKEN})
    assert settings.token == TOKEN
    assert settings.database_path == Path("data/kindred.db")
    assert settings.dev_guild_id is None


@pytest.mark.parametrize("token", ["", "   "])
def test_missing_token_names_the_setting(token):
    with pytest.raises(SettingsError, match="DISCORD_TOKEN"):
        Settings.from_env({"DISCORD_TOKEN": token})


@pytest.mark.parametrize(
    "url",
    ["postgres://x/y", "sqlite://relative.db", "sqlite:///", "data/kindred.db", "sqlite:///data/"],
)
def test_malformed_database_url_is_refused(url):
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        Settings.from_env({"DISCORD_TOKEN": TOKEN, "DATABASE_URL": url})


def test_absolute_database_url():
    settings = Settings.from_env({"DISCORD_TOKEN": TOKEN, "DATABASE_URL": "sqlite:////tmp/k.db"})
    assert settings.database_path == Path("/tmp/k.db")


def test_unknown_log_level_is_refused_and_known_ones_accepted():
    with pytest.raises(SettingsError, match="LOG_LEVEL"):
        Settings.from_env({"DISCORD_TOKEN": TOKEN, "LOG_LEVEL": "LOUD"})
    assert Settings.from_env({"DISCORD_TOKEN": TOKEN, "LOG_LEVEL": "debug"}).log_level == 10


def test_dev_guild_id_must_be_a_snowflake():
    with pytest.raises(SettingsError, match="DEV_GUILD_ID"):
        Settings.from_env({"DISCORD_TOKEN": TOKEN, "DEV_GUILD_ID": "my-server"})
    settings = Settings.from_env({"DISCORD_TOKEN": TOKEN, "DEV_GUILD_ID": "123456789012345678"})
    assert settings.dev_guild_id == 123456789012345678


def test_repr_never_shows_the_token():
    assert TOKEN not in repr(Settings.from_env({"DISCORD_TOKEN": TOKEN}))
