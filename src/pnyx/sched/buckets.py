"""Open nodes bucketed by (type, level, free count, idle), each bucket a min-heap of node ids.

Finding the best-fit node for a one-node job is then a walk over at most (free counts x levels
x 2) buckets, smallest free count first, never over the nodes. Moving a node between buckets
is O(log n); heaps are cleaned lazily (an entry is live while its node is in the bucket's set).
"""

from __future__ import annotations

import heapq

from pnyx.sched.facility import MAX_LEVEL


class NodeBuckets:
    """Node ids grouped by an integer key; ``first(key)`` is the lowest id in the bucket."""

    def __init__(self, n_types: int, max_free: int) -> None:
        self.n_free = max_free + 1
        size = n_types * (MAX_LEVEL + 1) * self.n_free * 2
        self.members: list[set[int]] = [set() for _ in range(size)]
        """Bucket contents, by key (read-only outside this class)."""
        self.heaps: list[list[int]] = [[] for _ in range(size)]
        """Per key, a min-heap of node ids with stale entries (written only by this class and
        by :meth:`pnyx.sched.capacity.CapacityIndex._shift`, which inlines a move)."""

    def key(self, type_code: int, level: int, free: int, idle: bool) -> int:
        """The bucket of open nodes of ``type_code`` at ``level`` with ``free`` accelerators.

        Keys of one (type, level) are ``key(t, c, 0, False) + 2 * free + idle``.
        """
        return ((type_code * (MAX_LEVEL + 1) + level) * self.n_free + free) * 2 + idle

    def add(self, key: int, node: int) -> None:
        """Put ``node`` in bucket ``key``."""
        members = self.members[key]
        if node not in members:
            members.add(node)
            heapq.heappush(self.heaps[key], node)

    def remove(self, key: int, node: int) -> None:
        """Take ``node`` out of bucket ``key`` (its heap entry goes stale)."""
        members = self.members[key]
        members.discard(node)
        heap = self.heaps[key]
        if len(heap) > 2 * len(members) + 64:
            self.heaps[key] = sorted(members)

    def first(self, key: int) -> int | None:
        """The lowest node id in bucket ``key``, or None when it is empty."""
        members = self.members[key]
        if not members:
            return None
        heap = self.heaps[key]
        while heap[0] not in members:
            heapq.heappop(heap)
        return heap[0]

    def __len__(self) -> int:
        return sum(len(m) for m in self.members)
