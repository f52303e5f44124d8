"""A wire-level fake Discord (REST + gateway) for Kindred's end-to-end tests.

The real discord.py client connects to it over HTTP/websockets on 127.0.0.1, so every payload
passes through discord.py's own parsers. Quick start::

    fake = FakeDiscord()                      # app/bot user id 9000
    fake.add_guild(G, "Guild", owner_id=OWNER)
    fake.add_channel(G, 1001, "general")
    await fake.start(); point_discord_py_at(fake.url)
    ... start the bot, await fake.wait_until_connected() ...
    h = await fake.invoke(G, user_id, "admin prompts add", text="Hi")
    msg = await h.response(); assert msg.ephemeral

Setup (sync): ``add_guild, add_channel, delete_channel, add_role, add_member, add_user,
set_dms_closed, deny_send, set_overwrite, add_attachment, advance_clock`` (the fake's own clock:
nonces are forgotten after ``nonce_window`` seconds on it).
Events (async): ``member_join, member_leave, channel_deleted, channel_updated, dispatch,
drop_gateway``. Interactions (async): ``invoke, autocomplete, click, submit_modal`` return an
:class:`InteractionHandle` (``response(), followups(n), ack(), messages, ephemeral, deferred,
modal, choices``). Observation: ``messages, dms_to, channel_messages, threads, commands,
sync_counts, requests, count_429, worst_invalid_window, unknown_requests, wait_for,
wait_for_message``; ``message_attempts, attempts_to, dm_attempts_to`` record every
message-create request *before* nonce dedupe (count what the bot sent, not what was kept).
Faults: ``latency, set_global_rate_limit, inject_429, inject_faults, hold_answers`` (carry a
request out, then hold its answer so a test can kill the bot meanwhile; see ``held``).

Pytest fixtures live in :mod:`tests.fakediscord.fixtures`: ``fake_discord`` (started fake with
the standard world, discord.py pointed at it) and ``discord_client`` (a ready plain Client);
``running(client)`` starts any Client/Bot until ready and closes it; ids are in ``World``.
:mod:`tests.fakediscord.demo_bot` is a small worked example of a bot driven by the fake.
A subprocess bot uses ``sitecustomize/`` on PYTHONPATH plus ``KINDRED_FAKE_DISCORD_URL``.
Note: discord.py waits 5 s before a non-initial IDENTIFY (``Client.before_identify_hook``).
"""

from .handle import InteractionHandle
from .models import FakeAttachment, FakeMessage
from .server import FakeDiscord, point_discord_py_at

__all__ = [
    "FakeAttachment",
    "FakeDiscord",
    "FakeMessage",
    "InteractionHandle",
    "point_discord_py_at",
]
