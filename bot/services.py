"""The core services, built once in `main()` and handed to the bot (and from it to the cogs).

Cogs share state only through these, never through each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from .breaks.service import BreakService
from .clock import Clock
from .db import Database
from .export import GuildExporter
from .features import Feature
from .guilds import GuildService
from .helpdesk.ledger import HelpdeskService
from .journal.service import Journal
from .outbox import Outbox
from .outbox.runner import LONGEST_SLEEP
from .pairing.service import PairingService
from .privacy.data import MemberDataEngine
from .privacy.departures import Departures
from .privacy.reconcile import MemberReconcile
from .privacy.rules import merge_rules
from .prompts.service import PromptService
from .scheduler import Scheduler
from .shards import SINGLE_PROCESS, ShardPlan


@dataclass(frozen=True, slots=True)
class Services:
    """Every core service, built once and handed to the bot, so cogs get them injected."""

    db: Database
    scheduler: Scheduler
    clock: Clock
    outbox: Outbox
    guilds: GuildService
    prompts: PromptService
    helpdesk: HelpdeskService
    pairing: PairingService
    member_data: MemberDataEngine
    departures: Departures
    reconcile: MemberReconcile
    exporter: GuildExporter
    breaks: BreakService
    journal: Journal

    @property
    def features(self) -> tuple[Feature, ...]:
        """The features in the order `/about` and `/admin show` list them."""
        return (self.prompts, self.pairing, self.helpdesk, self.breaks)


def build_services(
    db: Database, scheduler: Scheduler, clock: Clock, shards: ShardPlan = SINGLE_PROCESS
) -> Services:
    """Every core service, wired together; `shards` says whose guilds this process serves."""
    scope = shards.scope()
    # Every message any feature sends goes through the one outbox (bot/outbox); a process sends
    # only for its own guilds and looks for rows other processes wrote for them now and then.
    outbox = Outbox(db, clock, scope=scope, longest_sleep=shards.poll or LONGEST_SLEEP)
    guilds = GuildService(db, scheduler, clock, scope)
    breaks = BreakService(db, clock, guilds)
    prompts = PromptService(db, scheduler, clock, guilds, outbox, breaks)
    helpdesk = HelpdeskService(db, scheduler, clock, guilds, outbox)
    pairing = PairingService(
        db,
        scheduler,
        clock,
        guilds,
        outbox,
        topics=helpdesk.board.open_topics,
        starters=prompts.conversation_starter,
        breaks=breaks,
    )
    # Privacy asks every feature for its table rules and about a departing member; the lambdas
    # read the final list.
    member_data = MemberDataEngine(
        db, rules=lambda: merge_rules(f.privacy_rules for f in services.features)
    )
    departures = Departures(db, scheduler, clock, member_data, lambda: services.features)
    services = Services(
        db=db,
        scheduler=scheduler,
        clock=clock,
        outbox=outbox,
        guilds=guilds,
        prompts=prompts,
        helpdesk=helpdesk,
        pairing=pairing,
        member_data=member_data,
        departures=departures,
        reconcile=MemberReconcile(scheduler, clock, member_data, departures),
        exporter=GuildExporter(db, clock),
        breaks=breaks,
        journal=Journal(db, clock, outbox),
    )
    return services
