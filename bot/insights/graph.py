"""The connection graph: today's pool members as anonymous nodes, pairs who met as edges.

Figures are over the whole graph. The map draws at most `MAX_DOTS` dots, in the proportions of
the whole (largest cluster, other clusters, members without a connection): 10,000 dots and
250,000 lines would be an unreadable blot on a phone and take seconds to draw.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import rustworkx as rx

from bot.db import Row

MAX_DOTS = 600
LARGEST_RADIUS = 0.62  # the largest cluster fills the middle of the map...
CLUSTER_RING = 0.84  # ...other clusters sit on a ring around it...
RIM = 1.0  # ...and members without a connection on the rim


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


def connection_graph(pool: Sequence[int], met_pairs: Iterable[Row]) -> ConnectionGraph:
    """Build the graph of `pool` with an edge for every pair of pool members who met."""
    index = {user_id: i for i, user_id in enumerate(pool)}
    graph = rx.PyGraph(multigraph=False)
    graph.add_nodes_from(range(len(pool)))
    edges = []
    for a, b in met_pairs:
        i, j = index.get(a), index.get(b)
        if i is not None and j is not None:
            edges.append((i, j))
    graph.extend_from_edge_list(edges)
    components = sorted(
        (sorted(c) for c in rx.connected_components(graph) if len(c) > 1),
        key=lambda c: (-len(c), c[0]),
    )
    isolated = [node for node in graph.node_indices() if graph.degree(node) == 0]
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
    layout = rx.spring_layout(sub, seed=16, num_iter=60)
    points = np.array([layout[i] for i in range(sub.num_nodes())], dtype=float).reshape(-1, 2)
    points -= points.mean(axis=0)
    reach = float(np.abs(points).max()) if len(points) > 1 else 1.0
    points *= LARGEST_RADIUS / (reach or 1.0)
    return points, segments(points, sub.edge_list())


def ring_of_clusters(graph: rx.PyGraph, clusters: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Each cluster as a small circle of dots, the circles spaced around a ring."""
    points: list[np.ndarray] = []
    lines: list[np.ndarray] = []
    spacing = 2 * math.pi / len(clusters)
    for k, nodes in enumerate(clusters):
        angle = k * spacing
        centre = CLUSTER_RING * np.array([math.cos(angle), math.sin(angle)])
        radius = min(0.035 * math.sqrt(len(nodes)), CLUSTER_RING * math.sin(spacing / 2) * 0.9)
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
