"""Help that becomes a conversation, through the fake Discord: "I can help" opens a private
thread, anonymous asks stay anonymous, closed asks look closed, what helped is shared and found
by `/board search`, and `request_id` autocompletes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.fakediscord.fixtures import World
from tests.fakediscord.models import FakeMessage
from tests.fakediscord.payloads import CREATE_PRIVATE_THREADS

pytestmark = pytest.mark.backends("sqlite", "postgres")

HELPER, ASKER, OTHER, FOURTH = World.MEMBERS[:4]
ASKER_NAME = "member2"  # build_world names MEMBERS[i] "member{i + 1}"


def help_button(message: FakeMessage) -> str:
    return next(c for c in message.custom_ids() if c.startswith("kindred:hd:help:"))


def decide_button(message: FakeMessage, choice: str) -> str:
    return next(c for c in message.custom_ids() if c.endswith(f":{choice}"))


def helper_threads(fake) -> list:
    return [t for t in fake.threads if t.type == 12 and t.parent_id == World.HELP]


async def set_help_channel(kindred) -> None:
    reply = await kindred.reply(World.ADMIN, "admin helpdesk channel", channel=World.HELP)
    assert f"<#{World.HELP}>" in reply.content


async def ask_with_offer(kindred, **options) -> tuple[FakeMessage, FakeMessage]:
    """HELPER offers pbl, ASKER asks about it: the channel post and the helper's DM."""
    fake = kindred.fake
    await set_help_channel(kindred)
    await kindred.reply(HELPER, "offer", topic="pbl")
    asked = await kindred.reply(
        ASKER, "ask", topic="pbl", details="How do I grade a group project?", **options
    )
    assert asked.ephemeral and "`A2`" in asked.content
    post = await fake.wait_for_message(lambda m: m.channel_id == World.HELP)
    dm = await fake.wait_for_message(lambda m: m in fake.dms_to(HELPER))
    return post, dm


async def test_i_can_help_opens_one_private_thread_with_both_quoting_the_ask(kindred):
    fake = kindred.fake
    post, dm = await ask_with_offer(kindred)

    pressed = await (await kindred.click(post, help_button(post), OTHER)).response()
    await kindred.settle()
    [thread] = helper_threads(fake)
    assert thread.thread_member_ids >= {ASKER, OTHER}
    assert HELPER not in thread.thread_member_ids and not thread.invitable
    first = fake.channel_messages(thread.id)[0]
    assert "How do I grade a group project?" in first.text and "pbl" in first.text
    assert f"<@{OTHER}> offered to help" in first.content
    assert set(first.pinged_user_ids) == {ASKER, OTHER} and not first.pings_everyone
    assert f"<#{thread.id}>" in pressed.content or "on its way" in pressed.content

    again = await (await kindred.click(post, help_button(post), OTHER)).response()
    await kindred.settle()
    assert len(helper_threads(fake)) == 1
    assert "already offered" in again.content and f"<#{thread.id}>" in again.content

    # From the helper's DM: a thread of their own with the asker.
    from_dm = await (await kindred.click(dm, help_button(dm), HELPER)).response()
    await kindred.settle()
    assert len(helper_threads(fake)) == 2
    theirs = next(t for t in helper_threads(fake) if t.id != thread.id)
    assert theirs.thread_member_ids >= {ASKER, HELPER} and OTHER not in theirs.thread_member_ids
    assert "private thread" in from_dm.content
    # Nothing public about who offered, and no DM to the asker: the thread is the news.
    assert len(fake.channel_messages(World.HELP)) == 1
    assert fake.dms_to(ASKER) == []


async def test_a_members_thread_with_the_same_name_is_never_adopted(kindred):
    fake = kindred.fake
    post, _ = await ask_with_offer(kindred)
    decoy = await fake.thread_opened_by(FOURTH, World.HELP, "Help A2 · 1")
    await kindred.settle()

    await (await kindred.click(post, help_button(post), OTHER)).response()
    await kindred.settle()
    [thread] = helper_threads(fake)
    assert thread.id != decoy.id and thread.owner_id == World.BOT
    assert thread.thread_member_ids >= {ASKER, OTHER}
    assert decoy.thread_member_ids == {FOURTH} and fake.channel_messages(decoy.id) == []


async def test_missing_permission_for_private_threads_shows_in_admin_show(kindred):
    fake = kindred.fake
    post, _ = await ask_with_offer(kindred)
    fake.set_overwrite(World.HELP, World.BOT, deny=CREATE_PRIVATE_THREADS)
    await fake.channel_updated(World.HELP)
    await kindred.settle()

    await (await kindred.click(post, help_button(post), OTHER)).response()
    await kindred.settle()
    assert helper_threads(fake) == []
    show = await kindred.reply(World.ADMIN, "admin show")
    assert "missing permission to open threads" in show.text
    assert len(fake.dms_to(ASKER)) == 1 and len(fake.dms_to(OTHER)) >= 1


