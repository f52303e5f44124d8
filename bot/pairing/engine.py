"""The pairing engine: who meets whom in a round. Pure: no discord, no database.

What it optimises, in order (each level only breaks ties of the one above):

1. **Hard rule** - never a blocked pair (``/pair avoid``, either direction), not even in a trio.
2. **Cover everyone possible** - a maximum-cardinality matching, so the blocks leave the fewest
   people out; a member left out last round (``favoured``) is covered before anyone else.
3. **Never-met pairs**, as many as possible.
4. **Otherwise pairs that met longest ago** (the sum of an age score: the older, the higher).
5. **Topics** - an open ask paired with someone who offers that topic (each satisfied asker
   counts once).
6. A seeded random jitter, so ties are broken differently each round (diversity) yet the same
   seed always gives the same result.

How, by pool size (measured on a 2-core machine, see ``benchmarks/bench_pairing.py``):

* ``n <= FULL_MAX`` (small guilds, the common case): an exact maximum-weight matching
  (Edmonds' blossom, rustworkx) on the complete non-blocked graph, with integer weights built
  so that the sum is lexicographic over the levels above. Exact means "no repeat while a
  repeat-free matching exists". Late in a cycle, when few never-met partners remain, several
  equally good matchings are tried and the one that leaves a repeat-free matching for *next*
  round is kept (one-step lookahead) - this is what lets a fixed pool go N - 1 rounds without a
  repeat, instead of getting stuck a few rounds early.
* ``n <= SPARSE_MAX``: the same exact solver on a sparse candidate graph - each member's
  ``k`` best non-blocked partners by the pair-level order above (never-met, oldest met, topic
  partners), jitter making the rest random; late in a cycle, every never-met pair as well.
  Members the sparse graph served badly (uncovered, or in a repeat) get all their edges back
  and the solve is repeated.
* larger pools: candidate edges from a seeded circulant graph over a random permutation (every
  member has the same number of random candidates, and the shift-1 cycle alone already contains
  a perfect matching) plus topic candidates; a vectorised greedy (locally dominant edges, the
  same result as sorting the edges and taking each one whose ends are free), then a repair:
  leftovers are matched among themselves, and whoever still remains is re-solved exactly
  together with their neighbourhood (augmenting paths).

An odd pool gets one trio: the leftover joins the pair to which they add the fewest repeats
(and no blocked pair). If blocks leave more people uncovered than parity requires, each of them
may also join a distinct pair as a trio rather than be left out; only those who fit nowhere are
returned in ``left_out`` (the caller tells them kindly and passes them as ``favoured`` next
round).

History is taken as a mapping ``(a, b) -> when`` (a round number or any increasing ordinal);
only the order of the values matters. Internally every pair of pool members becomes the int64
code ``i * n + j`` (``i < j`` are positions in the sorted pool), so history and blocks are two
sorted arrays looked up with ``np.searchsorted``: a million history entries cost a few MB, not
a dict of sets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain

import numpy as np
import rustworkx as rx

__all__ = ["Group", "MatchInput", "MatchResult", "match"]

#: Up to this many members the exact solver runs on the complete graph.
FULL_MAX = 100
#: Up to this many members the exact solver runs on a sparse candidate graph.
SPARSE_MAX = 2500
#: Candidates per member on the sparse exact path.
SPARSE_K = 12
#: Re-solves, with the left-out favoured, when someone is left out of a small pool.
COVER_RETRIES = 6
#: Random circulant shifts (each gives every member two candidates) on the greedy path.
GREEDY_SHIFTS = 6
#: Topic candidates sampled per (asker, topic) on the greedy path.
GREEDY_TOPIC_K = 8
#: The lookahead runs when never-met partners per member are this few on average...
LOOKAHEAD_DEGREE = 10
#: ...and tries at most this many equally good matchings.
LOOKAHEAD_TRIES = 30

# Bit layout of the pair-level int64 sort key (higher fields dominate lower ones).
_JITTER_BITS = 24
_TOPIC_BITS = 2
_AGE_BITS = 24
_AGE_MAX = (1 << _AGE_BITS) - 1
# At most about this many edges are added back for members the sparse graph served badly.
_FALLBACK_EDGES = 200_000
# Jitter range in the matching-level (blossom) weights; small keeps the integers small.
_BLOSSOM_JITTER = 1 << 10


@dataclass(frozen=True)
class MatchInput:
    """Everything one round needs.

    ``last_met`` maps a pair (either order) to when they last met: a round number or any
    increasing ordinal (a timestamp); pairs absent have never met. ``blocked`` holds pairs in
    either direction. ``asks`` / ``offers`` map a member to the topics of their open asks / their
    offered topics. ``favoured`` are members left out last round: they are covered first.
    Ids outside ``members`` are ignored everywhere.
    """

    members: Sequence[int]
    last_met: Mapping[tuple[int, int], float] = field(default_factory=dict)
    blocked: Iterable[tuple[int, int]] = frozenset()
    asks: Mapping[int, frozenset[str]] = field(default_factory=dict)
    offers: Mapping[int, frozenset[str]] = field(default_factory=dict)
    favoured: frozenset[int] = frozenset()
    seed: int = 0


@dataclass(frozen=True)
class Group:
    """A pair or a trio. ``shared_topics``: topics one member asks about and another offers."""

    members: tuple[int, ...]
    shared_topics: tuple[str, ...] = ()


@dataclass(frozen=True)
class MatchResult:
    """The round: groups (pairs, trios only where needed) and who could not be placed."""

    groups: tuple[Group, ...]
    left_out: tuple[int, ...]


def match(inp: MatchInput) -> MatchResult:
    """Pair the pool of ``inp`` (see the module docstring for the objective and the method)."""
    pool = _Pool(inp)
    n = pool.n
    if n < 2:
        return MatchResult(groups=(), left_out=tuple(int(x) for x in pool.ids))
    solve = _solve_full if n <= FULL_MAX else _solve_sparse if n <= SPARSE_MAX else _solve_greedy
    result = _finish(pool, solve(pool))
    # Someone left out: which member a maximum matching leaves over is arbitrary, and another
    # choice may let everyone into a pair or trio. Retry with the left-out favoured.
    retries = COVER_RETRIES if n <= FULL_MAX else 1 if n <= SPARSE_MAX else 0
    for _ in range(retries):
        if not result.left_out or not _placeable(pool, result.left_out):
            break
        pos, _ok = pool.positions(np.array(result.left_out, dtype=np.int64))
        pool.favoured[pos] = 1
        again = _finish(pool, solve(pool))
        if len(again.left_out) < len(result.left_out):
            result = again
    return result


def _placeable(pool: _Pool, members: Sequence[int]) -> bool:
    """Whether any of ``members`` has anyone in the pool they may meet."""
    pos, _ok = pool.positions(np.array(members, dtype=np.int64))
    others = np.arange(pool.n, dtype=np.int64)
    for x in pos.tolist():
        blocked = pool.is_blocked(pool.code(np.full(pool.n, x, dtype=np.int64), others))
        if int((~blocked).sum()) > 1:  # itself is never blocked: more than one means someone
            return True
    return False


# --------------------------------------------------------------------------------------------
# Input preparation


class _Pool:
    """The round's input as arrays over pool positions ``0..n-1`` (sorted member ids)."""

    def __init__(self, inp: MatchInput) -> None:
        ids = _unique(np.fromiter((int(m) for m in inp.members), dtype=np.int64))
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
            uniq = _unique(when)
            age = (len(uniq) - np.searchsorted(uniq, when)).astype(
                np.int64
            )  # most recent -> 1, oldest -> len(uniq)
            self.age_levels = len(uniq)
        else:
            age = np.zeros(0, dtype=np.int64)
            self.age_levels = 0
        self.met_codes = codes
        self.met_age = np.minimum(age, _AGE_MAX)
        self.age_levels = min(self.age_levels, _AGE_MAX)

        blocked = inp.blocked
        size = len(blocked) if hasattr(blocked, "__len__") else -1  # type: ignore[arg-type]
        bcodes, _ = self._pairs(blocked, size, None)
        self.blocked_codes = _unique(bcodes)

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
        return _member(self.blocked_codes, codes)

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

    def features(self, u: np.ndarray, v: np.ndarray) -> _Edges:
        codes = self.code(u, v)
        age = self.age(codes)
        return _Edges(
            u=u,
            v=v,
            fav=self.favoured[u] + self.favoured[v],
            new=(age == 0).astype(np.int64),
            age=age,
            topic=self.topic(u, v),
        )


