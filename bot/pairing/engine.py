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
only the order of the values matters.

Layout: this module holds the public API and the choice of method by pool size; the private
modules hold the rest - ``_pool`` (the input as arrays over pool positions), ``_weights`` (the
objective's encodings), ``_exact`` (the blossom paths), ``_greedy`` (large pools) and ``_trio``
(odd counts, left-outs).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ._exact import LOOKAHEAD_DEGREE as LOOKAHEAD_DEGREE
from ._exact import LOOKAHEAD_TRIES as LOOKAHEAD_TRIES
from ._exact import SPARSE_K as SPARSE_K
from ._exact import SPARSE_MAX, solve_full, solve_sparse
from ._greedy import GREEDY_SHIFTS as GREEDY_SHIFTS
from ._greedy import GREEDY_TOPIC_K as GREEDY_TOPIC_K
from ._greedy import solve_greedy
from ._pool import Pool
from ._trio import place, placeable

__all__ = ["Group", "MatchInput", "MatchResult", "match"]

#: Up to this many members the exact solver runs on the complete graph.
FULL_MAX = 100
#: Re-solves, with the left-out favoured, when someone is left out of a small pool.
COVER_RETRIES = 6


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
    groups, left_out = place(pool, mate)
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


def _shared_topics(pool: Pool, members: tuple[int, ...]) -> tuple[str, ...]:
    if not pool.has_topics or not any(m in pool.asks for m in members):
        return ()
    shared: set[str] = set()
    for a in members:
        for b in members:
            if a != b:
                shared |= pool.asks.get(a, frozenset()) & pool.offers.get(b, frozenset())
    return tuple(sorted(shared))
