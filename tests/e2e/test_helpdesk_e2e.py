"""The help ledger as members and admins use it, through the fake Discord server."""

from __future__ import annotations

from datetime import timedelta

from tests.fakediscord.fixtures import World

HELPER, ASKER, OTHER, FOURTH = World.MEMBERS[:4]


def help_button(message) -> str:
    return next(c for c in message.custom_ids() if c.startswith("kindred:hd:help:"))


async def advance(kindred, delta: timedelta) -> None:
    """Settle first: a scheduler pass still in flight would measure its sleep from the new time
    (a FakeClock race in the shared harness, reported to the lead)."""
    await kindred.settle()
    await kindred.advance(delta)


async def set_help_channel(kindred) -> None:
    reply = await kindred.reply(World.ADMIN, "admin helpdesk channel", channel=World.HELP)
    assert reply.ephemeral and f"<#{World.HELP}>" in reply.content


async def test_an_ask_reaches_the_offerer_the_channel_the_board_and_help_comes_back(kindred):
    fake = kindred.fake
    await set_help_channel(kindred)
    offered = await kindred.reply(HELPER, "offer", topic="PBL ", details="I run PBL units")
    assert offered.ephemeral and "O1" in offered.content

    asked = await kindred.reply(
        ASKER, "ask", topic="pbl", details="How do I grade a group project? @everyone"
    )
    assert asked.ephemeral and "`A2`" in asked.content and "1 member" in asked.content

    # The helper who offered "PBL " gets a DM about the ask on "pbl".
    dm = await fake.wait_for_message(lambda m: m in fake.dms_to(HELPER))
    assert "pbl" in dm.text and "How do I grade a group project?" in dm.text
    assert dm.nonce and len(str(dm.nonce)) <= 25
    # The help channel has the ask, with its button, and nobody is pinged by the text.
    post = await fake.wait_for_message(lambda m: m.channel_id == World.HELP)
    assert "Ask A2" in post.text and not post.pings_everyone and not post.pinged_user_ids
    # The board shows both, newest first.
    board = await kindred.reply(OTHER, "board")
    assert board.ephemeral
    description = board.embeds[0]["description"]
    assert description.index("`A2`") < description.index("`O1`")

    # "I can help" in the channel opens a private thread with the asker (see
    # test_help_conversations.py); the button in the helper's DM works too (it carries the
    # guild, which DMs lack).
    pressed = await kindred.click(post, help_button(post), OTHER)
    thanks = await pressed.response()
    assert thanks.ephemeral and f"<@{ASKER}>" in thanks.content
    from_dm = await (await kindred.click(dm, help_button(dm), HELPER)).response()
    assert f"<@{ASKER}>" in from_dm.content
    await kindred.settle()
    assert len([t for t in fake.threads if t.parent_id == World.HELP]) == 2
    # The asker can't offer help on their own ask.
    own = await (await kindred.click(post, help_button(post), ASKER)).response()
    assert own.ephemeral and "your own ask" in own.content


async def test_resolve_with_a_helper_sends_private_thanks_and_others_cannot_resolve(kindred):
    fake = kindred.fake
    await kindred.reply(ASKER, "ask", topic="Classroom management", details="Noisy Fridays")

    refused = await kindred.reply(OTHER, "resolve", request_id="A1")
    assert refused.ephemeral and "Only the member who posted `A1`" in refused.content

    done = await kindred.reply(
        ASKER, "resolve", request_id="a1", helper=HELPER, note="The seating plan worked!"
    )
    assert done.ephemeral and "resolved" in done.content
    thanks = await fake.wait_for_message(lambda m: m in fake.dms_to(HELPER))
    assert "The seating plan worked!" in thanks.text and "classroom management" in thanks.text
    assert fake.channel_messages(World.GENERAL) == []  # nothing public about the thanks
    board = await kindred.reply(ASKER, "board")
    assert "No open asks or offers" in board.embeds[0]["description"]