def _unique(arr: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sort-based: faster than ``np.unique``'s hashing here)."""
    s = np.sort(arr)
    if len(s) < 2:
        return s
    keep = np.ones(len(s), dtype=bool)
    keep[1:] = s[1:] != s[:-1]
    return s[keep]


def _member(sorted_arr: np.ndarray, x: np.ndarray) -> np.ndarray:
    if not len(sorted_arr):
        return np.zeros(len(x), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_arr, x), len(sorted_arr) - 1)
    return sorted_arr[pos] == x


@dataclass
class _Edges:
    """Candidate edges ``u[k] - v[k]`` with their objective components."""

    u: np.ndarray
    v: np.ndarray
    fav: np.ndarray
    new: np.ndarray
    age: np.ndarray
    topic: np.ndarray

    def __len__(self) -> int:
        return len(self.u)

    def subset(self, keep: np.ndarray) -> _Edges:
        return _Edges(
            self.u[keep],
            self.v[keep],
            self.fav[keep],
            self.new[keep],
            self.age[keep],
            self.topic[keep],
        )

    def key(self, jitter: np.ndarray) -> np.ndarray:
        """Pair-level order as one int64: fav > never-met > age > topic > jitter."""
        k = self.fav << 1 | self.new
        k = k << _AGE_BITS | self.age
        k = k << _TOPIC_BITS | self.topic
        return k << _JITTER_BITS | jitter

    def blossom_weights(self, pairs: int, age_levels: int, jitter: np.ndarray) -> list[int]:
        """Matching-level weights whose *sum* is lexicographic over the objective's levels.

        Each level's multiplier exceeds the largest possible total of all lower levels over a
        matching of ``pairs`` edges, so no amount of topic matches buys a repeat, etc. The
        numbers exceed int64 for large pools; rustworkx takes Python ints (128-bit inside).
        """
        p = pairs + 1
        b_topic = p * _BLOSSOM_JITTER
        b_age = b_topic * (2 * p + 1)
        b_new = b_age * (max(age_levels, 1) * p + 1)
        b_fav = b_new * (p + 1)
        w = (
            self.fav.astype(object) * b_fav
            + self.new.astype(object) * b_new
            + self.age.astype(object) * b_age
            + self.topic.astype(object) * b_topic
            + jitter.astype(object)
            + 1
        )
        return w.tolist()


