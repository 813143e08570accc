"""Small-cell suppression (api/suppression.py): a cell of fewer than 5 residents is hidden,
and where a total is published beside the cells, enough others are hidden with it that none
can be recovered by subtraction."""

from __future__ import annotations

from api.suppression import MIN_RESIDENTS, hidden_cells, too_few


def test_too_few() -> None:
    assert [too_few(n) for n in (0, 1, 4, 5, 50)] == [False, True, True, False, False]
    assert MIN_RESIDENTS == 5


def test_nothing_small_hides_nothing() -> None:
    assert hidden_cells({"Schandelen": 6, "Palemig": 5, "Leeg": 0}) == set()


def test_one_small_cell_takes_the_next_smallest_with_it() -> None:
    cells = {"Schandelen": 30, "Grasbroek": 5, "Palemig": 1, "Musschemig": 7}
    # Palemig alone would be the total less the others; with Grasbroek the two hidden cells
    # cover 6 residents, and neither can be told from the other.
    assert hidden_cells(cells) == {"Palemig", "Grasbroek"}


def test_small_cells_are_joined_until_they_cover_enough_residents() -> None:
    cells = {"A": 1, "B": 2, "C": 40, "D": 6, "E": 9}
    # A and B (3 residents) are too few together: the smallest other (D) is hidden too.
    assert hidden_cells(cells) == {"A", "B", "D"}
    hidden = hidden_cells(cells)
    assert len(hidden) >= 2 and sum(cells[k] for k in hidden) >= MIN_RESIDENTS


def test_a_single_small_cell_is_hidden() -> None:
    assert hidden_cells({"Palemig": 2}) == {"Palemig"}
    assert hidden_cells({"Palemig": 2, "Schandelen": 12}) == {"Palemig", "Schandelen"}
