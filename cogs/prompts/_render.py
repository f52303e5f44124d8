"""How prompts look on Discord: the daily post, its thread, links, and failure reasons."""

from __future__ import annotations

from datetime import date

import discord

from bot.prompts.pool import PoolPrompt
from bot.prompts.records import PromptPost

COLOR = discord.Color.teal()
THREAD_NAME_LIMIT = 100


def prompt_embed(text: str, theme: str, local_date: date) -> discord.Embed:
    """The daily post: the prompt as the description (embeds never ping), its theme below."""
    embed = discord.Embed(title="Today's growth prompt", description=text, color=COLOR)
    embed.add_field(name="Theme", value=theme)
    embed.set_footer(text=f"{local_date:%A %d %B %Y} · growth, not perfection")
    return embed


def thread_name(text: str, local_date: date) -> str:
    """A thread name that says which day and which prompt, within Discord's 100 characters."""
    name = f"{local_date:%d %b}: {' '.join(text.split())}"
    return name if len(name) <= THREAD_NAME_LIMIT else name[: THREAD_NAME_LIMIT - 1] + "…"


def jump_url(guild_id: int, channel_id: int, message_id: int) -> str:
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"


def post_links(post: PromptPost) -> str:
    """Where a sent post is: a jump link to the message and a mention of its thread."""
    assert post.channel_id is not None and post.message_id is not None
    text = f"[Go to the post]({jump_url(post.guild_id, post.channel_id, post.message_id)})"
    if post.thread_id:
        text += f" · answer in <#{post.thread_id}>"
    return text


def shorten(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def pool_line(prompt: PoolPrompt) -> str:
    kind = "built-in" if prompt.builtin else "custom"
    if prompt.hidden:
        state = "hidden"
    else:
        state = "used this cycle" if prompt.used_in_cycle else "not used yet"
    return f"`{prompt.prompt_id}` · {prompt.theme} · {kind} · {state}\n{shorten(prompt.text, 110)}"