# --------------------------------------------------------------------------------------------
# Solvers. Each returns ``mate``: the partner position of every member, or -1.


def _blossom(n: int, edges: _Edges, weights: list[int]) -> np.ndarray:
    graph = rx.PyGraph(multigraph=False)
    graph.add_nodes_from(range(n))
    graph.add_edges_from(zip(edges.u.tolist(), edges.v.tolist(), range(len(edges)), strict=True))
    found = rx.max_weight_matching(graph, max_cardinality=True, weight_fn=weights.__getitem__)
    mate = np.full(n, -1, dtype=np.int64)
    for a, b in found:
        mate[a], mate[b] = b, a
    return mate


def _all_edges(pool: _Pool, rows: np.ndarray | None = None) -> _Edges:
    """Every non-blocked pair (or every non-blocked pair touching ``rows``)."""
    n = pool.n
    if rows is None:
        u, v = np.triu_indices(n, 1)
    else:
        u = np.repeat(rows, n)
        v = np.tile(np.arange(n), len(rows))
        keep = u != v
        u, v = u[keep], v[keep]
    u = u.astype(np.int64)
    v = v.astype(np.int64)
    keep = ~pool.is_blocked(pool.code(u, v))
    return pool.features(u[keep], v[keep])


def _solve_full(pool: _Pool) -> np.ndarray:
    """Exact on the complete graph."""
    return _solve_exact(pool, _all_edges(pool), lookahead=True)


