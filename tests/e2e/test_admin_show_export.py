"""/admin show and /admin export through the fake Discord, as an admin would use them."""

import gzip
import json

from tests.fakediscord.fixtures import World


async def test_a_non_admins_admin_show_is_refused_even_when_delivered(kindred):
    message = await kindred.reply(World.MEMBERS[0], "admin show")
    assert message.ephemeral and "Manage Server" in message.content
    assert not message.embeds


async def test_admin_show_lists_every_setting_with_mentions_and_next_times(kindred):
    await kindred.reply(World.ADMIN, "admin timezone", name="America/Chicago")
    await kindred.reply(World.ADMIN, "admin prompts schedule", channel=World.PROMPTS, time="08:00")
    await kindred.reply(World.ADMIN, "admin helpdesk channel", channel=World.HELP)
    message = await kindred.reply(World.ADMIN, "admin show")
    assert message.ephemeral
    fields = {f["name"]: f["value"] for f in message.embeds[0]["fields"]}
    assert fields["Timezone"] == "America/Chicago"
    prompts = next(v for k, v in fields.items() if "prompt" in k.lower())
    assert f"<#{World.PROMPTS}>" in prompts and "<t:" in prompts  # format_dt of the next post
    helpdesk = next(v for k, v in fields.items() if "help" in k.lower())
    assert f"<#{World.HELP}>" in helpdesk
    assert fields["Problems"] == "None recorded."


async def test_admin_show_reports_a_prompt_that_could_not_be_posted(kindred):
    await kindred.reply(World.ADMIN, "admin prompts schedule", channel=World.PROMPTS, time="13:00")
    kindred.fake.deny_send(World.PROMPTS)
    await kindred.fake.channel_updated(World.PROMPTS)
    await kindred.advance(3600)
    message = await kindred.reply(World.ADMIN, "admin show")
    problems = {f["name"]: f["value"] for f in message.embeds[0]["fields"]}["Problems"]
    assert problems != "None recorded." and "⚠" in problems


async def test_admin_export_returns_the_guilds_data_as_a_json_file(kindred):
    await kindred.reply(World.ADMIN, "admin helpdesk channel", channel=World.HELP)
    await kindred.reply(World.MEMBERS[0], "ask", topic="PBL", details="Where do I start?")
    handle = await kindred.invoke(World.ADMIN, "admin export")
    assert await handle.ack() == 5  # deferred first: a big guild takes a while
    message = await handle.response()
    assert message.ephemeral and "records" in message.content
    [attachment] = message.attachments
    data = attachment.data
    document = json.loads(gzip.decompress(data) if attachment.filename.endswith(".gz") else data)
    assert document["format"] == "kindred-guild-export"
    assert isinstance(document["schema_version"], int)
    assert document["guild_id"] == World.GUILD
    [ask] = document["tables"]["helpdesk_asks"]["rows"]
    assert ask["user_id"] == World.MEMBERS[0] and ask["details"] == "Where do I start?"
    assert document["tables"]["helpdesk_guilds"]["rows"][0]["channel_id"] == World.HELP
