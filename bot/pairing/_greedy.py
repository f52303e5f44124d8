"""The large-pool solver: sampled candidates, a vectorised greedy, then a repair.

Why a module: above ``SPARSE_MAX`` members an exact matching is too slow, so candidates are
sampled; the best edges (never-met, an hour of overlap, an asker served) are matched first,
scarce members first; a greedy takes locally dominant never-met edges in vectorised rounds;
and a repair covers the leftovers (among themselves, then an exact re-solve of their
neighbourhood). Returns ``mate`` like the exact solvers.

Candidates that favour overlap - availability buckets: each of ``BUCKET_ROUNDS`` rounds draws a
random order of the week's 168 UTC hours and puts every member in the bucket of the first hour
in that order that they are free for entirely (a min-hash: two members share a bucket with
probability equal to the Jaccard similarity of their free hours, and members of one bucket are
sure to overlap by at least an hour). Members sorted by bucket (randomly within one) form a
circulant graph: each member's neighbours at distance 1 and 2. Each order's distance-1 cycle
already contains a perfect matching, so coverage stays easy; without a week the buckets are
empty and the orders are random permutations. Topic candidates: for each (asker, topic),
``TOPIC_SAMPLE`` random offerers, of whom ``GREEDY_TOPIC_K`` sharing an hour with the asker are
kept.
"""

from __future__ import annotations

import numpy as np

from ._exact import SPARSE_MAX, blossom
from ._pool import Pool, unique
from ._weights import BLOSSOM_JITTER, GOOD_OVERLAP, JITTER_BITS, Edges
from .availability import WEEK_QUARTERS

#: Bucket orders on the greedy path; each gives every member 2 * len(BUCKET_SHIFTS) candidates.
BUCKET_ROUNDS = 4
BUCKET_SHIFTS = (1, 2)
#: Topic candidates kept per (asker, topic), out of ``TOPIC_SAMPLE`` sampled offerers.
GREEDY_TOPIC_K = 16
TOPIC_SAMPLE = 32
_HOURS = WEEK_QUARTERS // 4
_OPTIONS_CAP = (1 << 18) - 1  # keeps _scarce_first's key in int64