def _solve_exact(pool: _Pool, edges: _Edges, *, lookahead: bool) -> np.ndarray:
    """Exact on ``edges``; with ``lookahead`` (all never-met edges are among ``edges``), a
    one-step lookahead late in a cycle.

    Late in a cycle the never-met graph is sparse, and a matching taken from it can leave a
    remainder with no repeat-free matching (e.g. only odd cycles): the next round would then
    repeat although a full cycle was possible. Among equally good matchings (differing only in
    the jitter), keep one whose remainder still has the largest matching.
    """
    n = pool.n
    if not len(edges):
        return np.full(n, -1, dtype=np.int64)
    pairs = n // 2

    def attempt() -> np.ndarray:
        jitter = pool.rng.integers(0, _BLOSSOM_JITTER, len(edges))
        return _blossom(n, edges, edges.blossom_weights(pairs, pool.age_levels, jitter))

    mate = attempt()
    never = edges.new.astype(bool)
    never_count = int(never.sum())
    if not lookahead or never_count == 0 or 2 * never_count > LOOKAHEAD_DEGREE * n:
        return mate
    hu, hv = edges.u[never], edges.v[never]
    best, best_left = mate, -1
    for _ in range(LOOKAHEAD_TRIES):
        used = mate[hu] == hv
        chosen = int(used.sum())
        target = min(chosen, never_count - chosen)
        left = _max_cardinality(n, hu[~used], hv[~used])
        if left > best_left:
            best, best_left = mate, left
        if best_left >= target:
            break
        mate = attempt()
    return best


def _max_cardinality(n: int, u: np.ndarray, v: np.ndarray) -> int:
    graph = rx.PyGraph(multigraph=False)
    graph.add_nodes_from(range(n))
    graph.add_edges_from_no_data(list(zip(u.tolist(), v.tolist(), strict=True)))
    return len(rx.max_weight_matching(graph, max_cardinality=True))


