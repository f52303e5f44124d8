"""The gateway websocket: HELLO, heartbeats, IDENTIFY/READY/GUILD_CREATE, RESUME and dispatches.

Sessions outlive their socket so a dropped client can RESUME and receive the events it missed,
as on Discord; ``drop()`` closes sockets to exercise discord.py's reconnect logic.

Sharding as on Discord: an IDENTIFY with ``shard: [id, count]`` makes a session for that shard.
Its READY lists only the guilds with ``(guild_id >> 22) % count == id`` (GUILD_CREATE follows for
each), a guild's events go only to the sessions of the shard that owns it, and events without a
guild (a button in a DM) go to shard 0. A session without ``shard`` gets everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from .state import FakeState

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_MS = 41250
#: Events whose payload is the guild itself (its id is `id`, not `guild_id`).
_GUILD_EVENTS = frozenset({"GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"})


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard Discord routes a guild's events to."""
    return (guild_id >> 22) % shard_count


def event_guild_id(event: str, data: dict) -> int | None:
    """The guild an event belongs to, or None for a guild-less one (DMs)."""
    raw = data.get("id") if event in _GUILD_EVENTS else data.get("guild_id")
    return int(raw) if raw is not None else None


@dataclass
class Session:
    """One identified gateway session (kept after disconnect so it can be resumed)."""

    id: str
    seq: int = 0
    ws: web.WebSocketResponse | None = None
    backlog: list[dict] = field(default_factory=list)
    shard: tuple[int, int] | None = None  # (shard id, shard count) from IDENTIFY

    def owns(self, guild_id: int | None) -> bool:
        """Whether this session receives events of `guild_id` (None: a guild-less event)."""
        if self.shard is None:
            return True
        shard_id, count = self.shard
        return shard_of(guild_id, count) == shard_id if guild_id is not None else shard_id == 0

    def next_frame(self, event: str, data: dict) -> dict:
        self.seq += 1
        frame = {"op": 0, "t": event, "s": self.seq, "d": data}
        self.backlog.append(frame)
        del self.backlog[:-1000]
        return frame