def solve_greedy(pool: Pool) -> np.ndarray:
    """Sampled candidates, vectorised greedy, then repair (see the module docstring)."""
    n = pool.n
    everyone = np.arange(n, dtype=np.int64)
    us: list[np.ndarray] = []
    vs: list[np.ndarray] = []
    for order in _bucket_orders(pool, everyone, BUCKET_ROUNDS):
        for shift in BUCKET_SHIFTS:
            us.append(order)
            vs.append(np.roll(order, -shift))
    tu, tv = _topic_candidates(pool)
    u = np.concatenate([*us, tu])
    v = np.concatenate([*vs, tv])
    keep = u != v
    codes = unique(pool.code(u[keep], v[keep]))
    codes = codes[~pool.is_blocked(codes)]
    edges = pool.features(codes // n, codes % n)
    # The greedy takes never-met edges only: a repeat edge taken greedily at the end could
    # block a never-met pair the repair would find. Repeats are left to the exact step.
    fresh = (edges.new > 0) | (edges.fav > 0)
    jitter = pool.rng.integers(0, 1 << JITTER_BITS, len(edges))
    # First the best kind of edge - never-met, an hour of overlap, an asker served - with
    # the scarce first; then everything else by the pair-level order.
    top = np.flatnonzero(fresh & (edges.good > 0) & (edges.topic > 0))
    tiebreak = edges.topic[top] << 40 | edges.overlap[top] << JITTER_BITS | jitter[top]
    mate = _scarce_first(n, edges.u[top], edges.v[top], tiebreak)
    key = edges.key(jitter)
    mate = _greedy(n, edges.u[fresh], edges.v[fresh], key[fresh], mate)
    return _repair(pool, mate, edges)


def _free_hours(words: np.ndarray) -> np.ndarray:
    """(168, n) bool, hour-major: free for the whole UTC hour ``h`` of the week (quarter-hours
    ``4h .. 4h+3``, the ``h % 16``-th nibble of word ``h // 16``)."""
    full = np.uint64(0xF)
    return np.stack(
        [(words[h // 16] >> np.uint64(4 * (h % 16))) & full == full for h in range(_HOURS)]
    )


def _bucket_orders(pool: Pool, members: np.ndarray, rounds: int) -> list[np.ndarray]:
    """``rounds`` orders of ``members``, each sorted by an availability bucket (module doc):
    the first hour, in a random order of the week's hours, that the member is free for."""
    rng = pool.rng
    if pool.words is None:
        return [rng.permutation(members) for _ in range(rounds)]
    hours = _free_hours(pool.words[:, members])
    orders = []
    for _ in range(rounds):
        bucket = np.full(len(members), _HOURS, dtype=np.int64)  # free no whole hour: last
        waiting = np.ones(len(members), dtype=bool)
        for rank, hour in enumerate(rng.permutation(_HOURS).tolist()):
            found = waiting & hours[hour]
            bucket[found] = rank
            waiting &= ~found
            if not waiting.any():
                break
        shuffle = rng.integers(0, 1 << 32, len(members))  # random order within a bucket
        orders.append(members[np.argsort(bucket << 32 | shuffle)])
    return orders


def _scarce_first(n: int, u: np.ndarray, v: np.ndarray, tiebreak: np.ndarray) -> np.ndarray:
    """A matching of the edges ``u - v`` that serves the members with the fewest options first.

    Each round takes the locally dominant edges by (fewest remaining edges at the scarcer
    end, then ``tiebreak``) and counts the remaining edges again (the Karp-Sipser idea). For
    askers and offerers this gets close to a maximum matching where a plain greedy strands
    askers whose few offerers went to askers who had others (measured at 10,000 members
    with 12 candidates per asker: askers served 90.2 % by a static scarcity order, 91.2 % by
    this; a maximum matching of the same edges would serve 94.8 %).
    """
    mate = np.full(n, -1, dtype=np.int64)
    alive = np.arange(len(u))
    best = np.empty(n, dtype=np.int64)
    while len(alive):
        au, av = u[alive], v[alive]
        options = np.bincount(au, minlength=n) + np.bincount(av, minlength=n)
        scarce = np.minimum(np.minimum(options[au], options[av]), _OPTIONS_CAP)
        key = (_OPTIONS_CAP - scarce) << 44 | tiebreak[alive]  # tiebreak < 2**44
        rank = np.empty(len(alive), dtype=np.int64)
        rank[np.argsort(-key, kind="stable")] = np.arange(len(alive))
        best.fill(len(alive))
        np.minimum.at(best, au, rank)
        np.minimum.at(best, av, rank)
        take = (best[au] == rank) & (best[av] == rank)
        mate[au[take]] = av[take]
        mate[av[take]] = au[take]
        alive = alive[(mate[au] < 0) & (mate[av] < 0)]
    return mate


def _topic_candidates(pool: Pool) -> tuple[np.ndarray, np.ndarray]:
    """For each (asker, topic): of ``TOPIC_SAMPLE`` random offerers of that topic,
    ``GREEDY_TOPIC_K`` who share at least an hour with the asker where possible.

    Not the ones with the MOST overlap: those are the same few offerers free most of the
    week for every asker of the topic, who then compete for them (measured: 71 % of askers
    served instead of 90 % at 10,000 members).
    """
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
        if len(o) <= GREEDY_TOPIC_K:
            pick = np.broadcast_to(o, (len(a), len(o)))
        else:
            sample = o[pool.rng.integers(0, len(o), (len(a), TOPIC_SAMPLE))]
            overlap = pool.overlap(np.repeat(a, TOPIC_SAMPLE), sample.ravel()).reshape(sample.shape)
            rank = (overlap >= GOOD_OVERLAP) << 20 | pool.rng.integers(0, 1 << 20, overlap.shape)
            best = np.argpartition(-rank, GREEDY_TOPIC_K - 1, axis=1)[:, :GREEDY_TOPIC_K]
            pick = np.take_along_axis(sample, best, axis=1)
        us.append(np.repeat(a, pick.shape[1]))
        vs.append(pick.ravel())
    if not us:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(us), np.concatenate(vs)


def _greedy(
    n: int, u: np.ndarray, v: np.ndarray, key: np.ndarray, start: np.ndarray | None = None
) -> np.ndarray:
    """Greedy matching by decreasing ``key`` (extending the matching ``start``, if given),
    computed in rounds of locally dominant edges.

    An edge that is the best alive edge at both its ends would be taken by the sequential
    greedy too; taking all of them at once, then dropping edges that lost an end, gives the
    same matching in a few vectorised rounds instead of a Python loop over every edge.
    """
    mate = np.full(n, -1, dtype=np.int64) if start is None else start.copy()
    if not len(u):
        return mate
    order = np.argsort(-key, kind="stable")
    u, v = u[order], v[order]
    alive = np.flatnonzero((mate[u] < 0) & (mate[v] < 0))
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


def _repair(pool: Pool, mate: np.ndarray, edges: Edges) -> np.ndarray:
    """Cover the greedy's leftovers, in three steps of increasing cost.

    1. Leftovers among themselves (never-met edges of a circulant over them in a bucket
       order): in a large pool almost every two strangers are a valid never-met pair.
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
        sub = _circulant(pool, _bucket_orders(pool, left, 1)[0], 4)
        fresh = (sub.new > 0) | (sub.fav > 0)
        key = sub.key(pool.rng.integers(0, 1 << JITTER_BITS, len(sub)))
        sub_mate = _greedy(n, sub.u[fresh], sub.v[fresh], key[fresh])
        got = sub_mate >= 0
        mate[got] = sub_mate[got]
    left = np.flatnonzero(mate < 0)
    if len(left) <= 1:
        return mate
    is_left = np.zeros(n, dtype=bool)
    is_left[left] = True
    touch = is_left[edges.u] | is_left[edges.v]
    near = unique(np.concatenate([edges.u[touch], edges.v[touch]]))
    near_mates = mate[near]
    region = unique(np.concatenate([left, near, near_mates[near_mates >= 0]]))
    if len(region) <= SPARSE_MAX:
        in_region = np.zeros(n, dtype=bool)
        in_region[region] = True
        inside = in_region[edges.u] & in_region[edges.v]
        lu, lv = np.triu_indices(len(left), 1)
        u = np.concatenate([edges.u[inside], left[lu]])
        v = np.concatenate([edges.v[inside], left[lv]])
        codes = unique(pool.code(u, v))
        codes = codes[~pool.is_blocked(codes)]
        local = np.searchsorted(region, np.stack([codes // n, codes % n]))
        sub = pool.features(region[local[0]], region[local[1]])
        sub.u, sub.v = local[0], local[1]
        jitter = pool.rng.integers(0, BLOSSOM_JITTER, len(sub))
        weights = sub.blossom_weights(len(region) // 2, jitter)
        local_mate = blossom(len(region), sub, weights)
        if int((local_mate >= 0).sum()) >= int((mate[region] >= 0).sum()):
            mate[region] = np.where(local_mate >= 0, region[np.maximum(local_mate, 0)], -1)
        return mate
    sub = _circulant(pool, _bucket_orders(pool, left, 1)[0], 8)
    key = sub.key(pool.rng.integers(0, 1 << JITTER_BITS, len(sub)))
    sub_mate = _greedy(n, sub.u, sub.v, key)
    got = sub_mate >= 0
    mate[got] = sub_mate[got]
    return mate


def _circulant(pool: Pool, order: np.ndarray, shifts: int) -> Edges:
    """Non-blocked edges ``order[i] - order[i + s]`` for ``s = 1..shifts`` (wrapping)."""
    u = np.concatenate([order] * shifts)
    v = np.concatenate([np.roll(order, -s) for s in range(1, shifts + 1)])
    keep = u != v
    codes = unique(pool.code(u[keep], v[keep]))
    codes = codes[~pool.is_blocked(codes)]
    return pool.features(codes // pool.n, codes % pool.n)