def _solve_sparse(pool: _Pool) -> np.ndarray:
    """Exact on each member's ``SPARSE_K`` best candidates; uncovered members get all edges."""
    n = pool.n
    met = np.zeros((n, n), dtype=np.int32)
    if len(pool.met_codes):
        i, j = np.divmod(pool.met_codes, n)
        met[i, j] = pool.met_age
        met[j, i] = pool.met_age
    blocked = np.zeros((n, n), dtype=bool)
    if len(pool.blocked_codes):
        i, j = np.divmod(pool.blocked_codes, n)
        blocked[i, j] = True
        blocked[j, i] = True
    np.fill_diagonal(blocked, True)

    k = min(SPARSE_K, n - 1)
    chunk = max(1, 2_000_000 // n)
    cand_u: list[np.ndarray] = []
    cand_v: list[np.ndarray] = []
    cols = np.arange(n)
    for r0 in range(0, n, chunk):
        rows = np.arange(r0, min(n, r0 + chunk))
        age = met[rows].astype(np.int64)
        # No favoured level here: it would put the favoured into everyone's top k, leaving
        # the others without candidates of their own. The favoured get their own k.
        key = (age == 0).astype(np.int64) << _AGE_BITS | age
        if pool.has_topics:
            topic = np.zeros((len(rows), n), dtype=np.int64)
            for w in range(pool.ask_mask.shape[1]):
                a_r, o_r = pool.ask_mask[rows, w][:, None], pool.offer_mask[rows, w][:, None]
                topic += (a_r & pool.offer_mask[None, :, w]) != 0
                topic += (o_r & pool.ask_mask[None, :, w]) != 0
            key = key << _TOPIC_BITS | np.minimum(topic, 2)
        else:
            key = key << _TOPIC_BITS
        key = key << _JITTER_BITS | pool.rng.integers(0, 1 << _JITTER_BITS, key.shape)
        key[blocked[rows]] = -1
        top = np.argpartition(-key, k - 1, axis=1)[:, :k]
        ok = np.take_along_axis(key, top, axis=1) >= 0
        cand_u.append(np.repeat(rows, k)[ok.ravel()])
        cand_v.append(cols[top].ravel()[ok.ravel()])
    # Late in a cycle the never-met graph is small: take all of it, so that the solve is exact
    # on it ("no repeat while a repeat-free matching exists") and the lookahead can run.
    never = np.triu((met == 0) & ~blocked, 1)
    with_never = int(never.sum()) * 2 <= LOOKAHEAD_DEGREE * n
    if with_never:
        i, j = np.nonzero(never)
        cand_u.append(i)
        cand_v.append(j)
    del met, blocked, never
    u = np.concatenate(cand_u).astype(np.int64)
    v = np.concatenate(cand_v).astype(np.int64)
    codes = _unique(pool.code(u, v))
    mate = _solve_exact(pool, pool.features(codes // n, codes % n), lookahead=with_never)
    # Members the candidates served badly (uncovered beyond parity, or in a repeat pair):
    # give them all their edges and solve again.
    partner = np.maximum(mate, 0)
    repeat = (mate >= 0) & (pool.age(pool.code(np.arange(n), partner)) > 0)
    uncovered = mate < 0
    if int(uncovered.sum()) > n % 2 or (repeat.any() and not with_never):
        # Uncovered first; bounded, so a pathological pool cannot make the graph complete.
        rows = np.concatenate([np.flatnonzero(uncovered), np.flatnonzero(repeat)])
        rows = rows[: max(1, _FALLBACK_EDGES // n)]
        extra = _all_edges(pool, rows)
        codes = _unique(np.concatenate([codes, pool.code(extra.u, extra.v)]))
        mate = _solve_exact(pool, pool.features(codes // n, codes % n), lookahead=False)
    return mate


def _solve_greedy(pool: _Pool) -> np.ndarray:
    """Sampled candidates, vectorised greedy, then repair (see the module docstring)."""
    n = pool.n
    rng = pool.rng
    perm = rng.permutation(n)
    half = (n - 1) // 2
    shifts = [1, 2]
    if half > 2:
        extra = rng.choice(np.arange(3, half + 1), size=min(GREEDY_SHIFTS, half - 2), replace=False)
        shifts += sorted(int(s) for s in extra)
    us = [perm for _ in shifts]
    vs = [np.roll(perm, -s) for s in shifts]
    tu, tv = _topic_candidates(pool)
    u = np.concatenate([*us, tu])
    v = np.concatenate([*vs, tv])
    keep = u != v
    codes = _unique(pool.code(u[keep], v[keep]))
    codes = codes[~pool.is_blocked(codes)]
    edges = pool.features(codes // n, codes % n)
    # The greedy takes never-met edges only: a repeat edge taken greedily at the end could
    # block a never-met pair the repair would find. Repeats are left to the exact step.
    fresh = edges.subset((edges.new > 0) | (edges.fav > 0))
    mate = _greedy(n, fresh, fresh.key(_topic_priority(n, fresh, rng)))
    return _repair(pool, mate, edges)


def _topic_priority(n: int, edges: _Edges, rng: np.random.Generator) -> np.ndarray:
    """Jitter that, among topic edges, takes those of members with few topic options first.

    A greedy taking topic edges at random strands askers whose few offerers were taken by
    askers who had alternatives (~84 % of askers served at 100,000 members); serving the
    scarce ones first (the Karp-Sipser idea) gets close to a maximum matching.
    """
    jitter = rng.integers(0, 1 << 16, len(edges))
    topical = edges.topic > 0
    if not topical.any():
        return jitter
    degree = np.bincount(edges.u[topical], minlength=n) + np.bincount(edges.v[topical], minlength=n)
    scarce = np.minimum(degree[edges.u], degree[edges.v])
    priority = np.where(topical, 255 - np.minimum(scarce, 255), 0)
    return priority << 16 | jitter


def _topic_candidates(pool: _Pool) -> tuple[np.ndarray, np.ndarray]:
    """For each (asker, topic): ``GREEDY_TOPIC_K`` random offerers of that topic."""
    if not pool.has_topics:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    ask_order = np.lexsort((pool.ask_pos, pool.ask_topic))
    ask_pos, ask_topic = pool.ask_pos[ask_order], pool.ask_topic[ask_order]
    offer_order = np.lexsort((pool.offer_pos, pool.offer_topic))
    offer_pos, offer_topic = pool.offer_pos[offer_order], pool.offer_topic[offer_order]
    us: list[np.ndarray] = []
    vs: list[np.ndarray] = []
    for t in range(len(pool.topic_index)):
        a = ask_pos[np.searchsorted(ask_topic, t) : np.searchsorted(ask_topic, t, "right")]
        o = offer_pos[np.searchsorted(offer_topic, t) : np.searchsorted(offer_topic, t, "right")]
        if not len(a) or not len(o):
            continue
        k = min(GREEDY_TOPIC_K, len(o))
        pick = pool.rng.integers(0, len(o), (len(a), k))
        us.append(np.repeat(a, k))
        vs.append(o[pick].ravel())
    if not us:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(us), np.concatenate(vs)


def _greedy(n: int, edges: _Edges, key: np.ndarray) -> np.ndarray:
    """Greedy matching by decreasing ``key``, computed in rounds of locally dominant edges.

    An edge that is the best alive edge at both its ends would be taken by the sequential
    greedy too; taking all of them at once, then dropping edges that lost an end, gives the
    same matching in a few vectorised rounds instead of a Python loop over every edge.
    """
    mate = np.full(n, -1, dtype=np.int64)
    if not len(edges):
        return mate
    order = np.argsort(-key, kind="stable")
    u, v = edges.u[order], edges.v[order]
    alive = np.arange(len(u))
    best = np.empty(n, dtype=np.int64)
    while len(alive):
        au, av = u[alive], v[alive]
        best.fill(len(u))
        np.minimum.at(best, au, alive)
        np.minimum.at(best, av, alive)
        dom = (best[au] == alive) & (best[av] == alive)
        mate[au[dom]] = av[dom]
        mate[av[dom]] = au[dom]
        alive = alive[(mate[au] < 0) & (mate[av] < 0)]
    return mate


def _repair(pool: _Pool, mate: np.ndarray, edges: _Edges) -> np.ndarray:
    """Cover the greedy's leftovers, in three steps of increasing cost.

    1. Leftovers among themselves (never-met edges of a circulant over them): in a large pool
       almost every two strangers are a valid never-met pair.
    2. An exact re-solve of the remaining leftovers, their candidate neighbours and those
       neighbours' mates: it contains every augmenting path of length <= 3 through the
       candidate graph, and may use a repeat when nothing else covers someone.
    3. If the region was too big for step 2, a greedy over all edges among the leftovers
       (repeats included: covering someone beats avoiding a repeat).
    """
    n = pool.n
    for _ in range(3):
        left = np.flatnonzero(mate < 0)
        if len(left) <= 64:
            break
        sub = _circulant(pool, pool.rng.permutation(left), 4)
        sub = sub.subset((sub.new > 0) | (sub.fav > 0))
        sub_mate = _greedy(n, sub, sub.key(pool.rng.integers(0, 1 << _JITTER_BITS, len(sub))))
        got = sub_mate >= 0
        mate[got] = sub_mate[got]
    left = np.flatnonzero(mate < 0)
    if len(left) <= 1:
        return mate
    is_left = np.zeros(n, dtype=bool)
    is_left[left] = True
    touch = is_left[edges.u] | is_left[edges.v]
    near = _unique(np.concatenate([edges.u[touch], edges.v[touch]]))
    near_mates = mate[near]
    region = _unique(np.concatenate([left, near, near_mates[near_mates >= 0]]))
    if len(region) <= SPARSE_MAX:
        in_region = np.zeros(n, dtype=bool)
        in_region[region] = True
        inside = in_region[edges.u] & in_region[edges.v]
        lu, lv = np.triu_indices(len(left), 1)
        u = np.concatenate([edges.u[inside], left[lu]])
        v = np.concatenate([edges.v[inside], left[lv]])
        codes = _unique(pool.code(u, v))
        codes = codes[~pool.is_blocked(codes)]
        local = np.searchsorted(region, np.stack([codes // n, codes % n]))
        sub = pool.features(region[local[0]], region[local[1]])
        sub.u, sub.v = local[0], local[1]
        jitter = pool.rng.integers(0, _BLOSSOM_JITTER, len(sub))
        weights = sub.blossom_weights(len(region) // 2, pool.age_levels, jitter)
        local_mate = _blossom(len(region), sub, weights)
        if int((local_mate >= 0).sum()) >= int((mate[region] >= 0).sum()):
            mate[region] = np.where(local_mate >= 0, region[np.maximum(local_mate, 0)], -1)
        return mate
    sub = _circulant(pool, pool.rng.permutation(left), 8)
    sub_mate = _greedy(n, sub, sub.key(pool.rng.integers(0, 1 << _JITTER_BITS, len(sub))))
    got = sub_mate >= 0
    mate[got] = sub_mate[got]
    return mate


def _circulant(pool: _Pool, order: np.ndarray, shifts: int) -> _Edges:
    """Non-blocked edges ``order[i] - order[i + s]`` for ``s = 1..shifts`` (wrapping)."""
    u = np.concatenate([order] * shifts)
    v = np.concatenate([np.roll(order, -s) for s in range(1, shifts + 1)])
    keep = u != v
    codes = _unique(pool.code(u[keep], v[keep]))
    codes = codes[~pool.is_blocked(codes)]
    return pool.features(codes // pool.n, codes % pool.n)


# --------------------------------------------------------------------------------------------
# Trios, left-outs and the result


def _finish(pool: _Pool, mate: np.ndarray) -> MatchResult:
    n = pool.n
    a = np.flatnonzero((mate >= 0) & (mate > np.arange(n)))
    groups: list[list[int]] = [[int(x), int(mate[x])] for x in a]
    left = np.flatnonzero(mate < 0)
    left_out: list[int] = []
    if len(groups) and len(left):
        # Favoured first, then by position (ids are sorted, positions are deterministic).
        order = sorted(left.tolist(), key=lambda x: (-int(pool.favoured[x]), x))
        pa = np.array([g[0] for g in groups], dtype=np.int64)
        pb = np.array([g[1] for g in groups], dtype=np.int64)
        taken = np.zeros(len(groups), dtype=bool)
        for x in order:
            g = _best_trio(pool, x, pa, pb, taken)
            if g >= 0:
                taken[g] = True
                groups[g].append(x)
            elif not _rescue(pool, x, groups, pa, pb, taken):
                left_out.append(x)
    else:
        left_out = left.tolist()
    # Shared topics only where someone asks and someone else offers a relevant topic.
    topical = (pool.ask_mask.any(axis=1) | pool.offer_mask.any(axis=1)).tolist()
    ids = pool.ids.tolist()
    result = []
    for g in groups:
        if len(g) == 2:
            a, b = ids[g[0]], ids[g[1]]
            members = (a, b) if a < b else (b, a)
        else:
            members = tuple(sorted(ids[x] for x in g))
        shared = _shared_topics(pool, members) if any(topical[x] for x in g) else ()
        result.append(Group(members=members, shared_topics=shared))
    result.sort(key=lambda grp: grp.members)
    return MatchResult(groups=tuple(result), left_out=tuple(sorted(ids[x] for x in left_out)))


def _rescue(
    pool: _Pool,
    x: int,
    groups: list[list[int]],
    pa: np.ndarray,
    pb: np.ndarray,
    taken: np.ndarray,
    tries: int = 64,
) -> bool:
    """Place ``x``, who fits in no pair as a third, by taking the place of someone who does.

    ``x`` pairs with ``a`` of a pair ``(a, b)`` and ``b`` joins another pair as a trio. Which
    member a maximum matching leaves over is arbitrary; this fixes the cases where it left over
    the one member whom the blocks allow in few places (e.g. pool 1..5, 5 may only meet 4).
    """
    pairs = np.flatnonzero(~taken)
    if not len(pairs):
        return False
    a = np.concatenate([pa[pairs], pb[pairs]])
    b = np.concatenate([pb[pairs], pa[pairs]])
    k = np.concatenate([pairs, pairs])
    codes = pool.code(np.full(len(a), x, dtype=np.int64), a)
    ok = ~pool.is_blocked(codes)
    a, b, k, codes = a[ok], b[ok], k[ok], codes[ok]
    # Never-met partners for x first, then the oldest meetings.
    age = pool.age(codes)
    order = np.lexsort((pool.rng.random(len(a)), np.where(age > 0, -age, -(_AGE_MAX + 1))))
    for i in order[:tries].tolist():
        taken[k[i]] = True  # b may not come back into its own pair
        g = _best_trio(pool, int(b[i]), pa, pb, taken)
        taken[k[i]] = False
        if g >= 0:
            groups[k[i]] = [x, int(a[i])]
            pa[k[i]], pb[k[i]] = x, a[i]
            groups[g].append(int(b[i]))
            taken[g] = True
            return True
    return False


def _best_trio(pool: _Pool, x: int, pa: np.ndarray, pb: np.ndarray, taken: np.ndarray) -> int:
    """Index of the pair ``x`` should join: no block, fewest repeats, oldest, topics; or -1."""
    xs = np.full(len(pa), x, dtype=np.int64)
    ca, cb = pool.code(xs, pa), pool.code(xs, pb)
    ok = ~taken & ~pool.is_blocked(ca) & ~pool.is_blocked(cb)
    if not ok.any():
        return -1
    age_a, age_b = pool.age(ca), pool.age(cb)
    repeats = (age_a > 0).astype(np.int64) + (age_b > 0)
    # Of the repeats, prefer the oldest: never-met counts as older than any meeting.
    oldest = np.where(age_a > 0, age_a, _AGE_MAX + 1) + np.where(age_b > 0, age_b, _AGE_MAX + 1)
    topic = pool.topic(xs, pa) + pool.topic(xs, pb)
    jitter = pool.rng.random(len(pa))
    order = np.lexsort((jitter, -topic, -oldest, repeats, ~ok))
    return int(order[0])


def _shared_topics(pool: _Pool, members: tuple[int, ...]) -> tuple[str, ...]:
    if not pool.has_topics or not any(m in pool.asks for m in members):
        return ()
    shared: set[str] = set()
    for a in members:
        for b in members:
            if a != b:
                shared |= pool.asks.get(a, frozenset()) & pool.offers.get(b, frozenset())
    return tuple(sorted(shared))
