"""The exact solvers: Edmonds' blossom (rustworkx) on the complete or a sparse candidate graph.

Why a module: small and mid-size pools (``n <= SPARSE_MAX``) are solved exactly - on the
complete non-blocked graph, or on each member's ``SPARSE_K`` best candidates with a fallback for
those the sparse graph served badly - with a one-step lookahead late in a cycle. The greedy
path's repair reuses ``blossom`` for its exact re-solve. Each solver returns ``mate``: the
partner position of every member, or -1.
"""

from __future__ import annotations

import numpy as np
import rustworkx as rx

from ._pool import Pool, unique
from ._weights import BLOSSOM_JITTER, GOOD_OVERLAP, JITTER_BITS, Edges, pair_key

#: Up to this many members the exact solver runs on a sparse candidate graph.
SPARSE_MAX = 2500
#: Candidates per member on the sparse exact path.
SPARSE_K = 12
#: The lookahead runs when never-met partners per member are this few on average...
LOOKAHEAD_DEGREE = 10
#: ...and tries at most this many equally good matchings.
LOOKAHEAD_TRIES = 30

# At most about this many edges are added back for members the sparse graph served badly.
_FALLBACK_EDGES = 200_000


def blossom(n: int, edges: Edges, weights: list[int]) -> np.ndarray:
    """Maximum-cardinality, maximum-weight matching: each position's mate, or -1."""
    graph = rx.PyGraph(multigraph=False)
    graph.add_nodes_from(range(n))
    graph.add_edges_from(zip(edges.u.tolist(), edges.v.tolist(), range(len(edges)), strict=True))
    found = rx.max_weight_matching(graph, max_cardinality=True, weight_fn=weights.__getitem__)
    mate = np.full(n, -1, dtype=np.int64)
    for a, b in found:
        mate[a], mate[b] = b, a
    return mate


def all_edges(pool: Pool, rows: np.ndarray | None = None) -> Edges:
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


def solve_full(pool: Pool) -> np.ndarray:
    """Exact on the complete graph."""
    return solve_exact(pool, all_edges(pool), lookahead=True)


def solve_exact(pool: Pool, edges: Edges, *, lookahead: bool) -> np.ndarray:
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
        jitter = pool.rng.integers(0, BLOSSOM_JITTER, len(edges))
        return blossom(n, edges, edges.blossom_weights(pairs, jitter))

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


def solve_sparse(pool: Pool) -> np.ndarray:
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
        age = met[rows]
        # No favoured level here: it would put the favoured into everyone's top k, leaving
        # the others without candidates of their own. The favoured get their own k. Nor the
        # amount of overlap: it would do the same with the members free most often (everyone's
        # best partners), leaving some uncovered; the hour threshold keeps the choice random
        # among good partners, and the solve itself then prefers more overlap.
        good = pool.overlap_matrix(rows) >= GOOD_OVERLAP if pool.words is not None else True
        topic = np.zeros((len(rows), n), dtype=np.int8)
        if pool.has_topics:
            for w in range(pool.ask_mask.shape[1]):
                a_r, o_r = pool.ask_mask[rows, w][:, None], pool.offer_mask[rows, w][:, None]
                topic += (a_r & pool.offer_mask[None, :, w]) != 0
                topic += (o_r & pool.ask_mask[None, :, w]) != 0
        key = pair_key(
            fav=0,
            new=age == 0,
            good=good,
            topic=np.minimum(topic, 2),
            overlap=0,
            age=age,
            jitter=pool.rng.integers(0, 1 << JITTER_BITS, age.shape, dtype=np.int32),
        )
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
    codes = unique(pool.code(u, v))
    mate = solve_exact(pool, pool.features(codes // n, codes % n), lookahead=with_never)
    # Members the candidates served badly (uncovered beyond parity, or in a repeat pair):
    # give them all their edges and solve again.
    partner = np.maximum(mate, 0)
    repeat = (mate >= 0) & (pool.age(pool.code(np.arange(n), partner)) > 0)
    uncovered = mate < 0
    if int(uncovered.sum()) > n % 2 or (repeat.any() and not with_never):
        # Uncovered first; bounded, so a pathological pool cannot make the graph complete.
        rows = np.concatenate([np.flatnonzero(uncovered), np.flatnonzero(repeat)])
        rows = rows[: max(1, _FALLBACK_EDGES // n)]
        extra = all_edges(pool, rows)
        codes = unique(np.concatenate([codes, pool.code(extra.u, extra.v)]))
        mate = solve_exact(pool, pool.features(codes // n, codes % n), lookahead=False)
    return mate
