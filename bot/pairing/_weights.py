"""The objective's encodings: candidate edges and the integers that rank them.

Why a module: every solver scores candidate pairs by the same components (favoured, never-met,
age, topic) and ranks them through one of two encodings that must agree on the order of the
levels - a pair-level int64 sort key (greedy, sparse candidate choice) and matching-level
blossom weights whose *sum* is lexicographic. Keeping both encodings and the bit layout side by
side is what keeps them in step. See ``engine`` for the objective itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Bit layout of the pair-level int64 sort key (higher fields dominate lower ones).
JITTER_BITS = 24
TOPIC_BITS = 2
AGE_BITS = 24
AGE_MAX = (1 << AGE_BITS) - 1
# Jitter range in the matching-level (blossom) weights; small keeps the integers small.
BLOSSOM_JITTER = 1 << 10


@dataclass
class Edges:
    """Candidate edges ``u[k] - v[k]`` with their objective components."""

    u: np.ndarray
    v: np.ndarray
    fav: np.ndarray
    new: np.ndarray
    age: np.ndarray
    topic: np.ndarray

    def __len__(self) -> int:
        return len(self.u)

    def subset(self, keep: np.ndarray) -> Edges:
        return Edges(
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
        k = k << AGE_BITS | self.age
        k = k << TOPIC_BITS | self.topic
        return k << JITTER_BITS | jitter

    def blossom_weights(self, pairs: int, age_levels: int, jitter: np.ndarray) -> list[int]:
        """Matching-level weights whose *sum* is lexicographic over the objective's levels.

        Each level's multiplier exceeds the largest possible total of all lower levels over a
        matching of ``pairs`` edges, so no amount of topic matches buys a repeat, etc. The
        numbers exceed int64 for large pools; rustworkx takes Python ints (128-bit inside).
        """
        p = pairs + 1
        b_topic = p * BLOSSOM_JITTER
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
