"""The core services, built once in `main()` and handed to the bot (and from it to the cogs).

Cogs share state only through these, never through each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from .clock import Clock
from .db import Database
from .export import GuildExporter
from .features import Feature
from .guilds import GuildService
from .helpdesk.ledger import HelpdeskService
from .pairing.service import PairingService
from .privacy import PrivacyService
from .prompts.service import PromptService
from .scheduler import Scheduler


@dataclass(frozen=True, slots=True)
class Services:
    db: Database
    scheduler: Scheduler
    clock: Clock
    guilds: GuildService
    prompts: PromptService
    helpdesk: HelpdeskService
    pairing: PairingService
    privacy: PrivacyService
    exporter: GuildExporter

    @property
    def features(self) -> tuple[Feature, ...]:
        """The features in the order `/about` and `/admin show` list them."""
        return (self.prompts, self.pairing, self.helpdesk)


def build_services(db: Database, scheduler: Scheduler, clock: Clock) -> Services:
    guilds = GuildService(db, scheduler, clock)
    prompts = PromptService(db, scheduler, clock, guilds)
    helpdesk = HelpdeskService(db, scheduler, clock, guilds)
    pairing = PairingService(
        db,
        scheduler,
        clock,
        guilds,
        topics=helpdesk.board.open_topics,
        starters=prompts.conversation_starter,
    )
    # Privacy asks every feature about a departing member; the lambda reads the final list.
    privacy = PrivacyService(db, scheduler, clock, features=lambda: services.features)
    services = Services(
        db=db,
        scheduler=scheduler,
        clock=clock,
        guilds=guilds,
        prompts=prompts,
        helpdesk=helpdesk,
        pairing=pairing,
        privacy=privacy,
        exporter=GuildExporter(db, clock),
    )
    return services
