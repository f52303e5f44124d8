"""The prompt commands as members and admins use them, through the fake Discord."""

from tests.fakediscord.fixtures import World

MEMBER = World.MEMBERS[0]


async def test_schedule_then_post_now_then_prompt_today_links_to_the_post(kindred):
    bad = await kindred.reply(
        World.ADMIN, "admin prompts schedule", channel=World.PROMPTS, time="7pm"
    )
    assert bad.ephemeral and "24-hour HH:MM" in bad.content
    before = await kindred.reply(MEMBER, "prompt today")
    assert "not running" in before.content

    await kindred.reply(World.ADMIN, "admin prompts schedule", channel=World.PROMPTS, time="13:00")
    waiting = await kindred.reply(MEMBER, "prompt today")
    assert waiting.ephemeral and "not out yet" in waiting.content and "<t:" in waiting.content

    handle = await kindred.invoke(World.ADMIN, "admin prompts post-now")
    [done] = await handle.followups(1)
    assert "today's prompt" in done.content
    [post] = [m for m in kindred.fake.channel_messages(World.PROMPTS) if m.nonce]

    today = await kindred.reply(MEMBER, "prompt today")
    assert today.ephemeral
    assert f"/channels/{World.GUILD}/{World.PROMPTS}/{post.id}" in today.content
    assert f"<#{post.id}>" in today.content  # the thread
    assert today.embeds[0]["description"] == post.embeds[0]["description"]


async def test_members_cannot_use_admin_prompt_commands(kindred):
    refused = await kindred.reply(MEMBER, "admin prompts add", text="Sneaky?")
    assert refused.ephemeral and "Manage Server" in refused.content
    assert await kindred.services.prompts.pool.customs(World.GUILD) == []


async def test_a_suggestion_reviewed_and_approved_joins_the_pool_and_dms_the_suggester(kindred):
    thanks = await kindred.reply(MEMBER, "prompt suggest", text="What small routine saves you?")
    assert thanks.ephemeral and "waiting for the admins' review" in thanks.content
    review = await kindred.reply(World.ADMIN, "admin prompts review")
    assert "What small routine saves you?" in review.text
    approve = next(c for c in review.custom_ids() if ":approve:" in c)

    await kindred.restart()  # the buttons keep working after a restart
    refused = await (await kindred.click(review, approve, MEMBER)).response()
    assert "Manage Server" in refused.content

    handle = await kindred.click(review, approve, World.ADMIN)
    [done] = await handle.followups(1)
    assert "approved" in done.content and "was told by DM" in done.content
    [dm] = kindred.fake.dms_to(MEMBER)
    assert "approved" in dm.text and "What small routine saves you?" in dm.text
    pool = await kindred.services.prompts.pool.pool(World.GUILD)
    assert any(p.text == "What small routine saves you?" for p in pool.values())

    again = await (await kindred.click(review, approve, World.ADMIN)).followups(1)
    assert "already approved" in again[0].content
    assert len(kindred.fake.dms_to(MEMBER)) == 1


async def test_import_reports_added_duplicates_and_rejected_lines(kindred):
    data = (
        b"What are you proud of this week?\n"
        b"what are you PROUD of this week?\n" + b"x" * 1001 + b"\n\xff\xfe bad bytes\n"
        b"Who would you like to learn from?\n"
    )
    file = kindred.fake.add_attachment("prompts.txt", data)
    handle = await kindred.invoke(World.ADMIN, "admin prompts import", file=file)
    [report] = await handle.followups(1)
    assert report.ephemeral
    assert "**Added:** 2" in report.content
    assert "1 repeated in the file" in report.content
    assert "**Rejected:** 2" in report.content
    assert "line 3: too long" in report.content and "line 4: not UTF-8" in report.content

    listing = await kindred.reply(World.ADMIN, "admin prompts list", page=9)
    assert "Who would you like to learn from?" in listing.text and "custom" in listing.text
    nxt = await kindred.click(listing, next(c for c in listing.custom_ids()), MEMBER)
    assert "someone else's" in (await nxt.response()).content


async def test_an_attachment_that_cannot_be_downloaded_gets_a_clear_message(kindred):
    file = kindred.fake.add_attachment("prompts.txt", b"A prompt\n")
    handle = await kindred.invoke(World.ADMIN, "admin prompts import", file=file)
    del kindred.fake.files[int(file["id"])]  # gone from the CDN before the bot downloads it
    [report] = await handle.followups(1)
    assert report.ephemeral
    assert "could not download `prompts.txt`" in report.content
    assert "Something went wrong" not in report.content
