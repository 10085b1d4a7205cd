"""The small-number rule: 1 to 4 shown as "fewer than 5", and no total lets anyone work such a number back out.

The strongest check here is an attacker's: enumerate every table of counts that fits what is shown (each shown count
exact, "fewer than 5" as 1 to 4, "5 or more" as at least 5, every sum holding) and make sure each "fewer than 5"
could still be at least two different numbers.
"""

from __future__ import annotations

import itertools
import math
import random

import pytest

from domain.insight.disclosure import AT_LEAST, FEWER_THAN, WITHHELD, Shown, Table, add_ranges, range_text, small_rule


def texts(shown: dict[str, Shown]) -> dict[str, str]:
    return {name: s.text for name, s in shown.items()}


def test_one_to_four_is_fewer_than_five_and_zero_and_five_are_shown() -> None:
    assert [small_rule(n).text for n in (0, 1, 2, 3, 4, 5, 17)] == ["0"] + [FEWER_THAN] * 4 + ["5", "17"]


def test_a_single_hidden_count_beside_a_known_total_gets_a_partner() -> None:
    # 23 reports: 3 + 10 + 10. Showing both tens would make the hidden one 23 - 20 = 3.
    table = Table()
    table.count("reports", 23)
    table.breakdown("reports", {"threats": 3, "bullying": 10, "photos": 10})
    shown = table.protect()
    assert shown["threats"].text == FEWER_THAN
    assert [shown["bullying"].text, shown["photos"].text].count(AT_LEAST) == 1
    assert shown["reports"].text == "23"
    low, high = table.ranges(shown)["threats"]
    assert (low, high) == (1, 4)


def test_two_small_counts_that_add_up_to_two_are_protected() -> None:
    # 1 + 1 + 10 = 12: two "fewer than 5" adding up to 2 would each have to be 1.
    table = Table()
    table.count("reports", 12)
    table.breakdown("reports", {"a": 1, "b": 1, "c": 10})
    shown = table.protect()
    ranges = table.ranges(shown)
    assert ranges["a"][0] < ranges["a"][1] and ranges["b"][0] < ranges["b"][1]
    assert shown["c"].text == AT_LEAST


def test_a_partner_of_exactly_five_is_not_enough_so_the_total_goes() -> None:
    # Hiding the 5 would not do: "fewer than 5" and "5 or more" adding up to 6 leaves only 1 + 5.
    table = Table()
    table.count("reports", 6)
    table.breakdown("reports", {"a": 1, "b": 5})
    shown = table.protect()
    assert texts(shown) == {"reports": AT_LEAST, "a": FEWER_THAN, "b": "5"}
    assert table.ranges(shown)["a"] == (1, 4)


def test_a_total_hidden_for_one_breakdown_cannot_be_read_from_another() -> None:
    # The category breakdown forces the total to be hidden; the month breakdown (all shown) would give it back.
    table = Table()
    table.count("reports", 6)
    table.breakdown("reports", {"cat:a": 1, "cat:b": 5})
    table.breakdown("reports", {"month:sep": 6, "month:oct": 0})
    shown = table.protect()
    assert shown["reports"].hidden and shown["month:sep"].hidden  # or the months would give the total back
    assert table.ranges(shown)["cat:a"][0] < table.ranges(shown)["cat:a"][1]


def test_a_breakdown_of_a_hidden_count_cannot_reveal_it() -> None:
    # breaches (3, hidden) split into decided in time 3 and late 0: the split is hidden too.
    table = Table()
    table.count("reports", 20)
    table.breakdown("reports", {"breaches": 3, "bullying": 9, "threats": 8})
    table.breakdown("breaches", {"in_time": 3, "late": 0})
    shown = table.protect()
    assert shown["in_time"].text == FEWER_THAN and shown["late"].text == "0"
    assert table.ranges(shown)["breaches"][0] < table.ranges(shown)["breaches"][1]