async def test_bad_inputs_get_clear_ephemeral_errors_and_the_bot_keeps_running(kindred):
    empty = await kindred.reply(ASKER, "ask", topic="   ", details="Help")
    assert empty.ephemeral and "Give a topic" in empty.content
    long = await kindred.reply(ASKER, "ask", topic="pbl", details="x" * 5000)
    assert long.ephemeral and "at most 1,500 characters; yours has 5,000" in long.content
    unknown = await kindred.reply(ASKER, "withdraw", request_id="A404")
    assert unknown.ephemeral and "no ask or offer `A404`" in unknown.content
    nonsense = await kindred.reply(ASKER, "resolve", request_id="please")
    assert nonsense.ephemeral and "not a request id" in nonsense.content
    # Still running: the next ask works.
    ok = await kindred.reply(ASKER, "ask", topic="pbl", details="Help with rubrics")
    assert "`A1`" in ok.content


async def test_topic_autocomplete_offers_the_guilds_topics_best_first(kindred):
    await kindred.reply(HELPER, "offer", topic="Project-based learning")
    await kindred.reply(HELPER, "offer", topic="Assessment for learning")
    choices = await kindred.fake.autocomplete(
        World.GUILD, ASKER, "ask", focused="topic", topic="asesment"
    )
    assert [c["value"] for c in choices] == ["assessment for learning"]
    choices = await kindred.fake.autocomplete(World.GUILD, ASKER, "board", focused="topic")
    assert [c["value"] for c in choices] == ["assessment for learning", "project-based learning"]


async def test_board_pages_only_for_the_member_who_opened_it(kindred):
    for i in range(10):
        await kindred.reply(ASKER, "ask", topic="pbl", details=f"Question {i}")
    board = await kindred.reply(OTHER, "board")
    assert "Page 1 of 2" in board.text
    ids = board.custom_ids()  # Previous, Next
    stranger = await (await kindred.click(board, ids[1], FOURTH)).response()
    assert stranger.ephemeral and "someone else's" in stranger.content
    paged = await kindred.click(board, ids[1], OTHER)
    await paged.wait_for(lambda h: any("Page 2 of 2" in m.text for m in h.messages))


async def test_an_unanswered_ask_is_bumped_then_reviewed_and_the_buttons_survive_a_restart(
    kindred,
):
    fake = kindred.fake
    await set_help_channel(kindred)
    await kindred.reply(ASKER, "ask", topic="pbl", details="Anyone?")
    await advance(kindred, timedelta(hours=48))
    bumps = [m for m in fake.channel_messages(World.HELP) if "Still looking" in m.content]
    assert len(bumps) == 1

    await advance(kindred, timedelta(days=12))  # day 14: the owner is asked
    review = await fake.wait_for_message(lambda m: m in fake.dms_to(ASKER))
    assert "open for two weeks" in review.content
    await kindred.restart()
    assert len(fake.dms_to(ASKER)) == 1  # the restart repeats nothing
    keep = next(c for c in review.custom_ids() if c.endswith(":keep"))
    kept = await (await kindred.click(review, keep, ASKER)).response()
    assert "Kept open" in kept.content
    await advance(kindred, timedelta(days=8))  # past the stale deadline of the first review
    board = await kindred.reply(ASKER, "board")
    assert "`A1`" in board.embeds[0]["description"]
    assert len([m for m in fake.channel_messages(World.HELP) if "Still looking" in m.content]) == 1


async def test_admin_report_counts_by_topic_and_names_topics_nobody_offers(kindred):
    await kindred.reply(ASKER, "ask", topic="pbl", details="one")
    await kindred.reply(ASKER, "ask", topic="math", details="two")
    await kindred.reply(HELPER, "offer", topic="math")
    await kindred.reply(ASKER, "withdraw", request_id="A2")
    refused = await kindred.reply(ASKER, "admin helpdesk report")
    assert refused.ephemeral and "Manage Server" in refused.content
    report = await kindred.reply(World.ADMIN, "admin helpdesk report")
    assert report.ephemeral
    assert "1 withdrawn" in report.text and "1 open" in report.text
    unmet = next(f for f in report.embeds[0]["fields"] if "nobody offers" in f["name"])
    assert "pbl" in unmet["value"] and "math" not in unmet["value"]
