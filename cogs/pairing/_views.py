"""Check-in buttons: the round id and the answer live in the custom_id, so they survive restarts."""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.edge.interactions import reply
from bot.pairing.models import ANSWERS, Answer

from .._ui import services_of, shows_errors
from ._render import ANSWER_WORDS

_LABELS: dict[str, tuple[str, discord.ButtonStyle]] = {
    "met": ("We met", discord.ButtonStyle.success),
    "not_yet": ("Not yet", discord.ButtonStyle.primary),
    "skipped": ("Skip", discord.ButtonStyle.secondary),
}


def checkin_view(round_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for answer in ANSWERS:
        view.add_item(CheckinButton(round_id, answer))
    return view


class CheckinButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"kindred:checkin:(?P<round>[0-9]+):(?P<answer>met|not_yet|skipped)",
):
    """One answer to one round's check-in; only members of that round's groups may answer."""

    def __init__(self, round_id: int, answer: Answer) -> None:
        label, style = _LABELS[answer]
        super().__init__(
            discord.ui.Button(
                label=label, style=style, custom_id=f"kindred:checkin:{round_id}:{answer}"
            )
        )
        self.round_id = round_id
        self.answer: Answer = answer

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> CheckinButton:
        answer = match["answer"]
        assert answer in ANSWERS
        return cls(int(match["round"]), answer)  # type: ignore[arg-type]

    @shows_errors
    async def callback(self, interaction: discord.Interaction) -> None:
        midround = services_of(interaction).pairing.midround
        ack = await midround.answer_checkin(self.round_id, interaction.user.id, self.answer)
        thanks = {
            "met": "Wonderful, thank you for telling me!",
            "not_yet": "No worries, there is still time.",
            "skipped": "Thanks for letting me know; see you next round.",
        }[ack.answer]
        changed = "" if ack.changed else " (that was already your answer)"
        await reply(
            interaction,
            f"Recorded: {ANSWER_WORDS[ack.answer]}{changed}. {thanks} "
            "You can change it with the buttons.",
        )
