"""The large-pool solver: sampled candidates, a vectorised greedy, then a repair.

Why a module: above ``SPARSE_MAX`` members an exact matching is too slow, so candidates come
from a seeded circulant graph plus topic candidates, a greedy takes locally dominant never-met
edges in vectorised rounds, and a repair covers the leftovers (among themselves, then an exact
re-solve of their neighbourhood). Returns ``mate`` like the exact solvers.
"""

from __future__ import annotations

import numpy as np

from ._exact import SPARSE_MAX, blossom
from ._pool import Pool, unique
from ._weights import BLOSSOM_JITTER, JITTER_BITS, Edges

#: Random circulant shifts (each gives every member two candidates) on the greedy path.
GREEDY_SHIFTS = 6
#: Topic candidates sampled per (asker, topic) on the greedy path.
GREEDY_TOPIC_K = 8


def solve_greedy(pool: Pool) -> np.ndarray:
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
    codes = unique(pool.code(u[keep], v[keep]))
    codes = codes[~pool.is_blocked(codes)]
    edges = pool.features(codes // n, codes % n)
    # The greedy takes never-met edges only: a repeat edge taken greedily at the end could
    # block a never-met pair the repair would find. Repeats are left to the exact step.
    fresh = edges.subset((edges.new > 0) | (edges.fav > 0))
    mate = _greedy(n, fresh, fresh.key(_topic_priority(n, fresh, rng)))
    return _repair(pool, mate, edges)


def _topic_priority(n: int, edges: Edges, rng: np.random.Generator) -> np.ndarray:
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


def _topic_candidates(pool: Pool) -> tuple[np.ndarray, np.ndarray]:
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


def _greedy(n: int, edges: Edges, key: np.ndarray) -> np.ndarray:
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


def _repair(pool: Pool, mate: np.ndarray, edges: Edges) -> np.ndarray:
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
        sub_mate = _greedy(n, sub, sub.key(pool.rng.integers(0, 1 << JITTER_BITS, len(sub))))
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
        weights = sub.blossom_weights(len(region) // 2, pool.age_levels, jitter)
        local_mate = blossom(len(region), sub, weights)
        if int((local_mate >= 0).sum()) >= int((mate[region] >= 0).sum()):
            mate[region] = np.where(local_mate >= 0, region[np.maximum(local_mate, 0)], -1)
        return mate
    sub = _circulant(pool, pool.rng.permutation(left), 8)
    sub_mate = _greedy(n, sub, sub.key(pool.rng.integers(0, 1 << JITTER_BITS, len(sub))))
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
