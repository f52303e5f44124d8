"""Build INTERACTION_CREATE payloads from the synced command definitions.

Options are typed from what the bot itself synced (so a test cannot pass an option the bot
does not declare), nested under subcommand groups/subcommands, and every user, member,
channel, role and attachment is placed in ``data.resolved`` the way Discord sends it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .handle import InteractionHandle
from .models import FakeAttachment, FakeMessage
from .payloads import DEFAULT_EVERYONE, snowflake

if TYPE_CHECKING:
    from .server import FakeDiscord

ATTACHMENT_SIZE_LIMIT = 25 * 1024 * 1024
_SELECT_TYPES = (3, 5, 6, 7, 8)


def _snowflake_of(value: Any) -> int:
    if isinstance(value, dict):
        return int(value["id"])
    return int(getattr(value, "id", value))


class InteractionBuilder:
    """Creates interactions for one :class:`FakeDiscord` and registers their handles."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake

    # -- commands --------------------------------------------------------------------------
    def find_command(self, guild_id: int | None, name: str) -> tuple[dict, int | None]:
        """The synced definition of top-level command ``name`` (guild commands first)."""
        if guild_id is not None:
            for cmd in self.fake.guild_commands.get(guild_id, []):
                if cmd["name"] == name and cmd.get("type", 1) == 1:
                    return cmd, guild_id
        for cmd in self.fake.global_commands:
            if cmd["name"] == name and cmd.get("type", 1) == 1:
                return cmd, None
        synced = [c["name"] for c in self.fake.global_commands] + [
            c["name"] for c in self.fake.guild_commands.get(guild_id or 0, [])
        ]
        raise LookupError(f"/{name} was not synced (synced: {sorted(synced)})")

    def command_data(
        self,
        guild_id: int | None,
        user_id: int,
        channel_id: int,
        command: str,
        values: dict[str, Any],
        focused: str | None = None,
    ) -> dict:
        """``data`` of a type 2/4 interaction for ``"group sub name"`` with option values."""
        path = command.strip().lstrip("/").split()
        cmd, scope = self.find_command(guild_id, path[0])
        resolved: dict[str, dict] = {}
        defs: list[dict] = cmd.get("options", [])
        root: list[dict] = []
        holder = root
        for part in path[1:]:
            sub = next((o for o in defs if o["name"] == part and o["type"] in (1, 2)), None)
            if sub is None:
                raise LookupError(f"/{command}: no subcommand {part!r} under {path[0]!r}")
            node = {"type": sub["type"], "name": part, "options": []}
            holder.append(node)
            holder, defs = node["options"], sub.get("options", [])
        if any(o["type"] in (1, 2) for o in defs):
            raise LookupError(f"/{command} is a group; name a subcommand")
        known = {o["name"]: o for o in defs}
        for name, value in values.items():
            if name not in known:
                raise LookupError(f"/{command} has no option {name!r} (has {sorted(known)})")
            opt = {
                "type": known[name]["type"],
                "name": name,
                "value": self._value(
                    known[name]["type"],
                    value,
                    guild_id,
                    user_id,
                    channel_id,
                    resolved,
                    name == focused,
                ),
            }
            if name == focused:
                opt["focused"] = True
            holder.append(opt)
        missing = [n for n, o in known.items() if o.get("required") and n not in values]
        if missing and focused is None:
            raise LookupError(f"/{command}: required options missing: {missing}")
        data: dict[str, Any] = {"id": cmd["id"], "name": path[0], "type": 1, "options": root}
        if resolved:
            data["resolved"] = resolved
        if scope is not None:
            data["guild_id"] = str(scope)
        return data

    def _value(
        self,
        type_: int,
        value: Any,
        guild_id: int | None,
        user_id: int,
        channel_id: int,
        resolved: dict[str, dict],
        focused: bool,
    ) -> Any:
        f = self.fake
        if focused or type_ == 3:
            return str(value) if not focused else value
        if type_ == 4:
            return int(value)
        if type_ == 5:
            return bool(value)
        if type_ == 10:
            return float(value)
        sid = _snowflake_of(value)
        if type_ == 9:
            type_ = 8 if guild_id is not None and sid in f.guilds[guild_id].roles else 6
        if type_ == 6:
            if sid not in f.users:
                raise LookupError(f"unknown user {sid}")
            resolved.setdefault("users", {})[str(sid)] = f.users[sid].payload()
            member = f.member(guild_id, sid) if guild_id is not None else None
            if member is not None and guild_id is not None:
                resolved.setdefault("members", {})[str(sid)] = {
                    **member.payload(with_user=False),
                    "permissions": str(f.permissions(guild_id, sid, channel_id)),
                }  # type: ignore[arg-type]
        elif type_ == 7:
            channel = f.channels.get(sid)
            if channel is None:
                raise LookupError(f"unknown channel {sid}")
            perms = f.permissions(channel.guild_id, user_id, sid) if channel.guild_id else 0
            resolved.setdefault("channels", {})[str(sid)] = {
                **f.channel_payload(channel),
                "permissions": str(perms),
            }
        elif type_ == 8:
            role = f.guilds[guild_id].roles[sid]  # type: ignore[index]
            resolved.setdefault("roles", {})[str(sid)] = role.payload()
        elif type_ == 11:
            att = value if isinstance(value, FakeAttachment) else f.files[sid]
            resolved.setdefault("attachments", {})[str(sid)] = att.payload()
        return str(sid)

    # -- envelopes -------------------------------------------------------------------------
    def default_channel(self, guild_id: int | None, user_id: int) -> int:
        if guild_id is None:
            return self.fake.dm_channel(user_id).id
        for channel in self.fake.guilds[guild_id].channels.values():
            if channel.type == 0:
                return channel.id
        raise LookupError(f"guild {guild_id} has no text channel")

    def create(
        self,
        type_: int,
        guild_id: int | None,
        user_id: int,
        channel_id: int,
        data: dict,
        *,
        locale: str = "en-US",
        message: FakeMessage | None = None,
    ) -> InteractionHandle:
        """Build the full INTERACTION_CREATE payload and register its handle."""
        f = self.fake
        iid = snowflake()
        token = f"fake-token-{iid}"
        channel = f.channels[channel_id]
        payload: dict[str, Any] = {
            "id": str(iid),
            "application_id": str(f.app_id),
            "type": type_,
            "token": token,
            "version": 1,
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
            "data": data,
            "channel_id": str(channel_id),
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
        }
        if guild_id is not None:
            member = f.member(guild_id, user_id)
            if member is None:
                raise LookupError(f"user {user_id} is not a member of guild {guild_id}")
            perms = f.permissions(guild_id, user_id, channel_id)
            guild = f.guilds[guild_id]
            payload.update(
                guild_id=str(guild_id),
                guild_locale=guild.locale,
                context=0,
                guild={"id": str(guild_id), "locale": guild.locale, "features": []},
                member={**member.payload(), "permissions": str(perms)},
                app_permissions=str(f.permissions(guild_id, f.app_id, channel_id)),
                authorizing_integration_owners={"0": str(guild_id)},
                channel={**f.channel_payload(channel), "permissions": str(perms)},
            )
        else:
            payload.update(
                user=f.users[user_id].payload(),
                context=1,
                app_permissions=str(DEFAULT_EVERYONE),
                authorizing_integration_owners={"0": "0"},
                channel=f.channel_payload(channel),
            )
        if message is not None:
            payload["message"] = message.payload()
        handle = InteractionHandle(
            iid, token, type_, payload, channel_id, guild_id, user_id, source_message=message
        )
        f.interactions[token] = handle
        return handle

    def component_data(
        self, message: FakeMessage, custom_id: str, values: list[str] | None
    ) -> dict:
        def find(items: list[dict]) -> dict | None:
            for c in items:
                if c.get("custom_id") == custom_id:
                    return c
                nested = find(
                    c.get("components", [])
                    + ([c["accessory"]] if isinstance(c.get("accessory"), dict) else [])
                )
                if nested:
                    return nested
            return None

        comp = find(message.components)
        if comp is None:
            raise LookupError(
                f"message {message.id} has no component {custom_id!r} (has {message.custom_ids()})"
            )
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": comp["type"]}
        if comp["type"] in _SELECT_TYPES:
            data["values"] = [str(v) for v in (values or [])]
        return data


def modal_components(components: list[dict], values: dict[str, Any]) -> list[dict]:
    """Mirror a modal's layout as a submit: rows of inputs, or labels (type 18) wrapping one."""
    out: list[dict] = []
    for c in components:
        t = c.get("type")
        if t == 1:
            out.append({"type": 1, "components": modal_components(c.get("components", []), values)})
        elif t == 18:
            inner = modal_components([c["component"]], values)
            if inner:
                out.append({"type": 18, "id": c.get("id", 0), "component": inner[0]})
        elif t == 4:
            cid = c["custom_id"]
            out.append(
                {
                    "type": 4,
                    "id": c.get("id", 0),
                    "custom_id": cid,
                    "value": str(values.get(cid, c.get("value") or "")),
                }
            )
        elif t in _SELECT_TYPES:
            cid = c["custom_id"]
            picked = values.get(cid, [])
            picked = [picked] if isinstance(picked, str) else list(picked)
            out.append(
                {
                    "type": t,
                    "id": c.get("id", 0),
                    "custom_id": cid,
                    "values": [str(v) for v in picked],
                }
            )
    return out