def test_small_counts_that_pin_each_other_have_one_withheld() -> None:
    # Four breaches, one in each state: four "fewer than 5" under a total that is "fewer than 5" must all be 1.
    table = Table()
    table.count("reports", 20)
    table.breakdown("reports", {"breaches": 4, "bullying": 16})
    table.breakdown("breaches", {"in_time": 1, "late": 1, "overdue": 1, "pending": 1})
    shown = table.protect()
    assert [shown[k].text for k in ("in_time", "late", "overdue", "pending")].count(WITHHELD) == 1
    assert shown["bullying"].text == AT_LEAST and not table.exposed(shown)


def test_sums_must_add_up() -> None:
    table = Table()
    table.count("reports", 5)
    with pytest.raises(ValueError):
        table.breakdown("reports", {"a": 1, "b": 1})


def test_ranges_added_up_are_exact_only_when_every_part_is() -> None:
    assert add_ranges([small_rule(7), small_rule(9)]).text == "16"
    total = add_ranges([small_rule(7), small_rule(3)])
    assert total.hidden and (total.low, total.high) == (8, 11)
    assert range_text(8, 11) == "between 8 and 11" and range_text(1, 4) == FEWER_THAN
    assert range_text(5, math.inf) == "at least 5" and range_text(6, 6) == "6"


# The attacker's check ----------------------------------------------------------------------------------------


def _fits(value: int, shown: Shown) -> bool:
    return value == shown.exact if not shown.hidden else shown.low <= value <= shown.high


def _attack(parts: list[int], shown: dict[str, Shown], second: list[int] | None) -> dict[str, set[int]]:
    """Every value each category could take, over every table that fits what is shown (brute force)."""
    names = [f"p{i}" for i in range(len(parts))]
    total_options = [t for t in range(0, 60) if _fits(t, shown["total"])]
    possible: dict[str, set[int]] = {name: set() for name in names}
    candidates = [[v for v in range(0, 30) if _fits(v, shown[name])] for name in names]
    second_names = [f"q{i}" for i in range(len(second or []))]
    second_candidates = [[v for v in range(0, 30) if _fits(v, shown[name])] for name in second_names]
    second_sums = {sum(c) for c in itertools.product(*second_candidates)} if second else None
    for combo in itertools.product(*candidates):
        total = sum(combo)
        if total not in total_options or (second_sums is not None and total not in second_sums):
            continue
        for name, value in zip(names, combo, strict=True):
            possible[name].add(value)
    return possible


@pytest.mark.parametrize("seed", range(300))
def test_no_fewer_than_five_can_be_worked_out_from_the_totals(seed: int) -> None:
    rng = random.Random(seed)
    parts = [rng.choice([0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 9, 12]) for _ in range(rng.randint(2, 4))]
    second = None
    if rng.random() < 0.5:  # a second breakdown of the same total (by month, say)
        total = sum(parts)
        cut = rng.randint(0, total)
        second = [cut, total - cut]
    table = Table()
    table.count("total", sum(parts))
    table.breakdown("total", {f"p{i}": v for i, v in enumerate(parts)})
    if second is not None:
        table.breakdown("total", {f"q{i}": v for i, v in enumerate(second)})
    shown = table.protect()
    possible = _attack(parts, shown, second)
    for i, value in enumerate(parts):
        name = f"p{i}"
        assert value in possible[name]  # what is shown is true
        if 1 <= value <= 4:
            assert shown[name].text == FEWER_THAN
            assert len(possible[name]) >= 2, (parts, second, texts(shown), possible)
        elif not shown[name].hidden:
            assert shown[name].exact == value
    # The exact interval arithmetic agrees with the brute force.
    ranges = table.ranges(shown)
    for i in range(len(parts)):
        name = f"p{i}"
        if possible[name] and shown[name].hidden and shown[name].high != math.inf:
            assert ranges[name] == (min(possible[name]), max(possible[name]))