async def test_a_thread_that_cannot_be_made_means_dms_to_both_and_a_problem_for_admins(kindred):
    fake = kindred.fake
    _, dm = await ask_with_offer(kindred)
    fake.delete_channel(World.HELP)  # Discord answers 404 Unknown Channel from now on

    pressed = await (await kindred.click(dm, help_button(dm), HELPER)).response()
    await kindred.settle()
    assert helper_threads(fake) == []
    to_asker = await fake.wait_for_message(lambda m: m in fake.dms_to(ASKER))
    to_helper = await fake.wait_for_message(
        lambda m: m in fake.dms_to(HELPER) and "directly" in m.content
    )
    assert f"<@{HELPER}>" in to_asker.content and "A2" in to_asker.content
    assert f"<@{ASKER}>" in to_helper.content
    assert pressed.ephemeral
    show = await kindred.reply(World.ADMIN, "admin show")
    assert "A2" in show.text and "private helper thread" in show.text


async def test_an_anonymous_ask_never_names_its_asker_and_opens_a_thread_only_on_open(kindred):
    fake = kindred.fake
    _, dm = await ask_with_offer(kindred, anonymous=True)
    board = await kindred.reply(OTHER, "board")
    assert "`A2`" in board.text

    pressed = await (await kindred.click(dm, help_button(dm), HELPER)).response()
    assert "asker has been told" in pressed.content
    consent = await fake.wait_for_message(lambda m: m in fake.dms_to(ASKER))
    assert f"<@{HELPER}>" in consent.content
    await kindred.settle()
    assert helper_threads(fake) == []  # nothing until the asker chooses

    # Everything members could see so far, every revision of every message, names nobody.
    for message in fake.messages:
        if message in fake.dms_to(ASKER):
            continue  # the asker's own DMs
        seen = json.dumps(message.revisions)
        assert str(ASKER) not in seen and ASKER_NAME not in seen, message.text

    opened = await (await kindred.click(consent, decide_button(consent, "open"), ASKER)).response()
    await kindred.settle()
    [thread] = helper_threads(fake)
    assert thread.thread_member_ids >= {ASKER, HELPER}
    assert f"<#{thread.id}>" in opened.content or "on its way" in opened.content
    first = fake.channel_messages(thread.id)[0]
    assert "How do I grade a group project?" in first.text
    assert str(ASKER) not in json.dumps(first.revisions)

    # The owner still resolves it, and the board never named them.
    board = await kindred.reply(OTHER, "board", search="group project")
    assert str(ASKER) not in json.dumps(board.revisions) and "Someone" in board.text
    done = await kindred.reply(ASKER, "resolve", request_id="A2", helper=HELPER, note="Thanks!")
    assert "resolved" in done.content
    thanks = await fake.wait_for_message(lambda m: m in fake.dms_to(HELPER) and "Thanks!" in m.text)
    assert "The member who asked" in thanks.content and str(ASKER) not in thanks.content


async def test_no_thanks_opens_nothing(kindred):
    fake = kindred.fake
    post, _ = await ask_with_offer(kindred, anonymous=True)
    await (await kindred.click(post, help_button(post), OTHER)).response()
    consent = await fake.wait_for_message(lambda m: m in fake.dms_to(ASKER))
    opening, declining = decide_button(consent, "open"), decide_button(consent, "no")
    stranger = await (await kindred.click(consent, opening, OTHER)).response()
    assert "Only the member who asked" in stranger.content
    declined = await (await kindred.click(consent, declining, ASKER)).response()
    assert "not told who asked" in declined.content
    await kindred.settle()
    assert helper_threads(fake) == []


async def test_an_anonymous_asker_with_closed_dms_gets_a_thread_of_their_own_first(kindred):
    fake = kindred.fake
    post, _ = await ask_with_offer(kindred, anonymous=True)
    fake.set_dms_closed(ASKER)

    await (await kindred.click(post, help_button(post), OTHER)).response()
    await kindred.settle()
    [thread] = helper_threads(fake)
    assert ASKER in thread.thread_member_ids and OTHER not in thread.thread_member_ids
    question = fake.channel_messages(thread.id)[0]
    assert "someone offered to help" in question.content
    assert str(OTHER) not in question.content

    await (await kindred.click(question, decide_button(question, "open"), ASKER)).response()
    await kindred.settle()
    assert OTHER in thread.thread_member_ids and len(helper_threads(fake)) == 1
    intro = fake.channel_messages(thread.id)[-1]
    assert f"<@{OTHER}>" in intro.content and str(ASKER) not in json.dumps(intro.revisions)


