"""The matching engine behind `solver.suggest`: households on the left, cadres on the right.

It knows nothing of the pairing rules; `solver` hands it a `Graph` whose edges are the pairings
that `check_pairing` accepts, each household's cadres sorted best first, and two twists:

- top-up cadres (择优补充) may be used only in the second phase, once no leader is left to try;
- a *conditional* edge (a man for a household with a girl orphan) is usable only while every
  woman in the household's `needs` (the free women the hard rules allow for its girls) is taken.
  Augmenting paths never free a taken cadre, so a condition that holds stays true.

`match` returns, for each household, the index of its cadre or `FREE`. See `solver` for the
algorithm as a whole and its complexity.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

FREE = -1


@dataclass(frozen=True)
class Graph:
    adj: Sequence[Sequence[int]]  # per household: the cadres that may take it, best first
    conditional: Sequence[frozenset[int]]  # per household: men usable only once `needs` are taken
    needs: Sequence[frozenset[int]]  # per household: women who must be taken before a man is
    coarse: Sequence[Mapping[int, tuple[int, ...]]]  # per household: what a swap may not worsen
    topup: Sequence[bool]  # per cadre: 择优补充, used in the second phase only
    weight: Sequence[int]  # per household: its subjects
    order: Sequence[int]  # households in the order they are placed


def match(graph: Graph) -> list[int]:
    return _Matcher(graph).run()


class _Matcher:
    def __init__(self, graph: Graph) -> None:
        self.g = graph
        self.left = [FREE] * len(graph.adj)
        self.right = [FREE] * len(graph.topup)
        self.phase = 0
        self.radj: list[list[int]] = [[] for _ in graph.topup]
        for h in graph.order:
            for c in graph.adj[h]:
                self.radj[c].append(h)
        self.position = [{c: i for i, c in enumerate(cs)} for cs in graph.adj]
        self.needed = frozenset().union(*graph.needs)
        self.rank = {h: i for i, h in enumerate(graph.order)}

    def run(self) -> list[int]:
        self._augment_all()  # phase 0: leaders and the other regular cadres only
        self.phase = 1
        while True:
            changed = self._augment_all()
            dead: set[int] = set()
            for h in self.g.order:
                if self.left[h] == FREE and (self._exchange(h, dead) or self._unblock(h)):
                    changed = True
                    dead = set()
            if not self._improve() and not changed:
                return self.left

    # -- usable edges ---------------------------------------------------------------------------

    def _usable(self, h: int, c: int, released: int = FREE) -> bool:
        if self.phase == 0 and self.g.topup[c]:
            return False
        if c in self.g.conditional[h]:
            return all(self.right[w] != FREE and w != released for w in self.g.needs[h])
        return True

    def _unlocked(self) -> int:
        return sum(1 for h, c in enumerate(self.g.conditional) if c and self._needs_taken(h))

    def _needs_taken(self, h: int) -> bool:
        return all(self.right[w] != FREE for w in self.g.needs[h])

    def _protected(self) -> frozenset[int]:
        """Women who keep a conditional edge in use: freeing one would break its condition."""
        return frozenset().union(
            *(self.g.needs[h] for h, c in enumerate(self.left) if c != FREE and c in self.g.conditional[h])
        )

    def _consistent(self) -> bool:
        return all(self._needs_taken(h) for h, c in enumerate(self.left) if c in self.g.conditional[h])

    # -- augmenting paths -----------------------------------------------------------------------

    def _augment_all(self) -> bool:
        """Passes over the free households until none finds an augmenting path (Kuhn with BFS).

        A household without a path keeps none while the usable edges stay the same; another pass
        is needed only when a pass unlocked conditional edges.
        """
        placed = False
        while True:
            unlocked = self._unlocked()
            progress = False
            dead: set[int] = set()  # cadres from which no free cadre can be reached
            for h in self.g.order:
                if self.left[h] == FREE and self._augment(h, dead):
                    progress = placed = True
                    dead = set()
            if not progress or self._unlocked() == unlocked:
                return placed

    def _tree(self, root: int, dead: set[int]) -> tuple[int, dict[int, int], list[int], set[int]]:
        """Breadth-first alternating tree from `root`, each household trying its best cadres first.

        Returns the first free cadre reached (or FREE), which household reached each cadre, the
        matched households reached in order, and the households whose men were locked.
        """
        via: dict[int, int] = {}
        reached: list[int] = []
        locked: set[int] = set()
        queue = deque([root])
        while queue:
            h = queue.popleft()
            for c in self.g.adj[h]:
                if c in dead or c in via:
                    continue
                if not self._usable(h, c):
                    if c in self.g.conditional[h]:
                        locked.add(h)
                    continue
                via[c] = h
                if self.right[c] == FREE:
                    return c, via, reached, locked
                reached.append(self.right[c])
                queue.append(self.right[c])
        return FREE, via, reached, locked

    def _flip(self, c: int, via: Mapping[int, int]) -> None:
        """Each household on the path from the root to `c` takes the next cadre."""
        while c != FREE:
            h = via[c]
            self.left[h], c = c, self.left[h]
            self.right[self.left[h]] = h

    def _augment(self, root: int, dead: set[int]) -> bool:
        c, via, _, _ = self._tree(root, dead)
        if c == FREE:
            dead.update(via)
            return False
        self._flip(c, via)
        return True

    def _exchange(self, root: int, dead: set[int]) -> bool:
        """Places `root` by an augmenting path, or else in place of a household with fewer
        subjects that its alternating tree reaches (the lightest, placed last). Roots come
        heaviest first, so a dead cadre stays dead for the later ones."""
        c, via, reached, _ = self._tree(root, dead)
        if c != FREE:
            self._flip(c, via)
            return True
        lighter = [u for u in reached if self.g.weight[u] < self.g.weight[root]]
        if not lighter:
            dead.update(via)
            return False
        u = max(lighter, key=lambda u: (-self.g.weight[u], self.rank[u]))
        c, self.left[u] = self.left[u], FREE
        self.right[c] = FREE
        self._flip(c, via)
        return True

    # -- unblocking a girl's household ----------------------------------------------------------

    def _unblock(self, h: int) -> bool:
        """Unlocks the men that `h`'s alternating tree met locked, then places `h`.

        A lock is a free woman the hard rules allow for a girl of that household, who may still
        not take the household (it needs a leader, or has a member she may not take): another
        household moves to her and releases a cadre nobody's condition needs. All or nothing.
        """
        _, _, _, locked = self._tree(h, set())
        keep = frozenset().union(*(self.g.needs[u] for u in locked))
        blockers = sorted(w for w in keep if self.right[w] == FREE)
        if not blockers:
            return False
        saved = self.left[:], self.right[:]
        if all(self._occupy(w, keep) for w in blockers):
            # `h` itself may have been moved into a released cadre on the way
            if (self.left[h] != FREE or self._exchange(h, set())) and self._consistent():
                return True
        self.left, self.right = saved
        return False

    def _occupy(self, start: int, keep: frozenset[int]) -> bool:
        """Moves households along an alternating path so that the free cadre `start` is taken,
        ending at a household that was free or at a cadre that may be released."""
        protected = self._protected() | keep
        move: dict[int, tuple[int, int]] = {}  # vacated cadre -> (household leaving it, cadre it takes)
        queue = deque([start])
        while queue:
            r = queue.popleft()
            for u in self.radj[r]:
                c = self.left[u]
                if c == r or c in move or c == start or not self._usable(u, r):
                    continue
                if c != FREE:
                    move[c] = (u, r)
                    if c in protected:
                        queue.append(c)
                        continue
                    self.right[c] = FREE
                while True:
                    self.left[u], self.right[r] = r, u
                    if r == start:
                        return True
                    u, r = move[r]
        return False

    # -- local improvement ----------------------------------------------------------------------

    def _improve(self) -> bool:
        """Moves a household to a better free cadre, or lets a household of several subjects swap
        cadres with a single subject who loses nothing that counts. Every step makes a household
        strictly better off; repeated until none applies."""
        changed = False
        again = True
        while again:
            again = False
            for h in self.g.order:
                cur = self.left[h]
                if cur == FREE:
                    continue
                for c in self.g.adj[h]:
                    if c == cur:
                        break
                    if self._move(h, cur, c) or (self.g.weight[h] > 1 and self._swap(h, cur, c)):
                        again = changed = True
                        break
        return changed

    def _move(self, h: int, cur: int, c: int) -> bool:
        if self.right[c] != FREE or not self._usable(h, c, released=cur):
            return False
        if cur in self.needed and cur in self._protected():
            return False
        self.right[cur], self.left[h], self.right[c] = FREE, c, h
        return True

    def _swap(self, h: int, cur: int, c: int) -> bool:
        s = self.right[c]
        if s == FREE or self.g.weight[s] > 1 or cur not in self.position[s]:
            return False
        if self.g.coarse[s][cur] > self.g.coarse[s][c]:
            return False
        if not (self._usable(s, cur) and self._usable(h, c)):
            return False
        self.left[h], self.left[s], self.right[c], self.right[cur] = c, cur, h, s
        return True
