"""The pairing engine: who meets whom in a round. Pure: no discord, no database.

API::

    match(inp: MatchInput) -> MatchResult        (the values are in ``match_types``)
    mutual_pairs(choices) -> frozenset[tuple[int, int]]
        "Meet again" choices as (chooser, partner) -> the mutual pairs for
        ``MatchInput.meet_again``; one-sided choices drop out.

What it optimises, in order (each level only breaks ties of the one above; PRODUCT.md,
"Meeting times"):

1. **Hard rule** - never a blocked pair (``/pair avoid``, either direction), not even in a trio.
2. **Cover everyone possible** - a maximum-cardinality matching, so the blocks leave the fewest
   people out; a member left out last round (``favoured``) is covered before anyone else.
3. **Never-met pairs**, as many as possible. A mutual "Meet again" counts as never-met.
4. **Groups that can meet**: weekly availability overlapping at least 60 minutes (in UTC, with
   the coming week's offsets; members without windows count as free 07:00-21:00 local).
5. **Topics** - an open ask paired with someone who offers that topic (each satisfied asker
   counts once).
6. **More overlap** (quarter-hours per week).
7. **Otherwise pairs that met longest ago** (the sum of an age score: the older, the higher).
8. A seeded random jitter, so ties are broken differently each round (diversity) yet the same
   seed always gives the same result.

Overlap is computed only for candidate pairs: each member's week is 672 quarter-hour bits in
UTC (eleven uint64 words), and a pair's overlap is the popcount of the AND of its two bitsets.

How, by pool size (measured on a 2-core machine, see ``benchmarks/bench_pairing.py``):

* ``n <= FULL_MAX`` (small guilds, the common case): an exact maximum-weight matching
  (Edmonds' blossom, rustworkx) on the complete non-blocked graph, with integer weights built
  so that the sum is lexicographic over the levels above. Exact means "no repeat while a
  repeat-free matching exists". Late in a cycle, when few never-met partners remain, several
  equally good matchings are tried and the one that leaves a repeat-free matching for *next*
  round is kept (one-step lookahead) - this is what lets a fixed pool go N - 1 rounds without a
  repeat, instead of getting stuck a few rounds early.
* ``n <= SPARSE_MAX``: the same exact solver on a sparse candidate graph - each member's
  ``k`` best non-blocked partners by the pair-level order above (never-met, an hour of overlap,
  topic, most overlap, oldest met), jitter making the rest random; late in a cycle, every
  never-met pair as well. Members the sparse graph served badly (uncovered, or in a repeat) get
  all their edges back and the solve is repeated.
* larger pools: candidate edges from seeded circulant graphs (every member has the same number
  of candidates, and each shift-1 cycle alone already contains a perfect matching) over orders
  that bucket members by the UTC hours they are free, so that neighbours overlap (see
  ``_greedy``), plus topic candidates with the most overlap; a vectorised greedy (locally
  dominant edges, the same result as sorting the edges and taking each one whose ends are
  free), then a repair: leftovers are matched among themselves, and whoever still remains is
  re-solved exactly together with their neighbourhood (augmenting paths).

An odd pool gets one trio: the leftover joins the pair to which they add the fewest repeats
(and no blocked pair), then whose common overlap with them is best; a trio's overlap is the time
all three are free. If blocks leave more people uncovered than parity requires, each of them
may also join a distinct pair as a trio rather than be left out; only those who fit nowhere are
returned in ``left_out`` (the caller tells them kindly and passes them as ``favoured`` next
round).

History is taken as a mapping ``(a, b) -> when`` (a round number or any increasing ordinal);
only the order of the values matters.

Layout: this module holds the public API and the choice of method by pool size; the private
modules hold the rest - ``_pool`` (the input as arrays over pool positions), ``_weights`` (the
objective's encodings), ``_exact`` (the blossom paths), ``_greedy`` (large pools) and ``_trio``
(odd counts, left-outs); ``availability`` reads and lays out the weekly windows.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import numpy as np

from ._exact import SPARSE_K as SPARSE_K
from ._exact import SPARSE_MAX, solve_full, solve_sparse
from ._greedy import solve_greedy
from ._pool import Pool, member
from ._trio import place, placeable
from .match_types import Group, MatchInput, MatchResult

__all__ = ["match", "mutual_pairs"]

#: Up to this many members the exact solver runs on the complete graph.
FULL_MAX = 100
#: Re-solves, with the left-out favoured, when someone is left out of a small pool.
COVER_RETRIES = 6
_COLUMN_PAIRS = ((0, 1), (0, 2), (1, 2))


def match(inp: MatchInput) -> MatchResult:
    """Pair the pool of ``inp`` (see the module docstring for the objective and the method)."""
    with _collection_deferred():
        return _match(inp)


def mutual_pairs(choices: Iterable[tuple[int, int]]) -> frozenset[tuple[int, int]]:
    """Pairs (low id, high id) where each member chose "Meet again" with the other.

    ``choices`` are (chooser, partner). A one-sided choice changes nothing - it is not even
    seen by the engine - so nobody can learn of it from who they are paired with.
    """
    chosen = set(choices)
    return frozenset((min(a, b), max(a, b)) for a, b in chosen if a != b and (b, a) in chosen)


@contextmanager
def _collection_deferred() -> Iterator[None]:
    """Defer Python's cyclic garbage collector until the round is made.

    A large round allocates ~10^5 small objects (groups, tuples); each burst of allocations
    triggers full collections, and every full collection walks the caller's millions of
    history and block entries: measured at 100,000 members, 0.45 s of the 0.55 s spent
    building the result. Nothing here creates reference cycles, so nothing is lost by
    collecting once afterwards (the collector's own thresholds decide when).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _match(inp: MatchInput) -> MatchResult:
    pool = Pool(inp)
    n = pool.n
    if n < 2:
        return MatchResult(groups=(), left_out=tuple(int(x) for x in pool.ids))
    solve = solve_full if n <= FULL_MAX else solve_sparse if n <= SPARSE_MAX else solve_greedy
    result = _finish(pool, solve(pool))
    # Someone left out: which member a maximum matching leaves over is arbitrary, and another
    # choice may let everyone into a pair or trio. Retry with the left-out favoured.
    retries = COVER_RETRIES if n <= FULL_MAX else 1 if n <= SPARSE_MAX else 0
    for _ in range(retries):
        if not result.left_out or not placeable(pool, result.left_out):
            break
        pos, _ok = pool.positions(np.array(result.left_out, dtype=np.int64))
        pool.favoured[pos] = 1
        again = _finish(pool, solve(pool))
        if len(again.left_out) < len(result.left_out):
            result = again
    return result


# --------------------------------------------------------------------------------------------
# The result


def _finish(pool: Pool, mate: np.ndarray) -> MatchResult:
    groups, left_out_pos = place(pool, mate)
    ids = pool.ids
    left_out = tuple(ids[np.sort(np.array(left_out_pos, dtype=np.int64))].tolist())
    if not groups:
        return MatchResult(groups=(), left_out=left_out)
    # Each group's pool positions as a sorted row of three, a pair's first member standing in
    # as its (idempotent) third: overlaps, topics and "Meet again" are then column operations.
    size = np.array([len(g) for g in groups])
    rows = np.sort(np.array([g if len(g) == 3 else [*g, g[0]] for g in groups]), axis=1)
    cols = [rows[:, 0], rows[:, 1], rows[:, 2]]
    minutes: list[int | None] = (
        (15 * pool.overlap(*cols)).tolist() if pool.words is not None else [None] * len(groups)
    )
    again = _meet_again(pool, cols)
    topical = np.zeros(len(groups), dtype=bool)
    if pool.has_topics:
        for i, j in _COLUMN_PAIRS:
            topical |= (pool.topic(cols[i], cols[j]) > 0) & (cols[i] != cols[j])
    lo, mid, hi = (ids[c].tolist() for c in cols)
    result = []
    for k in np.argsort(lo, kind="stable").tolist():  # groups are disjoint: the lowest id orders
        members = (lo[k], hi[k]) if size[k] == 2 else (lo[k], mid[k], hi[k])
        shared = _shared_topics(pool, members) if topical[k] else ()
        result.append(Group(members, shared, minutes[k], again.get(k, ())))
    return MatchResult(groups=tuple(result), left_out=left_out)


def _meet_again(pool: Pool, cols: list[np.ndarray]) -> dict[int, tuple[tuple[int, int], ...]]:
    """Group index -> its mutual "Meet again" pairs (as sorted id pairs)."""
    if not len(pool.meet_again_codes):
        return {}
    hits = [
        member(pool.meet_again_codes, pool.code(cols[i], cols[j])) & (cols[i] != cols[j])
        for i, j in _COLUMN_PAIRS
    ]
    ids = pool.ids
    out: dict[int, tuple[tuple[int, int], ...]] = {}
    for k in np.flatnonzero(hits[0] | hits[1] | hits[2]).tolist():
        pairs = {
            (int(ids[cols[i][k]]), int(ids[cols[j][k]]))  # rows are sorted: already (low, high)
            for (i, j), hit in zip(_COLUMN_PAIRS, hits, strict=True)
            if hit[k]
        }
        out[k] = tuple(sorted(pairs))
    return out


def _shared_topics(pool: Pool, members: tuple[int, ...]) -> tuple[str, ...]:
    """Topics one member asks about and another offers."""
    shared: set[str] = set()
    for a in members:
        for b in members:
            if a != b:
                shared |= pool.asks.get(a, frozenset()) & pool.offers.get(b, frozenset())
    return tuple(sorted(shared))
