"""The round's input as arrays over pool positions, and per-edge lookups of the objective.

Why a module: every solver reads the same prepared input - sorted pool ids, history, blocks,
favoured members and topic bit masks - and asks the same questions of it (is this pair blocked,
how long ago did they meet, how many askers does it satisfy).

Every pair of pool members becomes the int64 code ``i * n + j`` (``i < j`` are positions in the
sorted pool), so history and blocks are two sorted arrays looked up with ``np.searchsorted``: a
million history entries cost a few MB, not a dict of sets. Only the order of the history values
matters: they become a dense age score (oldest meeting = highest).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import chain
from typing import TYPE_CHECKING

import numpy as np

from ._weights import AGE_MAX, Edges

if TYPE_CHECKING:
    from .engine import MatchInput


class Pool:
    """The round's input as arrays over pool positions ``0..n-1`` (sorted member ids)."""

    def __init__(self, inp: MatchInput) -> None:
        ids = unique(np.fromiter((int(m) for m in inp.members), dtype=np.int64))
        self.ids = ids
        self.n = n = len(ids)
        self.rng = np.random.default_rng(int(inp.seed) % (1 << 64))
        self.inp = inp

        # History: sorted pair codes, with a dense "age score" (oldest meeting = highest).
        codes, when = self._pairs(inp.last_met.keys(), len(inp.last_met), inp.last_met.values())
        if len(codes):
            order = np.lexsort((when, codes))  # by code, then time: keep each code's latest
            codes, when = codes[order], when[order]
            last = np.ones(len(codes), dtype=bool)
            last[:-1] = codes[1:] != codes[:-1]
            codes, when = codes[last], when[last]
            uniq = unique(when)
            age = (len(uniq) - np.searchsorted(uniq, when)).astype(
                np.int64
            )  # most recent -> 1, oldest -> len(uniq)
            self.age_levels = len(uniq)
        else:
            age = np.zeros(0, dtype=np.int64)
            self.age_levels = 0
        self.met_codes = codes
        self.met_age = np.minimum(age, AGE_MAX)
        self.age_levels = min(self.age_levels, AGE_MAX)

        blocked = inp.blocked
        size = len(blocked) if hasattr(blocked, "__len__") else -1  # type: ignore[arg-type]
        bcodes, _ = self._pairs(blocked, size, None)
        self.blocked_codes = unique(bcodes)

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
        """Pool positions of ``members`` and whether each is in the pool."""
        pos = np.searchsorted(self.ids, members)
        pos = np.minimum(pos, max(self.n - 1, 0))
        ok = self.ids[pos] == members if self.n else np.zeros(len(members), dtype=bool)
        return pos, ok

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
        return np.minimum(u, v).astype(np.int64) * self.n + np.maximum(u, v)

    def is_blocked(self, codes: np.ndarray) -> np.ndarray:
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
        uv = (self.ask_mask[u] & self.offer_mask[v]).any(axis=1)
        vu = (self.ask_mask[v] & self.offer_mask[u]).any(axis=1)
        return uv.astype(np.int64) + vu

    def features(self, u: np.ndarray, v: np.ndarray) -> Edges:
        codes = self.code(u, v)
        age = self.age(codes)
        return Edges(
            u=u,
            v=v,
            fav=self.favoured[u] + self.favoured[v],
            new=(age == 0).astype(np.int64),
            age=age,
            topic=self.topic(u, v),
        )


def unique(arr: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sort-based: faster than ``np.unique``'s hashing here)."""
    s = np.sort(arr)
    if len(s) < 2:
        return s
    keep = np.ones(len(s), dtype=bool)
    keep[1:] = s[1:] != s[:-1]
    return s[keep]


def member(sorted_arr: np.ndarray, x: np.ndarray) -> np.ndarray:
    if not len(sorted_arr):
        return np.zeros(len(x), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_arr, x), len(sorted_arr) - 1)
    return sorted_arr[pos] == x
