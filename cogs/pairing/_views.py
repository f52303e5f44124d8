"""The intro's buttons (meeting times, check-in answers): their state lives in the custom_id, so
they keep working after a restart and in the private-thread fallback."""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.edge.interactions import reply
from bot.pairing.meetings import NONE_OF_THESE
from bot.pairing.models import ANSWERS, Answer

from .._ui import services_of, shows_errors
from ._render import ANSWER_WORDS, pick_text

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

    def __init__(self, round_id: int, answer: Answer, *, row: int | None = None) -> None:
        label, style = _LABELS[answer]
        super().__init__(
            discord.ui.Button(
                label=label, style=style, custom_id=f"kindred:checkin:{round_id}:{answer}", row=row
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


def meeting_view(
    round_id: int, group_id: int, slots: int, *, checkin: bool = True
) -> discord.ui.View:
    """The intro's buttons: "Works for me" per proposed time and "None of these" on the first
    row, the check-in answers below (a talk pairing has no check-in)."""
    view = discord.ui.View(timeout=None)
    for slot in range(slots):
        view.add_item(SlotButton(group_id, slot))
    view.add_item(SlotButton(group_id, NONE_OF_THESE))
    for answer in ANSWERS if checkin else ():
        view.add_item(CheckinButton(round_id, answer, row=1))
    return view


class SlotButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"kindred:slot:(?P<group>[0-9]+):(?P<slot>[0-9]+|none)",
):
    """One member's pick of a proposed meeting time (or "None of these") for their group; it
    records nothing for anyone outside the group."""

    def __init__(self, group_id: int, slot: int) -> None:
        none = slot == NONE_OF_THESE
        super().__init__(
            discord.ui.Button(
                label="None of these" if none else f"{slot + 1}: Works for me",
                style=discord.ButtonStyle.secondary if none else discord.ButtonStyle.primary,
                custom_id=f"kindred:slot:{group_id}:{'none' if none else slot}",
                row=0,
            )
        )
        self.group_id = group_id
        self.slot = slot

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> SlotButton:
        slot = NONE_OF_THESE if match["slot"] == "none" else int(match["slot"])
        return cls(int(match["group"]), slot)

    @shows_errors
    async def callback(self, interaction: discord.Interaction) -> None:
        meetings = services_of(interaction).pairing.meetings
        ack = await meetings.pick(self.group_id, interaction.user.id, self.slot)
        await reply(interaction, pick_text(ack))
