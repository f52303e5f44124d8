"""The fake's world and its synchronous setup API (no networking here).

Tests build guilds, channels, roles and members before the bot connects; the REST and gateway
layers read this state to answer discord.py exactly as Discord would for that world.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .models import Channel, FakeAttachment, FakeMessage, Guild, Member, Overwrite, Role, User
from .payloads import (
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    DEFAULT_BOT,
    DEFAULT_EVERYONE,
    SEND_MESSAGES,
    snowflake,
)

NONCE_WINDOW = 300.0  # Discord forgets a nonce after "a few minutes"


@dataclass
class MessageAttempt:
    """One request to create a message, as it reached the fake (before nonce dedupe).

    ``outcome`` is ``"created"``, ``"deduplicated"`` (an earlier message with the same nonce was
    returned) or ``"refused"`` (an API error such as 50007); tests count what the bot *sent*
    here, not only what the fake kept.
    """

    channel_id: int
    nonce: str | None
    content: str
    time: float
    outcome: str = ""
    message_id: int | None = None


class FakeState:
    """Guilds, users, channels, messages and synced commands of the fake Discord."""

    def __init__(self, *, app_id: int = 9000, bot_name: str = "Kindred") -> None:
        self.app_id = app_id
        self.bot_user = User(app_id, bot_name, bot=True)
        self.users: dict[int, User] = {app_id: self.bot_user}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.deleted_channels: set[int] = set()
        self.dm_channel_ids: dict[int, int] = {}
        self.dms_closed: set[int] = set()
        self.messages: list[FakeMessage] = []
        self.messages_by_id: dict[int, FakeMessage] = {}
        self.files: dict[int, FakeAttachment] = {}
        self.global_commands: list[dict] = []
        self.guild_commands: dict[int, list[dict]] = {}
        self.sync_counts: dict[int | None, int] = {}
        self._command_ids: dict[tuple[int | None, str, int], int] = {}
        self._nonces: dict[tuple[int, str], FakeMessage] = {}
        self.message_attempts: list[MessageAttempt] = []
        #: Seconds added to the real time on the fake's clock (see :meth:`advance_clock`).
        self.clock_offset = 0.0
        self.nonce_window = NONCE_WINDOW
        self.base_url = ""

    # -- setup ------------------------------------------------------------------------------
    def add_user(self, user_id: int, name: str, *, bot: bool = False) -> User:
        user = self.users.get(user_id) or User(user_id, name, bot=bot)
        self.users[user_id] = user
        return user

    def add_guild(
        self,
        guild_id: int,
        name: str,
        owner_id: int,
        *,
        everyone_permissions: int = DEFAULT_EVERYONE,
        bot_permissions: int = DEFAULT_BOT,
    ) -> Guild:
        """A guild with @everyone, the owner and the bot (with a managed role) as members."""
        guild = Guild(guild_id, name, owner_id)
        self.guilds[guild_id] = guild
        guild.roles[guild_id] = Role(guild_id, guild_id, "@everyone", everyone_permissions)
        bot_role = Role(snowflake(), guild_id, self.bot_user.name, bot_permissions, 1, managed=True)
        guild.roles[bot_role.id] = bot_role
        guild.members[self.app_id] = Member(self.bot_user, guild_id, [bot_role.id])
        if owner_id not in guild.members:
            owner = self.users.get(owner_id) or User(owner_id, "owner")
            self.add_member(guild_id, owner_id, owner.name)
        return guild

    def add_channel(
        self,
        guild_id: int,
        channel_id: int,
        name: str,
        type: int = 0,
        *,
        parent_id: int | None = None,
        topic: str | None = None,
    ) -> Channel:
        guild = self.guilds[guild_id]
        channel = Channel(channel_id, type, name, guild_id, len(guild.channels), parent_id, topic)
        guild.channels[channel_id] = channel
        self.channels[channel_id] = channel
        self.deleted_channels.discard(channel_id)
        return channel

    def delete_channel(self, channel_id: int) -> None:
        """Forget a channel: later posts there answer 404 Unknown Channel (10003)."""
        channel = self.channels.pop(channel_id, None)
        if channel and channel.guild_id in self.guilds:
            self.guilds[channel.guild_id].channels.pop(channel_id, None)
        self.deleted_channels.add(channel_id)

    def add_role(
        self,
        guild_id: int,
        role_id: int,
        name: str,
        permissions: int = 0,
        *,
        mentionable: bool = False,
    ) -> Role:
        guild = self.guilds[guild_id]
        role = Role(role_id, guild_id, name, permissions, len(guild.roles), mentionable)
        guild.roles[role_id] = role
        return role

    def add_member(
        self, guild_id: int, user_id: int, name: str, roles: Iterable[int] = (), bot: bool = False
    ) -> Member:
        user = self.add_user(user_id, name, bot=bot)
        member = Member(user, guild_id, [int(r) for r in roles])
        self.guilds[guild_id].members[user_id] = member
        return member

    def set_dms_closed(self, user_id: int, closed: bool = True) -> None:
        """DMs to this user answer 403 code 50007."""
        (self.dms_closed.add if closed else self.dms_closed.discard)(user_id)

    def set_overwrite(
        self, channel_id: int, target_id: int, *, allow: int = 0, deny: int = 0, member: bool = True
    ) -> None:
        """Set a channel permission overwrite for a member (or role when ``member=False``)."""
        channel = self.channels[channel_id]
        channel.overwrites[target_id] = Overwrite(target_id, 1 if member else 0, allow, deny)

    def deny_send(self, channel_id: int, user_id: int | None = None) -> None:
        """Take Send Messages from the bot (or a user) in a channel: posts answer 403/50013."""
        self.set_overwrite(channel_id, user_id or self.app_id, deny=SEND_MESSAGES)

    def add_attachment(self, filename: str, data: bytes, content_type: str = "text/plain") -> dict:
        """Register a file the fake serves; returns its attachment payload (an option value)."""
        att = self._store_file(filename, data, content_type)
        return att.payload()

    # -- the fake's clock -------------------------------------------------------------------
    def now(self) -> float:
        """The fake's time (epoch seconds): real time plus :attr:`clock_offset`."""
        return time.time() + self.clock_offset

    def advance_clock(self, seconds: float) -> None:
        """Move the fake's clock forward, e.g. 12 minutes to test a restart past the nonce
        window without waiting: nonces older than :attr:`nonce_window` are forgotten."""
        self.clock_offset += seconds

    # -- lookups ---------------------------------------------------------------------------
    def member(self, guild_id: int, user_id: int) -> Member | None:
        guild = self.guilds.get(guild_id)
        return guild.members.get(user_id) if guild else None

    def base_permissions(self, guild_id: int, user_id: int) -> int:
        guild = self.guilds[guild_id]
        if user_id == guild.owner_id:
            return ALL_PERMISSIONS
        perms = guild.roles[guild_id].permissions
        member = guild.members.get(user_id)
        for role_id in member.roles if member else []:
            if role_id in guild.roles:
                perms |= guild.roles[role_id].permissions
        return ALL_PERMISSIONS if perms & ADMINISTRATOR else perms

    def permissions(self, guild_id: int, user_id: int, channel_id: int | None = None) -> int:
        """Effective permissions, applying the channel's (or thread parent's) overwrites."""
        perms = self.base_permissions(guild_id, user_id)
        if perms == ALL_PERMISSIONS or channel_id is None:
            return perms
        channel = self.channels.get(channel_id)
        if channel is not None and channel.is_thread and channel.parent_id:
            channel = self.channels.get(channel.parent_id)
        if channel is None:
            return perms
        member = self.member(guild_id, user_id)
        roles = set(member.roles) if member else set()
        ows = channel.overwrites
        if guild_id in ows:
            perms = (perms & ~ows[guild_id].deny) | ows[guild_id].allow
        allow = deny = 0
        for ow in ows.values():
            if ow.type == 0 and ow.id in roles:
                allow, deny = allow | ow.allow, deny | ow.deny
        perms = (perms & ~deny) | allow
        if user_id in ows and ows[user_id].type == 1:
            perms = (perms & ~ows[user_id].deny) | ows[user_id].allow
        return perms

    def dm_channel(self, user_id: int) -> Channel:
        """The (one) DM channel between the bot and a user, created on first use."""
        cid = self.dm_channel_ids.get(user_id)
        if cid is None:
            cid = snowflake()
            self.dm_channel_ids[user_id] = cid
            self.channels[cid] = Channel(cid, 1, recipient_id=user_id)
        return self.channels[cid]

    def channel_payload(self, channel: Channel) -> dict:
        recipient = self.users.get(channel.recipient_id or 0)
        data = channel.payload(recipient)
        if channel.is_thread and self.app_id in channel.thread_member_ids:
            data["member"] = {
                "id": str(channel.id),
                "user_id": str(self.app_id),
                "join_timestamp": channel.created_at,
                "flags": 0,
            }
        return data

    # -- observation -----------------------------------------------------------------------
    def dms_to(self, user_id: int) -> list[FakeMessage]:
        cid = self.dm_channel_ids.get(user_id)
        return [m for m in self.messages if m.channel_id == cid and not m.deleted]

    def channel_messages(
        self, channel_id: int, *, include_ephemeral: bool = False
    ) -> list[FakeMessage]:
        return [
            m
            for m in self.messages
            if m.channel_id == channel_id
            and not m.deleted
            and (include_ephemeral or not m.ephemeral)
        ]

    def attempts_to(self, channel_id: int) -> list[MessageAttempt]:
        """Every message-create request to ``channel_id``, deduplicated or refused ones too."""
        return [a for a in self.message_attempts if a.channel_id == channel_id]

    def dm_attempts_to(self, user_id: int) -> list[MessageAttempt]:
        """Every message-create request to the DM channel of ``user_id``."""
        cid = self.dm_channel_ids.get(user_id)
        return [] if cid is None else self.attempts_to(cid)

    @property
    def threads(self) -> list[Channel]:
        return [c for c in self.channels.values() if c.is_thread]

    def commands(self, guild_id: int | None = None) -> list[dict]:
        """The commands the bot last synced globally (or to ``guild_id``)."""
        return self.global_commands if guild_id is None else self.guild_commands.get(guild_id, [])

    # -- used by the REST layer ------------------------------------------------------------
    def _store_file(self, filename: str, data: bytes, content_type: str) -> FakeAttachment:
        att = FakeAttachment(snowflake(), filename, data, content_type)
        att.url = f"{self.base_url}/attachments/{att.id}/{filename}"
        self.files[att.id] = att
        return att

    def store_commands(self, guild_id: int | None, body: list[dict]) -> list[dict]:
        """Record a bulk overwrite, keeping ids stable per (scope, name, type)."""
        stored = []
        for cmd in body:
            key = (guild_id, cmd["name"], cmd.get("type", 1))
            cmd_id = self._command_ids.setdefault(key, snowflake())
            full = {
                "type": 1,
                "description": "",
                "options": [],
                "nsfw": False,
                "default_member_permissions": None,
                **cmd,
                "id": str(cmd_id),
                "application_id": str(self.app_id),
                "version": str(snowflake()),
            }
            if full["default_member_permissions"] is not None:  # Discord answers a string
                full["default_member_permissions"] = str(full["default_member_permissions"])
            if guild_id is not None:
                full["guild_id"] = str(guild_id)
            stored.append(full)
        if guild_id is None:
            self.global_commands = stored
        else:
            self.guild_commands[guild_id] = stored
        self.sync_counts[guild_id] = self.sync_counts.get(guild_id, 0) + 1
        return stored

    def new_message(
        self, channel_id: int, body: dict, files: dict[int, tuple[str, bytes, str]], **extra: Any
    ) -> FakeMessage:
        """Create and record a message from a (JSON or multipart) create body."""
        channel = self.channels.get(channel_id)
        msg = FakeMessage(
            snowflake(),
            channel_id,
            self.bot_user,
            guild_id=channel.guild_id if channel else None,
            created_at=self.now(),
            **extra,
        )
        self.apply_edit(msg, body, files, created=True)
        if channel is not None and channel.is_thread:
            channel.message_count += 1
        self.messages.append(msg)
        self.messages_by_id[msg.id] = msg
        return msg

    def apply_edit(
        self,
        msg: FakeMessage,
        body: dict,
        files: dict[int, tuple[str, bytes, str]],
        *,
        created: bool = False,
    ) -> None:
        """Apply create/edit fields; ``attachments`` lists kept ids and new file indexes."""
        for key, empty in (("content", ""), ("embeds", []), ("components", [])):
            if key in body:  # an explicit null clears the field, as on Discord
                setattr(msg, key, body[key] if body[key] is not None else empty)
        if body.get("allowed_mentions") is not None:
            msg.allowed_mentions = body["allowed_mentions"]
        if created:
            msg.flags = int(body.get("flags") or 0)
        else:  # an edit keeps the ephemeral bit and ends the "thinking" state
            flags = body.get("flags")
            kept = msg.flags & 64
            msg.flags = ((int(flags) if flags is not None else msg.flags) | kept) & ~128
        if created:
            msg.nonce = body.get("nonce")
        if "attachments" in body or files:
            kept = {a.id: a for a in msg.attachments}
            new: list[FakeAttachment] = []
            listed = body.get("attachments")
            if listed is None:
                listed = [{"id": i} for i in sorted(files)]
            for entry in listed:
                index = int(entry["id"])
                if index in files:
                    name, data, ctype = files.pop(index)
                    att = self._store_file(str(entry.get("filename") or name), data, ctype)
                    description = entry.get("description")
                    att.description = None if description is None else str(description)
                    new.append(att)
                elif index in kept:
                    new.append(kept[index])
            for _index, (name, data, ctype) in sorted(files.items()):
                new.append(self._store_file(name, data, ctype))
            msg.attachments = new
        msg.raw = body
        msg.revisions.append(body)
        if not created:
            msg.edits += 1
            msg.edited_timestamp = msg.timestamp

    def find_nonce(self, channel_id: int, nonce: Any) -> FakeMessage | None:
        found = self._nonces.get((channel_id, str(nonce)))
        if found and self.now() - found.created_at < self.nonce_window:
            return found
        return None

    def remember_nonce(self, msg: FakeMessage) -> None:
        if msg.nonce is not None:
            self._nonces[(msg.channel_id, str(msg.nonce))] = msg
