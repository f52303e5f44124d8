"""Plain records of the fake's world: users, guilds, channels, roles, members and messages.

They hold what tests want to assert on (e.g. which mentions would really ping) and know how
to render themselves as the JSON discord.py expects.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field
from typing import Any

from .payloads import iso, user_payload

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


@dataclass
class User:
    """A Discord user (members and the bot)."""

    id: int
    name: str
    bot: bool = False

    def payload(self) -> dict:
        return user_payload(self.id, self.name, bot=self.bot)


@dataclass
class Role:
    """A guild role; the @everyone role has the guild's id."""

    id: int
    guild_id: int
    name: str
    permissions: int = 0
    position: int = 0
    mentionable: bool = False
    managed: bool = False

    def payload(self) -> dict:
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": 0,
            "hoist": False,
            "managed": self.managed,
            "mentionable": self.mentionable,
            "flags": 0,
        }


@dataclass
class Member:
    """A user's membership in one guild."""

    user: User
    guild_id: int
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=iso)

    def payload(self, *, with_user: bool = True) -> dict:
        data: dict[str, Any] = {
            "roles": [str(r) for r in self.roles],
            "nick": self.nick,
            "avatar": None,
            "joined_at": self.joined_at,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
        }
        if with_user:
            data["user"] = self.user.payload()
        return data


@dataclass
class Overwrite:
    """A channel permission overwrite (type 0 role, 1 member)."""

    id: int
    type: int
    allow: int = 0
    deny: int = 0

    def payload(self) -> dict:
        return {
            "id": str(self.id),
            "type": self.type,
            "allow": str(self.allow),
            "deny": str(self.deny),
        }


@dataclass
class Channel:
    """Guild channels, DM channels (type 1) and threads (types 10-12)."""

    id: int
    type: int
    name: str = ""
    guild_id: int | None = None
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    recipient_id: int | None = None
    overwrites: dict[int, Overwrite] = field(default_factory=dict)
    # threads
    owner_id: int | None = None
    thread_member_ids: set[int] = field(default_factory=set)
    message_count: int = 0
    archived: bool = False
    locked: bool = False
    invitable: bool = True
    auto_archive_duration: int = 1440
    created_at: str = field(default_factory=iso)

    @property
    def is_thread(self) -> bool:
        return self.type in (10, 11, 12)

    def payload(self, recipient: User | None = None) -> dict:
        if self.type == 1:
            return {
                "id": str(self.id),
                "type": 1,
                "last_message_id": None,
                "flags": 0,
                "recipients": [recipient.payload()] if recipient else [],
            }
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "name": self.name,
            "guild_id": str(self.guild_id),
            "position": self.position,
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "flags": 0,
            "nsfw": False,
            "rate_limit_per_user": 0,
            "last_message_id": None,
        }
        if self.is_thread:
            data.pop("position")
            data.update(
                owner_id=str(self.owner_id),
                member_count=len(self.thread_member_ids),
                message_count=self.message_count,
                total_message_sent=self.message_count,
                thread_metadata={
                    "archived": self.archived,
                    "locked": self.locked,
                    "invitable": self.invitable,
                    "auto_archive_duration": self.auto_archive_duration,
                    "archive_timestamp": self.created_at,
                    "create_timestamp": self.created_at,
                },
            )
        else:
            data["permission_overwrites"] = [o.payload() for o in self.overwrites.values()]
            data["topic"] = self.topic
            if self.type in (2, 13):
                data.update(bitrate=64000, user_limit=0, rtc_region=None)
        return data


@dataclass
class Guild:
    """A guild with its channels (in creation order), roles and members."""

    id: int
    name: str
    owner_id: int
    channels: dict[int, Channel] = field(default_factory=dict)
    roles: dict[int, Role] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    locale: str = "en-US"


@dataclass
class FakeAttachment:
    """A file: uploaded by the bot, or offered to it as a command option (served by the fake)."""

    id: int
    filename: str
    data: bytes
    content_type: str = "application/octet-stream"
    description: str | None = None
    url: str = ""

    def payload(self) -> dict:
        return {
            "id": str(self.id),
            "filename": self.filename,
            "size": len(self.data),
            "url": self.url,
            "proxy_url": self.url,
            "content_type": self.content_type,
            "description": self.description,
        }