async def test_a_resolved_ask_looks_closed_shows_what_helped_and_is_found(kindred):
    fake = kindred.fake
    post, _ = await ask_with_offer(kindred)
    await kindred.reply(ASKER, "ask", topic="math", details="Fractions that stick")
    await kindred.settle()
    await kindred.advance(timedelta(hours=48))  # both asks are bumped
    bumps = [m for m in fake.channel_messages(World.HELP) if "Still looking" in m.content]
    bump = next(m for m in bumps if "Fractions" in m.text)

    done = await kindred.reply(
        ASKER,
        "resolve",
        request_id="A2",
        helper=HELPER,
        summary="A single-point rubric, graded with <@&1010> @everyone",
        share=True,
    )
    assert "shown on its post" in done.content
    await kindred.reply(ASKER, "withdraw", request_id="A3")
    await kindred.settle()

    assert post.edits >= 1
    assert "Resolved" in post.text and "single-point rubric" in post.text
    assert "What helped" in post.text and f"<@{HELPER}>" not in post.text
    assert all(c.get("disabled") for row in post.components for c in row["components"])
    assert "closed" in bump.content and "Withdrawn" in bump.text
    assert all("Resolved" in m.text for m in bumps if m is not bump)
    refused = await (await kindred.click(post, help_button(post), OTHER)).response()
    assert "already resolved" in refused.content
    assert helper_threads(fake) == []

    found = await kindred.reply(OTHER, "board", search="RUBRIC single-point")
    assert "`A2`" in found.text and "What helped" in found.text
    nothing = await kindred.reply(OTHER, "board", search="fractions")
    assert "`A3`" not in nothing.text  # withdrawn asks are not searched


async def test_a_private_summary_stays_off_the_post_and_out_of_search(kindred):
    post, _ = await ask_with_offer(kindred)
    done = await kindred.reply(ASKER, "resolve", request_id="A2", summary="Peer grading")
    assert "kept for you alone" in done.content
    await kindred.settle()
    assert "Resolved" in post.text and "Peer grading" not in post.text
    found = await kindred.reply(OTHER, "board", search="peer grading")
    assert "`A2`" not in found.text
    mine = await kindred.reply(ASKER, "privacy show")
    [attachment] = mine.attachments
    [ask] = json.loads(attachment.data)["tables"]["helpdesk_asks"]
    assert ask["summary"] == "Peer grading" and ask["summary_shared"] == 0


async def test_search_folds_case_and_accents_and_answers_any_input_cleanly(kindred):
    await kindred.reply(ASKER, "ask", topic="Évaluation", details="Grading rubrics for Année 6")
    await kindred.reply(OTHER, "ask", topic="pbl", details="Something else entirely")
    found = await kindred.reply(FOURTH, "board", search="annee RUBRICS evaluation")
    assert "`A1`" in found.text and "`A2`" not in found.text
    for text in ('"', "*", "NEAR(", "-", ":", 'rubrics" OR "x', "grading*", "a" * 500, "é " * 250):
        answer = await kindred.reply(FOURTH, "board", search=text)
        assert answer.ephemeral
        assert "Something went wrong" not in answer.text, text


async def test_request_id_autocompletes_own_open_requests_and_an_admins_sees_all(kindred):
    await kindred.reply(ASKER, "ask", topic="pbl", details="Mine")
    await kindred.reply(ASKER, "offer", topic="math")
    await kindred.reply(OTHER, "ask", topic="art", details="Theirs")
    await kindred.reply(ASKER, "ask", topic="music", details="Closed soon")
    await kindred.reply(ASKER, "withdraw", request_id="A4")

    def values(choices: list[dict]) -> list[str]:
        return [c["value"] for c in choices]

    fake = kindred.fake
    resolve = await fake.autocomplete(World.GUILD, ASKER, "resolve", focused="request_id")
    assert values(resolve) == ["A1"] and "pbl" in resolve[0]["name"]
    withdraw = await fake.autocomplete(World.GUILD, ASKER, "withdraw", focused="request_id")
    assert values(withdraw) == ["O2", "A1"]
    typed = await fake.autocomplete(
        World.GUILD, ASKER, "withdraw", focused="request_id", request_id="mat"
    )
    assert values(typed) == ["O2"]
    admin = await fake.autocomplete(World.GUILD, World.ADMIN, "resolve", focused="request_id")
    assert values(admin) == ["A3", "A1"]
