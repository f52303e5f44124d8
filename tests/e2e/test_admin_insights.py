"""/admin insights through the fake Discord: an admin's picture and figures; a member refused."""

from __future__ import annotations

import io
from datetime import timedelta

import numpy as np
import pytest
from matplotlib import image

from tests.fakediscord.fixtures import World
from tests.support.history import GuildHistory

pytestmark = pytest.mark.backends("sqlite", "postgres")


def seeded_history(now) -> GuildHistory:
    """Two weekly rounds of the world's members (a pair met in each) and an open ask."""
    history = GuildHistory(World.GUILD, now - timedelta(weeks=4))
    a, b, c, d, e = World.MEMBERS
    for member in World.MEMBERS:
        history.member(member)
    history.round(now - timedelta(weeks=2), [(a, b), (c, d, e)], {a: "met", c: "not_yet"})
    history.round(now - timedelta(weeks=1), [(a, c), (b, d, e)], {c: "met", d: "skipped"})
    history.ask(now - timedelta(days=1), "pbl", user_id=a)  # nobody offers pbl
    return history


async def test_an_admin_gets_an_ephemeral_picture_with_the_figures_as_text(kindred):
    assert kindred.services is not None
    await seeded_history(kindred.clock.now()).write(kindred.services.db)

    handle = await kindred.invoke(World.ADMIN, "admin insights", weeks=4)
    assert await handle.ack() == 5  # deferred first: drawing takes a moment
    message = await handle.response()
    assert message.ephemeral
    picture = next(a for a in message.attachments if a.filename.endswith(".png"))
    pixels = image.imread(io.BytesIO(picture.data), format="png")
    assert pixels.shape[:2] == (1000, 1600)
    assert np.asarray(pixels)[..., :3].std() > 0.05  # not a blank canvas
    assert picture.description and "connections" in picture.description

    text = message.content
    assert "Kindred insights for **Educators**" in text
    assert "2 rounds, 4 groups; 50% of groups met" in text
    assert "1 opened" in text and "pbl (1 open ask)" in text
    assert "60% have met at least one other member; 1 cluster, the largest of 3" in text
    details = next(a for a in message.attachments if a.filename.endswith(".txt"))
    assert details.data.decode().count("check-ins: We met") == 2
    for member in (*World.MEMBERS, World.ADMIN):  # nobody is named, in any form
        assert str(member) not in text and str(member) not in details.data.decode()
        assert f"<@{member}>" not in text


async def test_an_empty_server_gets_a_friendly_picture(kindred):
    message = await kindred.reply(World.ADMIN, "admin insights")
    assert message.ephemeral and "Nothing to show yet" in message.content
    picture = next(a for a in message.attachments if a.filename.endswith(".png"))
    assert image.imread(io.BytesIO(picture.data), format="png").shape[:2] == (1000, 1600)


async def test_a_member_without_manage_server_is_refused(kindred):
    message = await kindred.reply(World.MEMBERS[0], "admin insights")
    assert message.ephemeral and "Manage Server" in message.content
    assert not message.attachments
