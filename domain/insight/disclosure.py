"""The small-number rule for anything a governor sees: 1 to 4 is shown as "fewer than 5", and no total can be used
to work such a number back out.

A table is a set of named counts and the sums that tie them together ("reports = the sum of the reports by
category"). Every count of 1 to 4 is hidden ("fewer than 5"): the *primary* suppression. Hiding is not enough on its
own: with a total of 23 and every other category shown, the hidden one is 23 minus the rest. So the table is checked
the way a reader could attack it: from everything shown (each shown count exactly, each "fewer than 5" as 1 to 4,
each "5 or more" as at least 5, and every sum), work out the range each hidden count could take. While any
"fewer than 5" could be only one number, one more count near it (the smallest of 5 or more in the same sum, else the
nearest further out) is hidden as "5 or more": the *secondary* suppression (in the rare case that small counts pin
each other, one of them is withheld as "not shown" instead). The check is exact because the sums
form a tree (no count is part of two sums, except as the total of several breakdowns), where tightening every
range against every sum until nothing changes leaves exactly the values that some real table could have.

Totals that add up counts across schools are not in the table: they are worked out from what is shown (ranges
added up), so they can say nothing the shown counts do not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

SMALL = 5  # counts from 1 to SMALL - 1 are never shown
FEWER_THAN = f"fewer than {SMALL}"
AT_LEAST = f"{SMALL} or more"
WITHHELD = "not shown"
PAIR_SEARCH = 12  # how many of the nearest counts are tried two at a time


@dataclass(frozen=True)
class Shown:
    """A count as a governor sees it: exact, or hidden with the range the reader may assume."""

    exact: int | None  # None when hidden
    low: int
    high: float  # math.inf when there is no upper bound
    secondary: bool = False  # hidden only to protect another count
    withheld: bool = False  # hidden with nothing said of it (the last resort: see Table.protect)
    words: str = ""  # a range in words ("between 9 and 12"), for totals worked out from what is shown

    @property
    def hidden(self) -> bool:
        """True unless the number itself is shown."""
        return self.exact is None

    @property
    def text(self) -> str:
        """"12", "0", "fewer than 5" or "5 or more"."""
        if self.exact is not None:
            return str(self.exact)
        if self.words:
            return self.words
        if self.withheld:
            return WITHHELD
        return AT_LEAST if self.secondary else FEWER_THAN

    @property
    def chart_value(self) -> int | None:
        """The value a chart may draw (None: do not draw it)."""
        return self.exact


def shown_exactly(value: int) -> Shown:
    """A count shown as it is."""
    return Shown(value, value, value)


def small_rule(value: int) -> Shown:
    """The primary rule alone, for a count that is in no sum."""
    if 0 < value < SMALL:
        return Shown(None, 1, SMALL - 1)
    return shown_exactly(value)


@dataclass
class Table:
    """Named counts and the sums between them; ``protect()`` decides what may be shown."""

    values: dict[str, int] = field(default_factory=dict)
    sums: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # (total, parts)
    _child_of: dict[str, str] = field(default_factory=dict)

    def count(self, name: str, value: int) -> str:
        """Add a count; returns its name."""
        if name in self.values:
            raise ValueError(f"count {name!r} added twice")
        if value < 0:
            raise ValueError(f"count {name!r} is negative")
        self.values[name] = int(value)
        return name

    def breakdown(self, total: str, parts: dict[str, int]) -> list[str]:
        """Add counts that add up to an existing total (a breakdown of it); returns their names."""
        if total not in self.values:
            raise ValueError(f"no count {total!r} to break down")
        names = [self.count(name, value) for name, value in parts.items()]
        if sum(parts.values()) != self.values[total]:
            raise ValueError(f"the breakdown of {total!r} adds up to {sum(parts.values())}, "
                             f"not {self.values[total]}")
        for name in names:
            self._child_of[name] = total
        self.sums.append((total, tuple(names)))
        return names

    # Working out what a reader could --------------------------------------------------------------------------

    def ranges(self, shown: dict[str, Shown]) -> dict[str, tuple[float, float]]:
        """The range each count could take, given what is shown and the sums (exact on a tree of sums)."""
        low = {name: float(s.low) for name, s in shown.items()}
        high = {name: float(s.high) for name, s in shown.items()}
        changed = True
        while changed:
            changed = False
            for total, parts in self.sums:
                new_low = max(low[total], sum(low[p] for p in parts))
                new_high = min(high[total], sum(high[p] for p in parts))
                if (new_low, new_high) != (low[total], high[total]):
                    low[total], high[total], changed = new_low, new_high, True
                for part in parts:
                    others_low = sum(low[p] for p in parts if p != part)
                    others_high = sum(high[p] for p in parts if p != part)
                    new_low = max(low[part], low[total] - others_high)
                    new_high = min(high[part], high[total] - others_low)
                    if (new_low, new_high) != (low[part], high[part]):
                        low[part], high[part], changed = new_low, new_high, True
        return {name: (low[name], high[name]) for name in shown}

    def _neighbours(self, name: str) -> list[list[str]]:
        """Counts by closeness to one count: its sum's other parts and total, then further out, ring by ring."""
        rings: list[list[str]] = []
        seen = {name}
        frontier = [name]
        while frontier:
            ring: list[str] = []
            for current in frontier:
                for total, parts in self.sums:
                    members = (total, *parts)
                    if current in members:
                        ring += [m for m in members if m not in seen and m not in ring]
            seen.update(ring)
            if ring:
                rings.append(ring)
            frontier = ring
        return rings

    def exposed(self, shown: dict[str, Shown]) -> list[str]:
        """The "fewer than 5" counts a reader could work out exactly from what is shown."""
        ranges = self.ranges(shown)
        return [name for name, s in shown.items() if s.hidden and not s.secondary and not s.withheld
                and ranges[name][0] == ranges[name][1]]

    def _choices(self, target: str, shown: dict[str, Shown]) -> list[dict[str, Shown]]:
        """What could be hidden next to protect a count, best first.

        A shown count of 5 or more near it, hidden as "5 or more" (nearest first, smallest first); else two such
        counts together (a total and a breakdown that would give it back). Only when that cannot work is a count
        near it withheld as "not shown" (which could be anything): needed where small counts pin each other, as
        four breaches, one in each of four states, would (each "fewer than 5", adding up to a total that is
        itself "fewer than 5").
        """
        rings = self._neighbours(target)
        secondary = [{n: Shown(None, SMALL, math.inf, secondary=True)} for ring in rings
                     for n in sorted(ring, key=lambda n: (self.values[n], n))
                     if not shown[n].hidden and self.values[n] >= SMALL]
        pairs = [{**a, **b} for i, a in enumerate(secondary[:PAIR_SEARCH]) for b in secondary[i + 1:PAIR_SEARCH]]
        withheld = [{n: Shown(None, 0, math.inf, withheld=True)} for ring in rings for n in ring
                    if n != target and not shown[n].withheld]
        return secondary + pairs + withheld

    def protect(self) -> dict[str, Shown]:
        """What may be shown of every count: small ones hidden, and more hidden until none can be worked out."""
        shown = {name: small_rule(value) for name, value in self.values.items()}
        extra: list[str] = []
        while exposed := self.exposed(shown):
            target = exposed[0]
            choices = self._choices(target, shown)
            if not choices:  # a count tied to nothing else cannot be worked out; be safe anyway
                raise RuntimeError(f"cannot protect {target!r}")
            # The first choice that protects the count; if none does alone, the first, and look again.
            choice = next((c for c in choices if target not in self.exposed({**shown, **c})), choices[0])
            shown.update(choice)
            extra += list(choice)
        # Hiding one count can make an earlier extra one needless: show again what is safe to, latest first.
        for name in reversed(extra):
            trial = {**shown, name: small_rule(self.values[name])}
            if not self.exposed(trial):
                shown = trial
        return shown


def add_ranges(items: list[Shown], ranges: list[tuple[float, float]] | None = None) -> Shown:
    """The sum of shown counts: exact only if every one is; else the range of the sum, in words.

    ``ranges`` are what a reader can work out for each (Table.ranges), if narrower than the words shown.
    """
    if all(not s.hidden for s in items):
        return shown_exactly(sum(s.exact or 0 for s in items))
    bounds = ranges or [(s.low, s.high) for s in items]
    low, high = sum(b[0] for b in bounds), sum(b[1] for b in bounds)
    return Shown(None, int(low), high, words=range_text(low, high))


def range_text(low: float, high: float) -> str:
    """A range as plain words: "7", "fewer than 5", "at least 12", "between 6 and 9"."""
    if low == high:
        return str(int(low))
    if high == math.inf:
        return f"at least {int(low)}"
    if low <= 1 and high == SMALL - 1:
        return FEWER_THAN
    return f"between {int(low)} and {int(high)}"
