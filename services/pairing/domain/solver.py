"""Suggested pairings: which cadre for which unpaired subject of a township or unit (五、六).

`suggest(subjects, cadres, held=..., paired_households=...)` returns `Suggestions`: each placed
subject with its cadre and a Chinese explanation, and each subject it could not place with the
rules that excluded its candidates.

Validity. A suggestion never needs an override: `check_pairing` finds nothing against it in the
context of the finished plan — the subject's household (the given subjects sharing its
household_id), the household the cadre holds (`held`, or this plan), the cadre already pairing
the household (`paired_households`), and `female_cadre_available`: whether a woman the hard rules
allow for this girl is still free once the plan is complete (neither held nor suggested).
Suggestions that give a girl orphan to a man come last in `placed`, so that applying them in
order meets the same answer at every step. `overrides_needed` is therefore always empty.

One cadre per household: all given subjects of a household go to one cadre, a cadre takes one
household, and a household that already has a cadre can only go to that cadre.

Preferences, in order:
1. as many subjects placed as possible (应结尽结), counting a household by its subjects;
2. leaders (LEADER_KINDS with a 正职/副职 post) and the other regular cadres before the top-up
   cadres (择优补充, unit_cadre), who are used only where no leader can be found;
3. for a household of several subjects, the highest-ranking leader (`seniority_key`);
4. women for girl orphans: a man (40 years older) only when no allowed woman remains free;
5. ties broken by cadre_id; inputs are sorted first, so the input order does not matter.

Algorithm. Households are the left side of a bipartite graph and cadres the right; an edge is a
pairing `check_pairing` accepts for every member (a man for a girl's household is a
*conditional* edge, usable only while all the women the hard rules allow for its girls are
taken). Each household lists its edges best first (woman for a girl; leader, other, top-up;
seniority for a household of several; cadre_id). Households are placed in the order: more
subjects first, then households with a girl orphan (so that women are not used up by households
that do not need them), then household_id. `solver_matching` then runs
1. Kuhn's algorithm with breadth-first (shortest) augmenting paths, first over leaders and the
   other regular cadres only, then with the top-up cadres too: augmenting never frees a cadre,
   so as many leaders as possible are used and a top-up cadre only where leaders run out;
2. exchange: an unplaced household takes the place of a household with fewer subjects that an
   alternating path reaches (a man's edge can unlock only after smaller households were placed);
3. unblocking: when the alternating tree of an unplaced household meets men locked by a free
   woman who may not take their household (it needs a leader, or has a member she may not
   take), another household moves to her and releases a cadre no condition needs;
4. local improvement: a household moves to a better free cadre, and a household of several
   swaps cadres with a single subject to get a higher-ranking leader;
and repeats 1–4 until nothing changes (each round places more subjects or betters a household).
Without girl orphans the number of subjects placed is the maximum: the households a matching
can cover form a matroid, added heaviest first, and households of several can only take leaders,
so the top-up phase does not change which of them are placed. With them the plan is at least
maximal (no free cadre could take an unplaced household); on thousands of random small
instances it placed as many subjects as a brute-force search.

Complexity. With H households, C cadres and E accepted edges, building the graph checks each
household only against the cadres whose kind and links let them take every member (`_reaches`:
a village of their unit, a township for leaders and partner units with orphans, a resident
cadre's township); any other cadre is refused by a hard place rule anyway. The rules' answers
are kept by what they read of a pair (`solver_reasons.Verdicts`), so households of one village
and shape cost one check per cadre. Each search is O(E) but stays inside the connected part of
the graph (a township or so), and a failed search marks its cadres dead until the next success.
A round is O(H·E) at worst and close to O(E) in practice. The reasons for an unplaced household
look at every cadre linked with its place; households without a girl orphan are said once per
shape (`_Problem._shape`). On generated people at a county's density (`bench/suggesting.py`),
t/(n log n) stays within 0.9–1.3 from 250 to 8,000 subjects, and a county of 5,000 subjects and
5,000 cadres takes 3–7 s on a shared 2-core machine, about half of it the reasons.

Limits. A household counts only the subjects given here; members already paired are known only
through `paired_households`. Reasons for unplaced subjects look at the cadres linked with their
place; a cadre linked nowhere near them is not mentioned.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from services.pairing.domain.rank import seniority_key
from services.pairing.domain.rules import ORPHANS_ONLY, CadreView, PairingContext, SubjectView, check_pairing
from services.pairing.domain.solver_matching import FREE, Graph, match
from services.pairing.domain.solver_reasons import Verdicts, explain, is_girl, why_unplaced
from shared.contracts.people import CadreKind, Gender, SubjectCategory

__all__ = ["Suggestion", "Suggestions", "Unplaced", "is_girl", "suggest"]

_NONE: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class Suggestion:
    subject_id: str
    cadre_id: str
    household_id: str
    explanation: str  # why this cadre, in Chinese
    overrides_needed: tuple[str, ...] = ()  # always empty: the solver proposes no override


@dataclass(frozen=True)
class Unplaced:
    subject_id: str
    reasons: tuple[str, ...]  # in Chinese
    codes: tuple[str, ...]  # codes[i] is the rule behind reasons[i]


@dataclass(frozen=True)
class Suggestions:
    placed: list[Suggestion]
    unplaced: list[Unplaced]


def suggest(
    subjects: Sequence[SubjectView],
    cadres: Sequence[CadreView],
    *,
    held: Mapping[str, str] = _NONE,
    paired_households: Mapping[str, str] = _NONE,
) -> Suggestions:
    """Pairings for the unpaired `subjects` among the candidate `cadres`; see the module docstring.

    `held` maps a cadre to the household it already holds; `paired_households` maps a household
    to the cadre already pairing (other members of) it.
    """
    problem = _Problem(subjects, cadres, held, paired_households)
    assigned = match(problem.graph())
    return problem.suggestions(assigned)


class _Problem:
    """The sorted inputs, who is linked with which place, and the rules' verdicts."""

    def __init__(
        self,
        subjects: Sequence[SubjectView],
        cadres: Sequence[CadreView],
        held: Mapping[str, str],
        paired_households: Mapping[str, str],
        *,
        share_reasons: bool = True,
    ) -> None:
        self.share_reasons = share_reasons  # off only to test that sharing changes nothing
        self.cadres = sorted(cadres, key=lambda c: c.cadre_id)
        _no_duplicates([c.cadre_id for c in self.cadres], "cadre")
        ordered = sorted(subjects, key=lambda s: s.subject_id)
        _no_duplicates([s.subject_id for s in ordered], "subject")
        members: dict[str, list[SubjectView]] = defaultdict(list)
        for subject in ordered:
            members[subject.household_id].append(subject)
        self.household_ids = sorted(members)
        self.households = [tuple(members[h]) for h in self.household_ids]
        self.held = dict(held)
        holders: dict[str, str] = {}
        for cadre_id, household_id in sorted(self.held.items(), reverse=True):
            holders[household_id] = cadre_id
        holders.update(paired_households)
        self.household_cadre = {h: holders[h] for h in self.household_ids if h in holders}
        self.names = {c.cadre_id: c.name for c in self.cadres}
        # the rules' answers by what they read of a pair: households of one village and shape
        # meet the same cadres, in the graph and in the reasons for the unplaced
        self.verdicts = Verdicts()
        self._linked: dict[tuple[str, str], list[int]] = defaultdict(list)
        # the same, as the place rules read the links: who may take a subject of a place at all
        self._open: dict[tuple[str, str], list[int]] = defaultdict(list)
        self._orphans_only: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i, cadre in enumerate(self.cadres):
            links = cadre.links
            keys = {("village", v) for v in links.village_codes}
            keys |= {("township", t) for t in links.township_codes}
            if links.resident_township_code:
                keys.add(("township", links.resident_township_code))
            for key in keys:
                self._linked[key].append(i)
            for key in _reaches(cadre):
                (self._orphans_only if cadre.kind in ORPHANS_ONLY else self._open)[key].append(i)
        # the free women the hard rules allow for each girl orphan
        self.women: dict[str, frozenset[int]] = {}
        for household in self.households:
            for s in filter(is_girl, household):
                self.women[s.subject_id] = frozenset(
                    i
                    for i in self._placeable(s)
                    if self.cadres[i].gender is Gender.female
                    and self.cadres[i].cadre_id not in self.held
                    and all(r.overridable for r in check_pairing(s, self.cadres[i], PairingContext()))
                )

    def _local(self, subject: SubjectView) -> list[int]:
        """The cadres linked with the subject's place: the only ones the place rules can allow."""
        place = subject.responsible_place
        found = set(self._linked.get(("village", place.village_code), ()))
        found |= set(self._linked.get(("township", place.township_code), ()))
        return sorted(found)

    def _placeable(self, subject: SubjectView) -> set[int]:
        """The cadres whose kind and links let them take a subject of its place (`_check_kind`'s
        place and orphan rules, which are hard): a subset of `_local`, the only ones worth a check."""
        place = subject.responsible_place
        keys = (("village", place.village_code), ("township", place.township_code))
        found = {i for key in keys for i in self._open.get(key, ())}
        if subject.category is SubjectCategory.orphan:
            found.update(i for key in keys for i in self._orphans_only.get(key, ()))
        return found

    def _candidates(self, h: int) -> list[int]:
        """Every cadre linked with a member's place: those the reasons for an unplaced household
        look at."""
        return sorted({i for s in self.households[h] for i in self._local(s)})

    def _edges_to_check(self, h: int) -> list[int]:
        """The cadres the place rules allow for every member: any other is refused for one of them
        by a hard rule, so checking only these leaves the graph as checking all `_candidates`."""
        members = iter(self.households[h])
        allowed = self._placeable(next(members))
        for s in members:
            allowed &= self._placeable(s)
        return sorted(allowed)

    def _context(self, h: int, *, occupied: str | None, female: bool) -> PairingContext:
        return PairingContext(
            household=self.households[h],
            cadre_household_id=occupied,
            household_cadre_id=self.household_cadre.get(self.household_ids[h]),
            female_cadre_available=female,
        )

    def graph(self) -> Graph:
        tiers = [_tier(c) for c in self.cadres]
        seniority = [tuple(-x for x in seniority_key(c.rank)) for c in self.cadres]
        adj, conditional, needs, coarse = [], [], [], []
        for h, members in enumerate(self.households):
            girls = [s for s in members if is_girl(s)]
            free = self._context(h, occupied=None, female=False)
            keys = {}
            for i in self._edges_to_check(h):
                cadre = self.cadres[i]
                occupied = self.held.get(cadre.cadre_id)
                if occupied not in (None, self.household_ids[h]):
                    continue  # one household per cadre, whatever the rules module says
                context = free if occupied is None else self._context(h, occupied=occupied, female=False)
                if any(self.verdicts.check(s, cadre, context) for s in members):
                    continue
                man_for_girl = 1 if girls and cadre.gender is Gender.male else 0
                # cadres are sorted by cadre_id, so their index breaks the ties
                keys[i] = ((man_for_girl, tiers[i]), seniority[i] if len(members) > 1 else (), i)
            adj.append(sorted(keys, key=keys.__getitem__))
            conditional.append(frozenset(i for i in keys if keys[i][0][0]))
            needs.append(frozenset().union(*(self.women[s.subject_id] for s in girls)))
            coarse.append({i: key[0] for i, key in keys.items()})
        order = sorted(
            range(len(self.households)),
            key=lambda h: (-len(self.households[h]), not any(map(is_girl, self.households[h])), h),
        )
        return Graph(
            adj=adj,
            conditional=conditional,
            needs=needs,
            coarse=coarse,
            topup=[c.kind is CadreKind.unit_cadre for c in self.cadres],
            weight=[len(m) for m in self.households],
            order=order,
        )

    def _shape(
        self, members: Sequence[SubjectView], candidates: tuple[int, ...], holder: str | None
    ) -> Hashable:
        """What the reasons for an unplaced household without a girl orphan depend on; None for
        one with a girl (her name and the free women are hers alone), or when told not to share.

        Without a girl, every check reads of a member only its category and place (`Verdicts`),
        the texts name cadres and count them, never a member, and the one message quoted
        (`resident_village_missing`, `unit_not_placed`) names a cadre: households of one shape
        get the same reasons, and a village's unplaced households are said once."""
        if not self.share_reasons or any(map(is_girl, members)):
            return None
        places = sorted(
            (s.category, s.responsible_place.village_code, s.responsible_place.township_code) for s in members
        )
        return candidates, holder, len(members), tuple(places)

    def suggestions(self, assigned: list[int]) -> Suggestions:
        index = {c.cadre_id: i for i, c in enumerate(self.cadres)}
        taken = {i for i in assigned if i != FREE}
        taken |= {index[c] for c in self.held if c in index}

        def female_free(subject: SubjectView, other_than: CadreView) -> bool:
            women = self.women.get(subject.subject_id, frozenset())
            return any(w not in taken and w != index[other_than.cadre_id] for w in women)

        placed: list[tuple[tuple[bool, str, str], Suggestion]] = []
        unplaced: list[Unplaced] = []
        said: dict[Hashable, tuple[tuple[str, ...], tuple[str, ...]]] = {}  # reasons by `_shape`
        for h, members in enumerate(self.households):
            household_id = self.household_ids[h]
            if assigned[h] == FREE:
                # the two contexts of the household: whether a woman is free matters to a girl only
                contexts = {f: self._context(h, occupied=None, female=f) for f in (False, True)}

                def as_if_free(
                    s: SubjectView, c: CadreView, contexts: dict[bool, PairingContext] = contexts
                ) -> PairingContext:
                    return contexts[is_girl(s) and female_free(s, c)]

                candidates = set(self._candidates(h))
                holder = self.household_cadre.get(household_id)
                if holder in index:  # say why the household's own cadre cannot take it either
                    candidates.add(index[holder])
                ordered = tuple(sorted(candidates))
                shape = self._shape(members, ordered, holder)
                if shape is None or shape not in said:
                    answer = why_unplaced(
                        members,
                        [self.cadres[i] for i in ordered],
                        context_for=as_if_free,
                        taken=lambda c: index[c.cadre_id] in taken,
                        household_cadre_id=holder,
                        cadre_names=self.names,
                        verdicts=self.verdicts,
                    )
                    if shape is not None:
                        said[shape] = answer
                reasons, codes = answer if shape is None else said[shape]
                unplaced += [Unplaced(s.subject_id, reasons, codes) for s in members]
                continue
            cadre = self.cadres[assigned[h]]
            man_for_girl = cadre.gender is Gender.male and any(map(is_girl, members))
            for s in members:
                explanation = explain(
                    s, members, cadre, self.household_cadre.get(household_id) == cadre.cadre_id
                )
                suggestion = Suggestion(s.subject_id, cadre.cadre_id, household_id, explanation)
                placed.append(((man_for_girl, household_id, s.subject_id), suggestion))
        placed.sort(key=lambda item: item[0])
        return Suggestions([s for _, s in placed], unplaced)


def _reaches(cadre: CadreView) -> set[tuple[str, str]]:
    """The places whose subjects the place rules let `cadre` take (see `rules._check_kind`): a
    resident village cadre the township of their village, a leader or partner unit for orphans
    their villages and townships, everyone else the villages of their unit."""
    links = cadre.links
    if cadre.kind is CadreKind.resident_village_cadre:
        return {("township", links.resident_township_code)} if links.resident_township_code else set()
    keys = {("village", v) for v in links.village_codes}
    if cadre.kind in ORPHANS_ONLY:
        keys |= {("township", t) for t in links.township_codes}
    return keys


def _tier(cadre: CadreView) -> int:
    """0 leaders, 1 the other regular cadres, 2 the top-up cadres (择优补充)."""
    if cadre.is_leader:
        return 0
    return 2 if cadre.kind is CadreKind.unit_cadre else 1


def _no_duplicates(ids: list[str], what: str) -> None:
    repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
    if repeated:
        raise ValueError(f"duplicate {what} ids: {', '.join(repeated)}")
