"""Helpers shared by the reliability tests: the command tree, a second guild, database checks.

The fixtures themselves (`kindred`, `kindred_factory`, `bot_process`) live in tests/conftest.py;
this module only adds what several reliability tests need on top of them.
"""

from __future__ import annotations

from collections.abc import Iterator

from discord import app_commands

from tests.fakediscord import FakeDiscord
from tests.fakediscord.fixtures import World


class Other:
    """A second guild the bot is also in, so tests can pass ids that belong elsewhere."""

    GUILD = 5000
    CHANNEL = 5001
    ROLE = 5010
    OWNER = 6000
    MEMBER = 6001


def add_other_guild(fake: FakeDiscord) -> None:
    """Add `Other` to the fake world (before the bot starts, so the bot is in both guilds)."""
    fake.add_user(Other.OWNER, "other-owner")
    fake.add_guild(Other.GUILD, "Elsewhere", owner_id=Other.OWNER)
    fake.add_channel(Other.GUILD, Other.CHANNEL, "elsewhere")
    fake.add_role(Other.GUILD, Other.ROLE, "Elsewhere role", mentionable=True)
    fake.add_member(Other.GUILD, Other.MEMBER, "other-member")


def leaf_commands(tree: app_commands.CommandTree) -> list[app_commands.Command]:
    """Every invocable slash command, subcommands of groups (and their groups) included."""

    def walk(items: list) -> Iterator[app_commands.Command]:
        for item in items:
            if isinstance(item, app_commands.Group):
                yield from walk(item.commands)
            elif isinstance(item, app_commands.Command):
                yield item

    return sorted(walk(tree.get_commands()), key=lambda c: c.qualified_name)


def synced_options(fake: FakeDiscord, qualified_name: str) -> list[dict]:
    """The options of `qualified_name` as the bot synced them to Discord (types, ranges)."""
    first, *rest = qualified_name.split()
    command = next(c for c in fake.commands() if c["name"] == first)
    options = command.get("options", [])
    for part in rest:
        options = next(o for o in options if o["name"] == part).get("options", [])
    return [o for o in options if o["type"] not in (1, 2)]


def plain_value(option: dict, fake: FakeDiscord) -> object:
    """A valid, harmless value for an option of the standard world (for gate tests)."""
    if option.get("choices"):
        return option["choices"][0]["value"]
    if option["name"] == "time":
        return "12:30"
    by_type: dict[int, object] = {
        3: "hello",
        4: max(1, int(option.get("min_value", 1))),
        5: True,
        6: World.MEMBERS[1],
        7: World.PROMPTS,
        8: World.PAIRING_ROLE,
        9: World.MEMBERS[1],
        10: float(max(1, option.get("min_value", 1))),
    }
    if option["type"] == 11:
        return fake.add_attachment("prompts.txt", b"What did you learn today?\n")
    return by_type[option["type"]]