class Gateway:
    """Serves ``/gateway`` for any number of clients and fans dispatches out to them."""

    def __init__(self, state: FakeState, token_ok: Callable[[str], bool]) -> None:
        self.state = state
        self.token_ok = token_ok
        self.sessions: dict[str, Session] = {}
        self.sockets: set[web.WebSocketResponse] = set()
        self.identify_count = 0
        self.resume_count = 0
        self.received: list[dict] = []
        self.member_requests: list[dict] = []  # the `d` of every op 8, in order
        self.changed = asyncio.Event()
        self.url = ""

    @property
    def connected(self) -> bool:
        return any(s.ws is not None and not s.ws.closed for s in self.sessions.values())

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        self.sockets.add(ws)
        session: Session | None = None
        try:
            await self._send(
                ws,
                {
                    "op": 10,
                    "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS},
                    "s": None,
                    "t": None,
                },
            )
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                self.received.append(frame)
                session = await self._on_frame(ws, frame, session)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.sockets.discard(ws)
            if session is not None and session.ws is ws:
                session.ws = None
            self._notify()
        return ws

    async def _on_frame(
        self, ws: web.WebSocketResponse, frame: dict, session: Session | None
    ) -> Session | None:
        op, d = frame.get("op"), frame.get("d") or {}
        if op == 1:
            await self._send(ws, {"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            if not self.token_ok(str(d.get("token", ""))):
                await ws.close(code=4004, message=b"Authentication failed.")
                return session
            shard = d.get("shard")
            session = Session(
                uuid.uuid4().hex, ws=ws, shard=(int(shard[0]), int(shard[1])) if shard else None
            )
            self.sessions[session.id] = session
            self.identify_count += 1
            await self._identify(ws, session, d)
        elif op == 6:
            old = self.sessions.get(str(d.get("session_id")))
            if old is None:
                await self._send(ws, {"op": 9, "d": False, "s": None, "t": None})
                return session
            session, old.ws = old, ws
            self.resume_count += 1
            for frame_ in [f for f in old.backlog if f["s"] > int(d.get("seq") or 0)]:
                await self._send(ws, frame_)
            await self._send(ws, session.next_frame("RESUMED", {}))
        elif op == 8:
            await self._chunk(ws, session, d)
        self._notify()
        return session

    async def _identify(self, ws: web.WebSocketResponse, session: Session, d: dict) -> None:
        st = self.state
        guild_ids = [g for g in st.guilds if session.owns(g)]
        ready = {
            "v": 10,
            "user": {**st.bot_user.payload(), "verified": True, "mfa_enabled": False},
            "guilds": [{"id": str(g), "unavailable": True} for g in guild_ids],
            "session_id": session.id,
            "resume_gateway_url": self.url,
            "session_type": "normal",
            "application": {"id": str(st.app_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "user_settings": {},
            "geo_ordered_rtc_regions": [],
        }
        if d.get("shard"):
            ready["shard"] = d["shard"]
        await self._send(ws, session.next_frame("READY", ready))
        for guild_id in guild_ids:
            await self._send(ws, session.next_frame("GUILD_CREATE", self.guild_payload(guild_id)))

    def guild_payload(self, guild_id: int) -> dict:
        st = self.state
        g = st.guilds[guild_id]
        return {
            "id": str(g.id),
            "name": g.name,
            "owner_id": str(g.owner_id),
            "icon": None,
            "unavailable": False,
            "large": False,
            "member_count": len(g.members),
            "roles": [r.payload() for r in g.roles.values()],
            "channels": [st.channel_payload(c) for c in g.channels.values() if not c.is_thread],
            "threads": [st.channel_payload(c) for c in g.channels.values() if c.is_thread],
            "members": [m.payload() for m in g.members.values()],
            "presences": [],
            "voice_states": [],
            "emojis": [],
            "stickers": [],
            "features": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "preferred_locale": g.locale,
            "joined_at": g.members[st.app_id].joined_at if st.app_id in g.members else None,
            "system_channel_id": None,
            "premium_tier": 0,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "afk_timeout": 300,
        }

    async def _chunk(self, ws: web.WebSocketResponse, session: Session | None, d: dict) -> None:
        """REQUEST_GUILD_MEMBERS: by `user_ids` (at most 100) or by name `query` (with `limit`;
        0 with an empty query means everyone), answered in chunks of 1,000 with the `nonce`."""
        guild = self.state.guilds.get(int(d.get("guild_id") or 0))
        if guild is None or session is None or not session.owns(guild.id):
            return
        self.member_requests.append(d)
        limit = int(d.get("limit") or 0)
        not_found: list[str] = []
        if d.get("user_ids") is not None:
            wanted = [int(u) for u in d["user_ids"]]
            if len(wanted) > 100:
                await ws.close(code=4002, message=b"Error while decoding payload.")
                return
            members = [guild.members[u] for u in wanted if u in guild.members]
            not_found = [str(u) for u in wanted if u not in guild.members]
        else:
            query = str(d.get("query") or "").lower()
            members = sorted(
                (m for m in guild.members.values() if m.user.name.lower().startswith(query)),
                key=lambda m: m.user.id,
            )
            if query and not limit:
                limit = 1  # Discord requires a limit for a non-empty query
        if limit:
            members = members[:limit]
        pages = [members[i : i + 1000] for i in range(0, len(members), 1000)] or [[]]
        for index, page in enumerate(pages):
            chunk = {
                "guild_id": str(guild.id),
                "members": [m.payload() for m in page],
                "chunk_index": index,
                "chunk_count": len(pages),
                "not_found": not_found if index == len(pages) - 1 else [],
                "nonce": d.get("nonce"),
            }
            await self._send(ws, session.next_frame("GUILD_MEMBERS_CHUNK", chunk))

    async def dispatch(self, event: str, data: dict) -> None:
        """Send an event to every session of the shard that owns its guild (buffered for
        sessions that are disconnected)."""
        guild_id = event_guild_id(event, data)
        for session in list(self.sessions.values()):
            if not session.owns(guild_id):
                continue
            frame = session.next_frame(event, data)
            if session.ws is not None and not session.ws.closed:
                await self._send(session.ws, frame)

    async def drop(self, *, resumable: bool = True, code: int = 4000) -> None:
        """Close every socket; discord.py reconnects (RESUME if resumable, else re-IDENTIFY)."""
        if not resumable:
            self.sessions.clear()
        for ws in list(self.sockets):
            await ws.close(code=code, message=b"fake: dropped")

    async def close(self) -> None:
        for ws in list(self.sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=1001, message=b"fake: shutting down")

    async def _send(self, ws: web.WebSocketResponse, frame: dict) -> None:
        if ws.closed:
            return
        try:
            await ws.send_str(json.dumps(frame))
        except (ConnectionResetError, RuntimeError) as exc:
            log.debug("gateway send failed: %s", exc)

    def _notify(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()
