"""The insight figures, computed from a guild's `History` (pure: no database, no Discord).

Counts are of rounds, groups, asks and topics; a member appears only as an anonymous node of the
connection graph (`graph.py`), and nothing is counted per member.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from bot.db import Row

from .graph import ConnectionFigures, ConnectionMap, connection_graph, connection_map, met_pairs
from .history import ANSWER, GROUP, MET, NO_ANSWER, NOT_YET, ROUND, SKIPPED, History


@dataclass(frozen=True, slots=True)
class RoundFigures:
    """One pairing round: members placed in a group and what their check-ins said."""

    started_at: datetime
    paired: int
    groups: int
    met: int  # members who answered "We met"
    not_yet: int
    skipped: int
    unanswered: int
    groups_met: int  # groups where someone answered "We met"
    groups_confirmed: int  # groups whose members all picked the same proposed meeting time


@dataclass(frozen=True, slots=True)
class WeekFigures:
    """One week of the help ledger: asks opened, and asks closed by how they closed."""

    start: datetime
    opened: int = 0
    resolved: int = 0
    withdrawn: int = 0
    stale: int = 0
    to_first_helper: timedelta | None = None  # median, over the week's asks that got a helper


@dataclass(frozen=True, slots=True)
class TopicNeed:
    """A topic with open asks and nobody offering it."""

    name: str
    open_asks: int


@dataclass(frozen=True, slots=True)
class Insights:
    """Everything `/admin insights` shows, for one guild and period."""

    since: datetime
    now: datetime
    weeks: int
    rounds: list[RoundFigures]
    asks: list[WeekFigures]
    to_first_helper: timedelta | None  # median over the whole period
    needed_topics: list[TopicNeed]
    connections: ConnectionFigures
    map: ConnectionMap

    @property
    def empty(self) -> bool:
        """Nothing happened yet: no rounds, no asks, nobody in the pool."""
        return (
            not self.rounds
            and not any(w.opened for w in self.asks)
            and not (self.connections.members or self.needed_topics)
        )


def compute_insights(history: History) -> Insights:
    """All the figures for `history` (run in a worker thread: it walks every assignment)."""
    graph = connection_graph([row[0] for row in history.pool], met_pairs(history.assignments))
    weeks, overall = ask_weeks(history)
    return Insights(
        since=history.since,
        now=history.now,
        weeks=history.weeks,
        rounds=round_figures(history.rounds, history.assignments),
        asks=weeks,
        to_first_helper=overall,
        needed_topics=[TopicNeed(name, count) for name, count in history.needed_topics],
        connections=graph.figures,
        map=connection_map(graph),
    )


def round_figures(rounds: Sequence[Row], assignments: np.ndarray) -> list[RoundFigures]:
    """Each round of the period: members in groups, their answers, groups, groups that met."""
    if not rounds:
        return []
    ids = np.array([row[0] for row in rounds], dtype=np.int64)
    table = assignments[np.isin(assignments[:, ROUND], ids)]
    order = np.argsort(ids)
    where = order[np.searchsorted(ids[order], table[:, ROUND])]  # each row's index in `rounds`
    answers = np.zeros((len(ids), 4), dtype=np.int64)
    np.add.at(answers, (where, table[:, ANSWER]), 1)
    round_of_group, group_met = per_group(table, where)
    groups = np.bincount(round_of_group, minlength=len(ids))
    met_groups = np.bincount(round_of_group[group_met], minlength=len(ids))
    return [
        RoundFigures(
            started_at=parse_utc(row[1]),
            paired=int(answers[k].sum()),
            groups=int(groups[k]),
            met=int(answers[k, MET]),
            not_yet=int(answers[k, NOT_YET]),
            skipped=int(answers[k, SKIPPED]),
            unanswered=int(answers[k, NO_ANSWER]),
            groups_met=int(met_groups[k]),
            groups_confirmed=int(row[2]),
        )
        for k, row in enumerate(rounds)
    ]


def per_group(table: np.ndarray, where: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each group in `table`: its round (as in `where`) and whether someone met."""
    groups, first, inverse = np.unique(table[:, GROUP], return_index=True, return_inverse=True)
    met = np.zeros(len(groups), dtype=bool)
    met[inverse[table[:, ANSWER] == MET]] = True
    return where[first], met


def ask_weeks(history: History) -> tuple[list[WeekFigures], timedelta | None]:
    """Asks per week (weeks end at `now`), and the period's median time to a first helper."""
    count = history.weeks
    opened = [0] * count
    closed = {status: [0] * count for status in ("resolved", "withdrawn", "stale")}
    waits: list[list[float]] = [[] for _ in range(count)]

    def week_of(moment: datetime) -> int | None:
        if moment == history.now:  # the last week includes this very moment
            return count - 1
        index = (moment - history.since) // timedelta(weeks=1)
        return index if 0 <= index < count else None

    for created_text, status, closed_text, helped_text in history.asks:
        created = parse_utc(created_text)
        week = week_of(created)
        if week is not None:
            opened[week] += 1
            if helped_text is not None:
                waits[week].append((parse_utc(helped_text) - created).total_seconds())
        if closed_text is not None and status in closed:
            closed_week = week_of(parse_utc(closed_text))
            if closed_week is not None:
                closed[status][closed_week] += 1
    weeks = [
        WeekFigures(
            start=history.since + timedelta(weeks=i),
            opened=opened[i],
            resolved=closed["resolved"][i],
            withdrawn=closed["withdrawn"][i],
            stale=closed["stale"][i],
            to_first_helper=median(waits[i]),
        )
        for i in range(count)
    ]
    return weeks, median([wait for week in waits for wait in week])


def parse_utc(text: str) -> datetime:
    """A stored UTC time (`bot.timeutil.to_db`), parsed by the C ISO parser: `strptime` took
    a tenth of the worker's time over a year of asks."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def median(seconds: list[float]) -> timedelta | None:
    """The median of some durations in seconds, or None when there are none."""
    return timedelta(seconds=statistics.median(seconds)) if seconds else None
