"""Odd counts and left-outs: who joins a pair as a third, and who cannot be placed.

Why a module: a matching leaves members over (one for an odd pool, more where blocks forbid
pairs). Each of them, favoured first, joins the pair to which they add the fewest repeats and no
blocked pair, preferring (as the engine's order says) a trio whose common weekly overlap - the
time all THREE are free - is at least an hour; one who fits nowhere may swap in for a pair
member who fits elsewhere (rescue). Only those placed nowhere are left out. ``placeable`` tells
``match`` whether retrying with the left-out favoured can help.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._pool import Pool
from ._weights import AGE_MAX, GOOD_OVERLAP


def placeable(pool: Pool, members: Sequence[int]) -> bool:
    """Whether any of ``members`` has anyone in the pool they may meet."""
    pos, _ok = pool.positions(np.array(members, dtype=np.int64))
    others = np.arange(pool.n, dtype=np.int64)
    for x in pos.tolist():
        blocked = pool.is_blocked(pool.code(np.full(pool.n, x, dtype=np.int64), others))
        if int((~blocked).sum()) > 1:  # itself is never blocked: more than one means someone
            return True
    return False


def place(pool: Pool, mate: np.ndarray) -> tuple[list[list[int]], list[int]]:
    """The pairs of ``mate`` plus each unmatched member as a third where they fit (pool
    positions), and the unmatched members who fit nowhere."""
    n = pool.n
    a = np.flatnonzero((mate >= 0) & (mate > np.arange(n)))
    groups: list[list[int]] = [[x, y] for x, y in zip(a.tolist(), mate[a].tolist(), strict=True)]
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
    return groups, left_out


def _rescue(
    pool: Pool,
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
    order = np.lexsort((pool.rng.random(len(a)), np.where(age > 0, -age, -(AGE_MAX + 1))))
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


def _best_trio(pool: Pool, x: int, pa: np.ndarray, pb: np.ndarray, taken: np.ndarray) -> int:
    """Index of the pair ``x`` should join, or -1: no block, fewest repeats, a common overlap of
    an hour, topics, more common overlap, the oldest meetings."""
    xs = np.full(len(pa), x, dtype=np.int64)
    ca, cb = pool.code(xs, pa), pool.code(xs, pb)
    ok = ~taken & ~pool.is_blocked(ca) & ~pool.is_blocked(cb)
    if not ok.any():
        return -1
    age_a, age_b = pool.age(ca), pool.age(cb)
    repeats = (age_a > 0).astype(np.int64) + (age_b > 0)
    # Of the repeats, prefer the oldest: never-met counts as older than any meeting.
    oldest = np.where(age_a > 0, age_a, AGE_MAX + 1) + np.where(age_b > 0, age_b, AGE_MAX + 1)
    topic = pool.topic(xs, pa) + pool.topic(xs, pb)
    overlap = pool.overlap(xs, pa, pb)
    good = (overlap >= GOOD_OVERLAP) | (pool.words is None)
    jitter = pool.rng.random(len(pa))
    order = np.lexsort((jitter, -oldest, -overlap, -topic, ~good, repeats, ~ok))
    return int(order[0])
