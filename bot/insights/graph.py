"""The connection graph: today's pool members as anonymous nodes, pairs who met as edges.

Figures are over the whole graph. The map draws at most `MAX_DOTS` dots, in the proportions of
the whole (largest cluster, other clusters, members without a connection): 10,000 dots and
250,000 lines would be an unreadable blot on a phone and take seconds to draw.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import rustworkx as rx

from .history import ANSWER, GROUP, MET, USER

MAX_DOTS = 400
LARGEST_RADIUS = 0.62  # the largest cluster fills the middle of the map...
CLUSTER_RING = 0.84  # ...other clusters sit on a ring around it...
RIM = 1.0  # ...and members without a connection on the rim
EDGES_PER_CALL = 10_000  # rustworkx holds the GIL while it adds them; the event loop waits


@dataclass(frozen=True, slots=True)
class ConnectionFigures:
    """How connected today's pool is."""

    members: int  # current pool members
    connected: int  # of them, with at least one connection to another
    clusters: int  # groups of two or more members linked by connections
    largest: int  # members in the largest cluster

    @property
    def share_connected(self) -> float:
        """The share of pool members with at least one connection (0 for an empty pool)."""
        return self.connected / self.members if self.members else 0.0


@dataclass(frozen=True, slots=True)
class ConnectionGraph:
    """The graph and its figures; node indexes, not member ids, from here on."""

    graph: rx.PyGraph
    components: list[list[int]]  # clusters of two or more, largest first
    isolated: list[int]
    figures: ConnectionFigures


@dataclass(frozen=True, slots=True)
class ConnectionMap:
    """Where to draw the dots and lines (unit disc coordinates), and how many were sampled."""

    largest: np.ndarray  # (n, 2)
    others: np.ndarray  # (n, 2)
    isolated: np.ndarray  # (n, 2)
    lines: np.ndarray  # (m, 2, 2)
    shown: int
    total: int


