"""The objective's encodings: candidate edges and the integers that rank them.

Why a module: every solver scores candidate pairs by the same components and ranks them
through one of two encodings that must agree on the order of the levels - a pair-level int64
sort key (greedy, sparse candidate choice) and matching-level blossom weights whose *sum* is
lexicographic. Keeping both encodings and the bit layout side by side is what keeps them in
step. The levels, highest first (see ``engine`` for why this order)::

    fav      members left out last round in the pair (0..2)
    new      never met (or a mutual "Meet again")        (0/1)
    good     weekly overlap >= GOOD_OVERLAP quarter-hours (0/1)
    topic    askers served by an offerer of their topic   (0..2)
    overlap  weekly overlap in whole hours                (0..168)
    age      how long ago they met (oldest = highest; 0 for never met)

``Edges.overlap`` holds quarter-hours (``good`` is exact); the ``overlap`` level counts whole
hours, because quarter-hour precision there made the exact solver 1.7x slower (2,500 members)
for one minute more of mean overlap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: 60 minutes of weekly overlap: the threshold of the ``good`` level.
GOOD_OVERLAP = 4

# Bit layout of the pair-level int64 sort key, low to high (higher fields dominate).
JITTER_BITS = 16
AGE_BITS = 20
AGE_MAX = (1 << AGE_BITS) - 1
OVERLAP_BITS = 8  # 168 hours fit
TOPIC_BITS = 2
# Jitter range in the matching-level (blossom) weights; small keeps the integers small.
BLOSSOM_JITTER = 1 << 10


def pair_key(
    *,
    fav: np.ndarray | int,
    new: np.ndarray | bool,
    good: np.ndarray | bool,
    topic: np.ndarray | int,
    overlap: np.ndarray | int,
    age: np.ndarray,
    jitter: np.ndarray,
) -> np.ndarray:
    """The pair-level order as one int64 (any array shape; a level may be a constant): the
    levels (``overlap`` in whole hours), then ``jitter`` (< 2**JITTER_BITS)."""
    high = np.asarray(fav, dtype=np.int64) << 1 | new  # the levels above age: 12 bits
    high = high << 1 | good
    high = high << TOPIC_BITS | topic
    high = high << OVERLAP_BITS | overlap
    k = high << (AGE_BITS + JITTER_BITS) | age.astype(np.int64) << JITTER_BITS
    return k | jitter


@dataclass
class Edges:
    """Candidate edges ``u[k] - v[k]`` with their objective components (module docstring)."""

    u: np.ndarray
    v: np.ndarray
    fav: np.ndarray
    new: np.ndarray
    good: np.ndarray
    topic: np.ndarray
    overlap: np.ndarray
    age: np.ndarray

    def __len__(self) -> int:
        return len(self.u)

    def key(self, jitter: np.ndarray) -> np.ndarray:
        """Pair-level order as one int64 (see ``pair_key``)."""
        return pair_key(
            fav=self.fav,
            new=self.new,
            good=self.good,
            topic=self.topic,
            overlap=self.overlap // 4,
            age=self.age,
            jitter=jitter,
        )

    def blossom_weights(self, pairs: int, jitter: np.ndarray) -> list[int]:
        """Matching-level weights whose *sum* is lexicographic over the objective's levels.

        Each level's multiplier exceeds the largest possible total of all lower levels over a
        matching of ``pairs`` edges, so no amount of topic matches buys a repeat, etc. Ages
        are re-ranked densely among these edges and the overlap bounded by its maximum here,
        which keeps the integers below 2**120 (rustworkx computes in 128 bits) even with
        years of history. They exceed int64, hence Python ints.
        """
        age = self.age
        ages = np.unique(age[age > 0])
        age_rank = np.where(age > 0, np.searchsorted(ages, age) + 1, 0)
        hours = self.overlap // 4
        lowest_first = (
            (jitter, BLOSSOM_JITTER - 1),
            (age_rank, len(ages)),
            (hours, int(hours.max(initial=0))),
            (self.topic, 2),
            (self.good, 1),
            (self.new, 1),
            (self.fav, 2),
        )
        weight = np.ones(len(self), dtype=object)
        multiplier = 1
        for values, top in lowest_first:
            weight += values.astype(object) * multiplier
            multiplier *= top * (pairs + 1) + 1
        return weight.tolist()
