"""Every /admin subcommand, present and future, refuses members without Manage Server."""

from discord import AppCommandOptionType, app_commands

from tests.fakediscord.fixtures import World

NAME_HINTS = {"time": "08:00", "name": "Europe/Berlin", "cadence": "weekly", "weekday": "monday"}


def plausible(kindred, parameter: app_commands.Parameter):
    """A value the command would accept from an admin, so only the gate can refuse it."""
    if parameter.choices:
        return parameter.choices[0].value
    kind = parameter.type
    if kind is AppCommandOptionType.string:
        return NAME_HINTS.get(parameter.name, "Something valid")
    if kind in (AppCommandOptionType.integer, AppCommandOptionType.number):
        return parameter.min_value or 1
    if kind is AppCommandOptionType.boolean:
        return True
    if kind is AppCommandOptionType.channel:
        return World.GENERAL
    if kind is AppCommandOptionType.role:
        return World.PAIRING_ROLE
    if kind in (AppCommandOptionType.user, AppCommandOptionType.mentionable):
        return World.MEMBERS[1]
    if kind is AppCommandOptionType.attachment:
        return kindred.fake.add_attachment("prompts.txt", b"What went well today?\n")
    raise AssertionError(f"no plausible value for option type {kind}")


async def database_contents(services) -> dict[str, list[tuple]]:
    names = [name for name in await services.db.table_columns() if name != "meta"]
    return {
        name: sorted(map(tuple, await services.db.fetchall(f'SELECT * FROM "{name}"')), key=repr)
        for name in names
    }


async def test_every_admin_subcommand_refuses_a_member_without_manage_server(kindred):
    admin = kindred.bot.tree.get_command("admin")
    commands = [c for c in admin.walk_commands() if isinstance(c, app_commands.Command)]
    names = {c.qualified_name for c in commands}
    assert {"admin show", "admin export", "admin timezone"} <= names
    assert any(name.count(" ") == 2 for name in names), "feature groups are walked too"
    before = await database_contents(kindred.services)
    posts_before = len(kindred.fake.messages)
    for command in commands:
        options = {p.name: plausible(kindred, p) for p in command.parameters}
        handle = await kindred.invoke(World.MEMBERS[0], command.qualified_name, **options)
        message = await handle.response()
        assert message.ephemeral, command.qualified_name
        assert "Manage Server" in message.content, (command.qualified_name, message.content)
        assert not message.attachments and not message.embeds, command.qualified_name
    await kindred.settle()
    assert await database_contents(kindred.services) == before
    # Nothing reached any channel or DM: the only new messages are the ephemeral refusals.
    assert all(m.ephemeral for m in kindred.fake.messages[posts_before:])