def met_pairs(assignments: np.ndarray) -> np.ndarray:
    """Every two members of a group that met, over all rounds: (m, 2) user ids, may repeat.

    The "met" rule: a group met when any of its members answered "We met"; then every two of
    its members are connected. A partner's "Not yet" does not undo it (answers come at
    different times), and a group nobody answered for is not counted (we do not know). Groups
    are pairs or trios, so each member is linked to the next one and the one after that.
    """
    order = np.lexsort((assignments[:, USER], assignments[:, GROUP]))
    group, user = assignments[order, GROUP], assignments[order, USER]
    met = assignments[order, ANSWER] == MET
    if not len(group):
        return np.zeros((0, 2), dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    group_met = np.repeat(np.maximum.reduceat(met, starts), np.diff(np.r_[starts, len(group)]))
    pairs = []
    for step in (1, 2):
        linked = (group[step:] == group[:-step]) & group_met[step:]
        pairs.append(np.column_stack((user[:-step][linked], user[step:][linked])))
    return np.concatenate(pairs)


def connection_graph(pool: Sequence[int], pairs: np.ndarray) -> ConnectionGraph:
    """Build the graph of `pool` with an edge for every pair of pool members who met."""
    members = np.array(sorted(pool), dtype=np.int64)
    graph = rx.PyGraph(multigraph=False)
    graph.add_nodes_from(range(len(members)))
    linked = np.zeros(len(members), dtype=bool)
    if len(members) and len(pairs):
        ends = np.searchsorted(members, pairs).clip(max=len(members) - 1)
        known = (members[ends] == pairs).all(axis=1)
        ends = np.sort(ends[known], axis=1)
        keys = np.unique(ends[:, 0] * len(members) + ends[:, 1])  # each edge once
        first, second = np.divmod(keys, len(members))
        linked[first] = linked[second] = True
        for at in range(0, len(keys), EDGES_PER_CALL):  # each call holds the GIL
            chunk = slice(at, at + EDGES_PER_CALL)
            graph.extend_from_edge_list(
                list(zip(first[chunk].tolist(), second[chunk].tolist(), strict=True))
            )
    components = sorted(
        (sorted(c) for c in rx.connected_components(graph) if len(c) > 1),
        key=lambda c: (-len(c), c[0]),
    )
    isolated = np.flatnonzero(~linked).tolist()
    figures = ConnectionFigures(
        members=len(pool),
        connected=len(pool) - len(isolated),
        clusters=len(components),
        largest=len(components[0]) if components else 0,
    )
    return ConnectionGraph(graph, components, isolated, figures)


def connection_map(connections: ConnectionGraph, max_dots: int = MAX_DOTS) -> ConnectionMap:
    """Lay the map out: the largest cluster by springs in the middle, each other cluster as a
    small circle on a ring, and members without a connection evenly on the rim."""
    graph = connections.graph
    total = graph.num_nodes()
    scale = min(1.0, max_dots / total) if total else 1.0
    lines: list[np.ndarray] = []
    largest = np.zeros((0, 2))
    if connections.components:
        biggest = connections.components[0]
        sample = ball(graph, biggest, quota(len(biggest), scale))
        largest, drawn = spring(graph, sample)
        lines.append(drawn)
    budget = quota(sum(len(c) for c in connections.components[1:]), scale)
    picked: list[list[int]] = []
    for component in connections.components[1:]:
        if budget <= 0:
            break
        take = min(len(component), max(2, quota(len(component), scale)), max(budget, 2))
        picked.append(ball(graph, component, take))
        budget -= take
    others = np.zeros((0, 2))
    if picked:
        others, drawn = ring_of_clusters(graph, picked)
        lines.append(drawn)
    isolated = rim(quota(len(connections.isolated), scale))
    segments = np.concatenate(lines) if lines else np.zeros((0, 2, 2))
    return ConnectionMap(
        largest=largest,
        others=others,
        isolated=isolated,
        lines=segments,
        shown=len(largest) + len(others) + len(isolated),
        total=total,
    )


def quota(size: int, scale: float) -> int:
    """How many of `size` dots to draw at `scale` (at least one of anything that exists)."""
    return min(size, max(1, round(size * scale))) if size else 0


def ball(graph: rx.PyGraph, component: list[int], size: int) -> list[int]:
    """`size` members of a cluster that stay linked: breadth-first from its best-connected one."""
    if size >= len(component):
        return component
    start = max(component, key=lambda node: (graph.degree(node), -node))
    seen = {start}
    queue = deque([start])
    while queue and len(seen) < size:
        for neighbour in sorted(graph.neighbors(queue.popleft())):
            if neighbour not in seen:
                seen.add(neighbour)
                queue.append(neighbour)
                if len(seen) == size:
                    break
    return sorted(seen)


def spring(graph: rx.PyGraph, nodes: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Dots and lines of `nodes` laid out by springs, fitted in the middle of the map."""
    sub = graph.subgraph(nodes)
    edges = list(sub.edge_list())
    points = force_directed(sub.num_nodes(), edges)
    points -= points.mean(axis=0)
    reach = float(np.abs(points).max()) if len(points) > 1 else 1.0
    points *= LARGEST_RADIUS / (reach or 1.0)
    return points, segments(points, edges)


def force_directed(count: int, edges: Sequence[tuple[int, int]], rounds: int = 30) -> np.ndarray:
    """Fruchterman-Reingold positions (as networkx computes them), in numpy.

    rustworkx's `spring_layout` holds the GIL for its whole run (~0.1 s for 300 nodes), which
    would stall the bot's event loop; each numpy step here takes a few milliseconds, so the
    event loop gets its turns in between.
    """
    rng = np.random.default_rng(16)
    points = rng.random((count, 2))
    if count < 2:
        return points
    adjacency = np.zeros((count, count))
    if edges:
        pairs = np.asarray(edges, dtype=np.intp)
        adjacency[pairs[:, 0], pairs[:, 1]] = adjacency[pairs[:, 1], pairs[:, 0]] = 1.0
    spacing = math.sqrt(1.0 / count)
    temperature = 0.1
    cooling = temperature / (rounds + 1)
    for _ in range(rounds):
        dx = points[:, 0, np.newaxis] - points[np.newaxis, :, 0]
        dy = points[:, 1, np.newaxis] - points[np.newaxis, :, 1]
        distance = np.maximum(np.hypot(dx, dy), 0.01)
        force = spacing * spacing / (distance * distance) - adjacency * (distance / spacing)
        move = np.column_stack(((dx * force).sum(axis=1), (dy * force).sum(axis=1)))
        length = np.hypot(move[:, 0], move[:, 1])
        length[length < 0.01] = 0.1
        points += move * (temperature / length)[:, np.newaxis]
        temperature -= cooling
    return points


def ring_of_clusters(graph: rx.PyGraph, clusters: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Each cluster as a small circle of dots, the circles spaced around a ring."""
    points: list[np.ndarray] = []
    lines: list[np.ndarray] = []
    spacing = 2 * math.pi / len(clusters)
    for k, nodes in enumerate(clusters):
        angle = k * spacing
        centre = CLUSTER_RING * np.array([math.cos(angle), math.sin(angle)])
        radius = min(
            max(0.05, 0.035 * math.sqrt(len(nodes))),
            CLUSTER_RING * math.sin(min(spacing, math.pi) / 2) * 0.9,
        )
        turns = np.linspace(0, 2 * math.pi, len(nodes), endpoint=False) + angle
        circle = centre + radius * np.column_stack((np.cos(turns), np.sin(turns)))
        points.append(circle)
        lines.append(segments(circle, graph.subgraph(nodes).edge_list()))
    return np.concatenate(points), np.concatenate(lines)


def rim(count: int) -> np.ndarray:
    """`count` dots evenly around the rim of the map."""
    turns = np.linspace(0, 2 * math.pi, count, endpoint=False) + math.pi / 2
    return RIM * np.column_stack((np.cos(turns), np.sin(turns)))


def segments(points: np.ndarray, edges: Sequence[tuple[int, int]]) -> np.ndarray:
    """Line segments (m, 2, 2) between `points` for each edge of indexes into them."""
    if not edges:
        return np.zeros((0, 2, 2))
    pairs = np.asarray(edges, dtype=np.intp)
    return np.stack((points[pairs[:, 0]], points[pairs[:, 1]]), axis=1)