@dataclass
class FakeMessage:
    """A message the bot created (channel post, DM, interaction reply or follow-up)."""

    id: int
    channel_id: int
    author: User
    guild_id: int | None = None
    content: str = ""
    embeds: list[dict] = field(default_factory=list)
    components: list[dict] = field(default_factory=list)
    flags: int = 0
    attachments: list[FakeAttachment] = field(default_factory=list)
    allowed_mentions: dict | None = None
    nonce: str | int | None = None
    type: int = 0
    webhook_id: int | None = None
    interaction_id: int | None = None
    thread_id: int | None = None
    created_at: float = field(default_factory=time.time)
    timestamp: str = field(default_factory=iso)
    edited_timestamp: str | None = None
    deleted: bool = False
    edits: int = 0
    raw: dict = field(default_factory=dict)
    #: Every body that created or edited the message, oldest first: what anyone could have
    #: seen of it at some point (an edit overwrites the fields above).
    revisions: list[dict] = field(default_factory=list)

    # -- what tests assert on -------------------------------------------------------------
    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & 64)

    @property
    def loading(self) -> bool:
        """True for the placeholder of a deferred ("thinking") interaction response."""
        return bool(self.flags & 128)

    @property
    def text(self) -> str:
        """Content plus embed titles/descriptions/fields, for easy substring assertions."""
        parts = [self.content]
        for e in self.embeds:
            parts += [e.get("title") or "", e.get("description") or ""]
            for f in e.get("fields", []):
                parts += [f.get("name", ""), f.get("value", "")]
            parts.append((e.get("footer") or {}).get("text", ""))
        return "\n".join(p for p in parts if p)

    def _parse(self) -> list[str]:
        if self.allowed_mentions is None:
            return ["everyone", "users", "roles"]
        return list(self.allowed_mentions.get("parse", []))

    def _all_text(self) -> str:
        # Mentions only ping from content; embeds never ping.
        return self.content

    @property
    def pings_everyone(self) -> bool:
        """Whether @everyone/@here in the content would notify anyone."""
        text = self._all_text()
        return ("@everyone" in text or "@here" in text) and "everyone" in self._parse()

    @property
    def pinged_user_ids(self) -> set[int]:
        ids = {int(m) for m in _USER_MENTION.findall(self._all_text())}
        if "users" in self._parse():
            return ids
        allowed = {int(u) for u in (self.allowed_mentions or {}).get("users", [])}
        return ids & allowed

    @property
    def pinged_role_ids(self) -> set[int]:
        ids = {int(m) for m in _ROLE_MENTION.findall(self._all_text())}
        if "roles" in self._parse():
            return ids
        allowed = {int(r) for r in (self.allowed_mentions or {}).get("roles", [])}
        return ids & allowed

    def custom_ids(self) -> list[str]:
        """Every custom_id found in the message's components (nested too)."""
        found: list[str] = []

        def walk(items: list[dict]) -> None:
            for c in items:
                if "custom_id" in c:
                    found.append(c["custom_id"])
                walk(c.get("components", []))
                if isinstance(c.get("accessory"), dict):
                    walk([c["accessory"]])

        walk(self.components)
        return found

    def payload(self) -> dict:
        data: dict[str, Any] = {
            "id": str(self.id),
            "channel_id": str(self.channel_id),
            "type": self.type,
            "content": self.content,
            "author": self.author.payload(),
            "timestamp": self.timestamp,
            "edited_timestamp": self.edited_timestamp,
            "tts": False,
            "mention_everyone": self.pings_everyone,
            "mentions": [],
            "mention_roles": [str(r) for r in sorted(self.pinged_role_ids)],
            "attachments": [a.payload() for a in self.attachments],
            "embeds": self.embeds,
            "components": self.components,
            "pinned": False,
            "flags": self.flags,
        }
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
            data["member"] = {
                "roles": [],
                "flags": 0,
                "joined_at": iso(dt.datetime.now(dt.UTC)),
                "deaf": False,
                "mute": False,
            }
        if self.nonce is not None:
            data["nonce"] = self.nonce
        if self.webhook_id is not None:
            data["webhook_id"] = str(self.webhook_id)
            data["application_id"] = str(self.webhook_id)
        return data
