"""The round's input as arrays over pool positions, and per-edge lookups of the objective.

Why a module: every solver reads the same prepared input - sorted pool ids, history, blocks,
favoured members, topic bit masks and the coming week's availability in UTC - and asks the same
questions of it (is this pair blocked, how long ago did they meet, how many askers does it
satisfy, how many minutes are they both free).

Every pair of pool members becomes the int64 code ``i * n + j`` (``i < j`` are positions in the
sorted pool), so history and blocks are two sorted arrays looked up with ``np.searchsorted``: a
million history entries cost a few MB, not a dict of sets. Only the order of the history values
matters: they become a dense age score (oldest meeting = highest). A mutual "Meet again" pair
is simply dropped from the history: it counts as never-met.

Availability is one (WORDS, n) uint64 array (``availability.utc_week``): the overlap of a pair is
the popcount of the AND of its two columns, computed only for the candidate edges asked about,
one word at a time (a 1-D gather of one word per member is cache-friendly; gathering whole rows
is several times slower).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import chain

import numpy as np

from ._weights import AGE_MAX, GOOD_OVERLAP, Edges
from .availability import Schedule, utc_week
from .match_types import MatchInput


class Pool:
    """The round's input as arrays over pool positions ``0..n-1`` (sorted member ids)."""

    def __init__(self, inp: MatchInput) -> None:
        ids = unique(np.fromiter((int(m) for m in inp.members), dtype=np.int64))
        self.ids = ids
        self.n = n = len(ids)
        self.index = IdIndex(ids)
        self.rng = np.random.default_rng(int(inp.seed) % (1 << 64))

        self.blocked_codes = self._codes(inp.blocked)
        self.meet_again_codes = self._codes(inp.meet_again)
        self.met_codes, self.met_age = self._history(inp.last_met)
        self.words = self._week(inp)

        self.favoured = np.zeros(n, dtype=np.int64)
        if inp.favoured and n:
            fpos, ok = self.positions(np.fromiter(inp.favoured, dtype=np.int64))
            self.favoured[fpos[ok]] = 1

        # Topics that someone in the pool asks about and someone else offers: bit masks.
        asks = {int(m): frozenset(t) for m, t in inp.asks.items()}
        offers = {int(m): frozenset(t) for m, t in inp.offers.items()}
        idset = set(ids.tolist())
        asked = set(chain.from_iterable(t for m, t in asks.items() if m in idset))
        offered = set(chain.from_iterable(t for m, t in offers.items() if m in idset))
        topics = sorted(asked & offered)
        self.asks, self.offers = asks, offers
        self.topic_index = {t: k for k, t in enumerate(topics)}
        words = max(1, (len(topics) + 63) // 64)
        self.has_topics = bool(topics)
        self.ask_pos, self.ask_topic = self._topic_pairs(asks)
        self.offer_pos, self.offer_topic = self._topic_pairs(offers)
        self.ask_mask = self._mask(words, self.ask_pos, self.ask_topic)
        self.offer_mask = self._mask(words, self.offer_pos, self.offer_topic)

    def _history(self, last_met: Mapping[tuple[int, int], float]) -> tuple[np.ndarray, np.ndarray]:
        """Sorted codes of pairs that met (mutual "Meet again" pairs removed) and their age
        score: dense over the history's times, the latest 1, older ones higher (capped at
        ``AGE_MAX``)."""
        codes, when = self._pairs(last_met.keys(), len(last_met), last_met.values())
        if not len(codes):
            return codes, np.zeros(0, dtype=np.int64)
        times = unique(when)
        rank = np.searchsorted(times, when)  # 0 = the oldest meeting
        # By code, then time (one int64 key sorts 3x faster than np.lexsort), to keep each
        # pair's latest meeting.
        if self.n * self.n * len(times) < 1 << 62:
            order = np.argsort(codes * len(times) + rank)
        else:  # very many distinct times in a very large pool
            order = np.lexsort((rank, codes))
        codes, rank = codes[order], rank[order]
        keep = np.ones(len(codes), dtype=bool)
        keep[:-1] = codes[1:] != codes[:-1]
        keep &= ~member(self.meet_again_codes, codes)
        age = (len(times) - rank[keep]).astype(np.int64)
        return codes[keep], np.minimum(age, AGE_MAX)

    def _codes(self, pairs: Iterable[tuple[int, int]]) -> np.ndarray:
        """Sorted distinct codes of the in-pool pairs among ``pairs``."""
        size = len(pairs) if hasattr(pairs, "__len__") else -1  # type: ignore[arg-type]
        codes, _ = self._pairs(pairs, size, None)
        return unique(codes)

    def _week(self, inp: MatchInput) -> np.ndarray | None:
        """The coming week's availability in UTC, (WORDS, n) uint64; None without a week."""
        if inp.week_start is None:
            if inp.schedules:
                raise ValueError("schedules are given but no week_start to lay them on")
            return None
        default = Schedule(inp.default_zone)
        get = inp.schedules.get
        return utc_week([get(m, default) for m in self.ids.tolist()], inp.week_start)

    def _topic_pairs(
        self, by_member: Mapping[int, frozenset[str]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(pool position, topic index) for every relevant topic of every pool member."""
        index = self.topic_index
        pairs = [(m, index[t]) for m, ts in by_member.items() for t in ts if t in index]
        if not pairs:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        arr = np.array(pairs, dtype=np.int64)
        pos, ok = self.positions(arr[:, 0])
        return pos[ok], arr[ok, 1]

    def _mask(self, words: int, pos: np.ndarray, topic: np.ndarray) -> np.ndarray:
        mask = np.zeros((self.n, words), dtype=np.uint64)
        bits = np.left_shift(np.uint64(1), (topic % 64).astype(np.uint64))
        np.bitwise_or.at(mask, (pos, topic // 64), bits)
        return mask

    def positions(self, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pool positions of ``members`` (0 where absent) and whether each is in the pool."""
        pos = self.index.find(members)
        ok = pos >= 0
        return np.maximum(pos, 0), ok

    def _pairs(
        self, pairs: Iterable[tuple[int, int]], size: int, values: Iterable[float] | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Pair codes ``i * n + j`` (``i < j``) of in-pool pairs, and their values if given."""
        if size == 0 or self.n == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        if size < 0:
            pairs = list(pairs)
            size = len(pairs)
        flat = np.fromiter(chain.from_iterable(pairs), dtype=np.int64, count=2 * size)
        pos, ok = self.positions(flat)
        pos[~ok] = -1
        flat = pos.reshape(size, 2)
        vals = (
            np.fromiter(values, dtype=np.float64, count=size)
            if values is not None
            else np.zeros(size, dtype=np.float64)
        )
        a, b = flat[:, 0], flat[:, 1]
        ok = (a >= 0) & (b >= 0) & (a != b)
        a, b, vals = a[ok], b[ok], vals[ok]
        return np.minimum(a, b) * self.n + np.maximum(a, b), vals

    # ---- per-edge features ------------------------------------------------------------------

    def code(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """One integer per unordered pair of positions, to look pairs up in sorted arrays."""
        return np.minimum(u, v).astype(np.int64) * self.n + np.maximum(u, v)

    def is_blocked(self, codes: np.ndarray) -> np.ndarray:
        """Whether each pair code is a pair that must never be matched (an avoid)."""
        return member(self.blocked_codes, codes)

    def age(self, codes: np.ndarray) -> np.ndarray:
        """0 for never met, else the age score (oldest meeting = highest)."""
        if not len(self.met_codes):
            return np.zeros(len(codes), dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.met_codes, codes), len(self.met_codes) - 1)
        return np.where(self.met_codes[pos] == codes, self.met_age[pos], 0)

    def topic(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Satisfied askers in the pair: 0, 1 or 2."""
        if not self.has_topics:
            return np.zeros(len(u), dtype=np.int64)
        uv = np.any(self.ask_mask[u] & self.offer_mask[v], axis=1)
        vu = np.any(self.ask_mask[v] & self.offer_mask[u], axis=1)
        return np.add(uv, vu, dtype=np.int64)

    def overlap(self, *groups: np.ndarray) -> np.ndarray:
        """Quarter-hours of the week when all members ``groups[0][k], groups[1][k], ...`` are
        free, for each ``k`` (0 everywhere without a week)."""
        total = np.zeros(len(groups[0]), dtype=np.int64)
        if self.words is None:
            return total
        for word in self.words:
            common = word.take(groups[0])
            for g in groups[1:]:
                common &= word.take(g)
            total += np.bitwise_count(common)
        return total

    def overlap_matrix(self, rows: np.ndarray) -> np.ndarray:
        """Quarter-hours each of ``rows`` shares with every pool member: (len(rows), n)."""
        total = np.zeros((len(rows), self.n), dtype=np.int64)
        if self.words is None:
            return total
        for word in self.words:
            total += np.bitwise_count(word[rows, None] & word[None, :])
        return total

    def features(self, u: np.ndarray, v: np.ndarray) -> Edges:
        """The scoring features of each candidate pair (u[i], v[i]) for the engine."""
        codes = self.code(u, v)
        age = self.age(codes)
        overlap = self.overlap(u, v)
        good = overlap >= GOOD_OVERLAP if self.words is not None else np.ones(len(u), dtype=bool)
        return Edges(
            u=u,
            v=v,
            fav=self.favoured[u] + self.favoured[v],
            new=(age == 0).astype(np.int64),
            good=good.astype(np.int64),
            topic=self.topic(u, v),
            overlap=overlap,
            age=age,
        )


class IdIndex:
    """Pool positions of member ids: a vectorised open-addressing hash table.

    Why not ``np.searchsorted`` on the sorted ids: the history and the blocks of a large pool
    are millions of ids in random order, and a binary search per id (17 cache-missing steps
    for 100,000 members) costs about three times the one or two probes of a half-full table
    (measured: 0.22 s against 0.08 s per 2 million ids).
    """

    _MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: 2**64 / golden ratio

    def __init__(self, ids: np.ndarray) -> None:
        self.ids = ids
        bits = max(4, (2 * len(ids)).bit_length())
        self._mask = (1 << bits) - 1
        self._shift = np.uint64(64 - bits)
        self._table = np.full(1 << bits, -1, dtype=np.int64)
        slot = self._slots(ids)
        pending = np.arange(len(ids), dtype=np.int64)
        while len(pending):  # linear probing, one probe for every pending id at a time
            free = np.flatnonzero(self._table[slot[pending]] < 0)
            # Of the ids probing the same free slot, the first takes it.
            taken, first = np.unique(slot[pending[free]], return_index=True)
            self._table[taken] = pending[free[first]]
            placed = np.zeros(len(pending), dtype=bool)
            placed[free[first]] = True
            pending = pending[~placed]
            slot[pending] = (slot[pending] + 1) & self._mask

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        hashed = (keys.astype(np.int64).view(np.uint64) * self._MULTIPLIER) >> self._shift
        return hashed.astype(np.int64)

    def find(self, keys: np.ndarray) -> np.ndarray:
        """Position of each key in ``ids``, or -1."""
        found = np.full(len(keys), -1, dtype=np.int64)
        if not len(self.ids):
            return found
        slot = self._slots(keys)
        active = np.arange(len(keys), dtype=np.int64)
        while len(active):
            entry = self._table[slot[active]]
            hit = (entry >= 0) & (self.ids[np.maximum(entry, 0)] == keys[active])
            found[active[hit]] = entry[hit]
            active = active[~hit & (entry >= 0)]  # an empty slot ends the search: absent
            slot[active] = (slot[active] + 1) & self._mask
        return found


def unique(arr: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sort-based: faster than ``np.unique``'s hashing here)."""
    s = np.sort(arr)
    if len(s) < 2:
        return s
    keep = np.ones(len(s), dtype=bool)
    keep[1:] = s[1:] != s[:-1]
    return s[keep]


def member(sorted_arr: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Vectorised `x in sorted_arr` for each element of `x` (binary search)."""
    if not len(sorted_arr):
        return np.zeros(len(x), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_arr, x), len(sorted_arr) - 1)
    return sorted_arr[pos] == x
