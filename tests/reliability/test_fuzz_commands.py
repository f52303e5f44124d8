"""Fuzzed input: hypothesis draws hostile values for every option of every slash command.

The command list comes from the bot's own tree and the option types from what it synced, so a
command added later is fuzzed without touching this file. One bot serves every example (starting
one per example is far too slow): hypothesis runs in a worker thread and hands each interaction
to the test's event loop, where the bot and the fake Discord live.

Each example invokes one command as an admin or a member, in our guild or in a second guild,
sometimes submits the modal it opened with hostile text, sometimes clicks a button of the reply
as someone. Afterwards: no "Something went wrong", no ERROR log line, every reply ephemeral,
nothing the bot ever sent can ping @everyone/@here or a role no admin configured, and the
database passes `integrity_check` and `foreign_key_check` -- also after a few scheduled days
have gone by, so stored hostile text gets posted by the scheduler too.

Random draws may miss a boundary, so before them every option of every command also gets its
edge values once (out-of-range numbers, ids of the other guild, empty and 10,000-character
text); and clicks may hit any button the bot ever sent (check-ins in DMs included), not only
those of the command's own reply. Pairing's own invariants are checked at the end: no avoid or
membership row for an id that is not a member of that guild, no pause beyond a year, every
group as big as its members. A button that opens a form ("Reflect privately" on a daily post) is
submitted with hostile text too.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.db import DatabaseConfig
from bot.timeutil import from_db
from tests.fakediscord import FakeDiscord, FakeMessage, InteractionHandle
from tests.fakediscord.fixtures import World
from tests.reliability.conftest import (
    Other,
    add_other_guild,
    leaf_commands,
    plain_value,
    synced_options,
)
from tests.support.db import database_problems, read_rows

UNEXPECTED = "Something went wrong (error code"
REPLY_TIMEOUT = 10.0
EXAMPLES = 200

HOSTILE_TEXT = [
    "",
    " ",
    " \t\n  \n",
    "x" * 10_000,
    "ab" * 1_001,
    "\u202eyreve\u202c RTL override",
    "שלום עולם مرحبا بالعالم",
    "zero\u200bwidth\u200cjoin\u200d\ufeffers",
    "e\u0301\u0301\u0301 combining",
    "🙂👩‍🏫🧑🏽‍🤝‍🧑🏻" * 30,
    "**bold** __under__ ~~strike~~ `code` ```py\nprint(1)\n``` > quote ||spoiler||",
    "# Heading\n- list\n[link](https://example.com)",
    "@everyone",
    "@here please read",
    "hey @everyone and @here",
    f"<@&{World.PAIRING_ROLE}> <@&{World.ADMIN_ROLE}>",
    f"<@&{World.GUILD}>",
    f"<@&{Other.ROLE}>",
    f"<@{World.MEMBERS[1]}> <@!{World.ADMIN}>",
    "'; DROP TABLE guilds; --",
    '" OR 1=1 --',
    "Robert'); DELETE FROM jobs WHERE 1=1;--",
    "%s %d {0} {} {{}} %(x)s",
    "\\x00 \\n \\u0000",
    "null",
    "0",
    "-1",
    "99999999999999999999999",
    str(Other.GUILD),
    str(Other.CHANNEL),
    "../../etc/passwd",
    "a\x00b",
    # Full-text query syntax (FTS5, tsquery) for /board search
    '"',
    "*",
    "NEAR(a b, 2)",
    "-rubrics",
    "topic:pbl",
    'grading" OR "x',
    "a & !b | c:*",
]
# Plausible values reach the deeper paths (a schedule that really posts, an id that exists).
PLAUSIBLE_TEXT = [
    "08:00",
    "23:59",
    "00:00",
    "24:00",
    "7:5",
    "12:60",
    "b001",
    "b012",
    "c1",
    "c2",
    "A1",
    "A2",
    "O1",
    "a1",
    "pbl",
    "  PBL  ",
    "classroom management",
    "Europe/Berlin",
    "america/chicago",
    "What made you smile in class today?",
    "grading rubrics",
]
CHOSEN_INTEGERS = [0, -1, 1, 2, 3, 7, 12, 13, 25, 100, 1_000, 2**31, -(2**31), 2**53, -(2**53)]


def text_values() -> st.SearchStrategy[str]:
    hostile = st.sampled_from(HOSTILE_TEXT)
    return st.one_of(
        hostile,
        st.sampled_from(PLAUSIBLE_TEXT),
        st.text(max_size=200),
        st.lists(hostile, min_size=2, max_size=4).map(" ".join),
    )


def file_values(fake: FakeDiscord) -> st.SearchStrategy[dict]:
    names = st.sampled_from(["prompts.txt", "prompts.csv", "image.png", "noext", "my prompts.txt"])
    lines = st.lists(text_values(), max_size=30).map(lambda xs: "\n".join(xs).encode())
    csv = st.lists(text_values(), max_size=20).map(
        lambda xs: ("text\n" + "\n".join('"' + x.replace('"', '""') + '"' for x in xs)).encode()
    )
    content = st.one_of(lines, csv, st.binary(max_size=2_000), st.just(b"text\n" * 3_000))
    return st.tuples(names, content).map(lambda nc: fake.add_attachment(nc[0], nc[1]))


def option_values(option: dict, guild_id: int, fake: FakeDiscord) -> st.SearchStrategy[Any]:
    """Hostile values for one option, typed like Discord would send them."""
    kind = option["type"]
    if option.get("choices"):
        # Discord only sends listed choices; the value is not ours to fuzz.
        return st.sampled_from([c["value"] for c in option["choices"]])
    if kind == 3:
        return text_values()
    if kind == 4:
        return st.one_of(
            st.sampled_from(CHOSEN_INTEGERS),
            st.integers(min_value=-50, max_value=50),
            st.integers(min_value=-(2**53), max_value=2**53),
        )
    if kind == 5:
        return st.booleans()
    if kind == 10:
        return st.one_of(
            st.floats(allow_nan=False, allow_infinity=False, width=64),
            st.sampled_from([0.0, -1.0, 0.5, 1e308, -1e308, 5e-324]),
        )
    users = [World.ADMIN, *World.MEMBERS, World.OWNER, World.BOT, Other.MEMBER, Other.OWNER]
    channels = [World.GENERAL, World.PROMPTS, World.PAIRING, World.HELP, Other.CHANNEL]
    # Discord only resolves roles of the guild the command runs in (the fake enforces it).
    roles = sorted(fake.guilds[guild_id].roles)
    if kind == 6:
        return st.sampled_from(users)
    if kind == 7:
        return st.sampled_from(channels)
    if kind == 8:
        return st.sampled_from(roles)
    if kind == 9:
        return st.sampled_from(users + roles)
    if kind == 11:
        return file_values(fake)
    raise AssertionError(f"option type {kind} has no strategy")


def edge_values(option: dict) -> list[Any]:
    """The boundary values of one option, each tried once whatever hypothesis draws."""
    kind = option["type"]
    if option.get("choices") or kind in (5, 8, 11):
        return []  # listed choices, booleans, this guild's roles, files: the random phase
    if kind in (4, 10):
        low, high = option.get("min_value"), option.get("max_value")
        edges = [0, -1, 2**53, -(2**53)]
        edges += [low - 1, low] if low is not None else []
        edges += [high, high + 1] if high is not None else []
        return [float(v) for v in edges] if kind == 10 else edges
    if kind == 3:
        return ["", " \u200b ", "x" * 10_000, f"@everyone <@&{World.ADMIN_ROLE}>"]
    if kind == 7:
        return [Other.CHANNEL]
    return [Other.MEMBER, Other.OWNER, World.BOT, World.ADMIN]  # users and mentionables


@dataclass
class Findings:
    """What the examples observed, checked after every step."""

    configured_roles: set[int] = field(default_factory=set)
    replies: int = 0
    errors_shown: int = 0
    edges: int = 0


class ErrorLog(logging.Handler):
    """Collects ERROR records from any thread (the bot logs from the event loop)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("tests.fakediscord"):
            return
        with self._lock:
            self.records.append(record)

    def describe(self) -> str:
        return "\n".join(f"{r.name}: {r.getMessage()} {r.exc_info}" for r in self.records)


class Fuzzer:
    """Runs hypothesis in a worker thread against the bot living on `loop`."""

    def __init__(self, kindred: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.kindred = kindred
        self.fake: FakeDiscord = kindred.fake
        self.loop = loop
        self.commands = [c.qualified_name for c in leaf_commands(kindred.bot.tree)]
        self.options = {name: synced_options(self.fake, name) for name in self.commands}
        self.findings = Findings()
        self.errors = ErrorLog()

    def on_loop(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    # -- one example -------------------------------------------------------------------------
    def example(self, data: st.DataObject) -> None:
        command = data.draw(st.sampled_from(self.commands), label="command")
        guild_id = data.draw(st.sampled_from([World.GUILD] * 4 + [Other.GUILD]), label="guild")
        if guild_id == World.GUILD:
            people = [World.ADMIN, World.ADMIN, World.OWNER, *World.MEMBERS[:3]]
        else:
            people = [Other.OWNER, Other.MEMBER]
        user_id = data.draw(st.sampled_from(people), label="user")
        values: dict[str, Any] = {}
        for option in self.options[command]:
            if option.get("required") or data.draw(st.booleans(), label="include"):
                strategy = option_values(option, guild_id, self.fake)
                values[option["name"]] = data.draw(strategy, label=option["name"])
        if any(o.get("autocomplete") for o in self.options[command]) and data.draw(st.booleans()):
            focused = data.draw(
                st.sampled_from([o["name"] for o in self.options[command] if o.get("autocomplete")])
            )
            self.on_loop(self.autocomplete(guild_id, user_id, command, focused, values))
        if self.may_configure(guild_id, user_id):
            self.findings.configured_roles |= {
                int(v) for k, v in values.items() if "role" in k and isinstance(v, int)
            }
        handle = self.on_loop(self.fake.invoke(guild_id, user_id, command, **values))
        self.on_loop(self.answered(handle, f"/{command} {values!r}"))
        if handle.modal is not None:
            answers = {
                cid: data.draw(text_values(), label=cid) for cid in modal_inputs(handle.modal)
            }
            submitted = self.on_loop(self.fake.submit_modal(handle, user_id, answers))
            self.on_loop(self.answered(submitted, f"modal of /{command}"))
        buttons = [(m, cid) for m in handle.messages for cid in m.custom_ids() if not m.deleted]
        if data.draw(st.booleans(), label="any message"):
            # Any button the bot ever sent: check-ins in DMs, approvals, help offers.
            buttons += [
                (m, cid)
                for m in self.fake.messages[-300:]
                if not m.deleted and not m.ephemeral
                for cid in m.custom_ids()
            ]
        if buttons and data.draw(st.booleans(), label="click"):
            message, custom_id = data.draw(st.sampled_from(buttons), label="button")
            # Only someone who can see the message can click it (Discord enforces that); in a
            # DM the fake lets anyone click, as a forged interaction could.
            everyone = [*people, World.ADMIN, World.MEMBERS[3], World.MEMBERS[4], Other.MEMBER]
            clickers = [
                u
                for u in dict.fromkeys(everyone)
                if message.guild_id is None or self.fake.member(message.guild_id, u) is not None
            ]
            clicker = data.draw(st.sampled_from(clickers), label="clicker")
            click = self.on_loop(self.fake.click(message, custom_id, clicker))
            self.on_loop(self.answered(click, f"button {custom_id} of /{command}"))
            if click.modal is not None:
                answers = {
                    cid: data.draw(text_values(), label=cid) for cid in modal_inputs(click.modal)
                }
                submitted = self.on_loop(
                    self.fake.submit_modal(click, clicker, answers, guild_id=message.guild_id)
                )
                self.on_loop(self.answered(submitted, f"form of button {custom_id}"))
        self.on_loop(self.kindred.settle())
        self.check_everything_sent()
        assert not self.errors.records, self.errors.describe()

    async def edges(self) -> None:
        """Every edge value of every option, once, as an admin (past the /admin gate)."""
        for command in self.commands:
            options = self.options[command]
            for option in options:
                for value in edge_values(option):
                    values = {
                        o["name"]: plain_value(o, self.fake) for o in options if o.get("required")
                    }
                    values[option["name"]] = value
                    if "role" in option["name"] and isinstance(value, int):
                        self.findings.configured_roles.add(value)
                    handle = await self.fake.invoke(
                        World.GUILD, World.ADMIN, command, options=values
                    )
                    await self.answered(handle, f"edge /{command} {option['name']}={value!r:.40}")
                    await self.kindred.settle()
                    self.findings.edges += 1
        self.check_everything_sent()

    def may_configure(self, guild_id: int, user_id: int) -> bool:
        return user_id in (World.ADMIN, World.OWNER, Other.OWNER)

    # -- checks --------------------------------------------------------------------------------
    async def answered(self, handle: InteractionHandle, what: str) -> None:
        """The member got a real answer (or a modal), ephemeral, and never the bug message."""
        await handle.wait_for(
            lambda h: (
                h.modal is not None
                or h.response_type in (6, 7)
                or any(not m.loading for m in h.messages)
            ),
            REPLY_TIMEOUT,
            f"answer to {what}",
        )
        await asyncio.sleep(0.05)  # follow-ups sent right after the first reply
        self.findings.replies += 1
        for message in handle.messages:
            assert not message.content.startswith(UNEXPECTED), f"{what}: {message.content}"
        if handle.response_type in (4, 5):
            assert handle.ephemeral, f"{what}: public reply {handle.messages[0].text[:200]!r}"

    async def autocomplete(
        self, guild_id: int, user_id: int, command: str, focused: str, values: dict
    ) -> None:
        typed = {k: v for k, v in values.items() if k == focused or not isinstance(v, dict)}
        typed.setdefault(focused, "")
        if not isinstance(typed[focused], str):
            typed[focused] = str(typed[focused])
        choices = await self.fake.autocomplete(
            guild_id, user_id, command, focused=focused, timeout=REPLY_TIMEOUT, **typed
        )
        # Discord rejects the whole answer beyond these limits; the member sees nothing.
        assert len(choices) <= 25, f"/{command} {focused}: {len(choices)} choices"
        for choice in choices:
            assert 1 <= len(choice["name"]) <= 100, f"/{command} {focused}: {choice}"
            if isinstance(choice["value"], str):
                assert len(choice["value"]) <= 100, f"/{command} {focused}: {choice}"

    def check_everything_sent(self) -> None:
        allowed_roles = self.findings.configured_roles
        for message in list(self.fake.messages):
            assert not message.pings_everyone, describe(message)
            unconfigured = message.pinged_role_ids - allowed_roles
            assert not unconfigured, f"pings roles {unconfigured}: {describe(message)}"

    # -- the hypothesis run ------------------------------------------------------------------------
    def run(self) -> None:
        root = logging.getLogger()
        root.addHandler(self.errors)
        try:

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=cast(list[HealthCheck], list(HealthCheck)),
            )
            @given(st.data())
            def fuzz(data: st.DataObject) -> None:
                self.example(data)

            fuzz()
        finally:
            root.removeHandler(self.errors)


def pairing_problems(database: DatabaseConfig, fake: FakeDiscord, now: datetime) -> list[str]:
    """Pairing rows that no command should have been able to write."""
    people = read_rows(
        database,
        "SELECT guild_id, user_id AS id FROM pairing_members UNION ALL "
        "SELECT guild_id, user_id FROM pairing_blocks UNION ALL "
        "SELECT guild_id, blocked_user_id FROM pairing_blocks",
    )
    pauses = read_rows(
        database,
        "SELECT user_id, paused_until FROM pairing_members WHERE paused_until IS NOT NULL",
    )
    groups = read_rows(
        database,
        "SELECT g.group_id, g.size, COUNT(a.user_id) AS n FROM pairing_groups g "
        "LEFT JOIN pairing_assignments a ON a.group_id = g.group_id GROUP BY g.group_id",
    )
    problems = [
        f"user {r['id']} is not a member of guild {r['guild_id']}"
        for r in people
        if fake.member(r["guild_id"], r["id"]) is None
    ]
    problems += [
        f"user {r['user_id']} paused until {r['paused_until']}"
        for r in pauses
        # `weeks` is at most 12; `until` a date within a year (its midnight, in any timezone).
        if from_db(r["paused_until"]) > now + timedelta(days=366)
    ]
    problems += [
        f"group {r['group_id']} of size {r['size']} has {r['n']} members"
        for r in groups
        if r["size"] not in (2, 3) or r["size"] != r["n"]
    ]
    return problems


def modal_inputs(modal: dict) -> list[str]:
    found: list[str] = []

    def walk(items: list[dict]) -> None:
        for item in items:
            if item.get("type") == 4:
                found.append(item["custom_id"])
            walk(item.get("components", []))
            if isinstance(item.get("component"), dict):
                walk([item["component"]])

    walk(modal.get("components", []))
    return found


def describe(message: FakeMessage) -> str:
    return (
        f"message {message.id} in {message.channel_id}: {message.content[:200]!r} "
        f"allowed_mentions={message.allowed_mentions}"
    )


async def test_every_command_survives_hostile_input(fake_discord, kindred_factory):
    add_other_guild(fake_discord)
    kindred = await kindred_factory()
    fuzzer = Fuzzer(kindred, asyncio.get_running_loop())
    assert len(fuzzer.commands) >= 3  # the tree walk found the commands, /admin's included
    assert any(name.startswith("admin ") for name in fuzzer.commands)

    # Turn every feature on first, so hostile text stored later really gets posted.
    for name in fuzzer.commands:
        if name.startswith("admin ") and name.endswith((" schedule", " channel")):
            values = {o["name"]: plain_value(o, fake_discord) for o in fuzzer.options[name]}
            reply = await kindred.reply(World.ADMIN, name, **values)
            fuzzer.findings.configured_roles |= {
                v for k, v in values.items() if "role" in k and isinstance(v, int)
            }
            assert not reply.content.startswith(UNEXPECTED), reply.content

    await fuzzer.edges()
    assert fuzzer.findings.edges >= 60
    assert any(c.startswith("pair ") for c in fuzzer.commands)
    await asyncio.to_thread(fuzzer.run)

    # Let the schedules the fuzz set up fire with whatever text it stored.
    root = logging.getLogger()
    root.addHandler(fuzzer.errors)
    try:
        for _ in range(6):
            await kindred.advance(timedelta(hours=12))
    finally:
        root.removeHandler(fuzzer.errors)
    fuzzer.check_everything_sent()
    assert not fuzzer.errors.records, fuzzer.errors.describe()
    assert fuzzer.findings.replies >= EXAMPLES
    now = kindred.clock.now()
    await kindred.stop()
    assert database_problems(kindred.database) == []
    assert pairing_problems(kindred.database, fake_discord, now) == []
