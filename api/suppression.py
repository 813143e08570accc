"""Small-cell suppression: a figure about fewer than 5 residents (but more than none) is not
published, so that no figure can be traced to one or a few people. One rule for every
aggregate the service gives out: the statistics office's export (api.routes.stats) and the
public ledger page (api.public).

Where a total is published beside the cells (the public page gives the total of all rewards),
one hidden cell could be recovered by subtraction. `hidden_cells` then hides more cells, the
smallest first, until the hidden ones together cover at least 5 residents in at least two
cells; their sum is never published.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TypeVar

#: Cells with fewer residents than this (and more than none) are suppressed.
MIN_RESIDENTS = 5

K = TypeVar("K", bound=Hashable)


def too_few(residents: int) -> bool:
    """Whether a cell of this many residents is suppressed."""
    return 0 < residents < MIN_RESIDENTS


def hidden_cells(residents: Mapping[K, int]) -> set[K]:
    """The cells to suppress when their total is published too: the cells of too few
    residents, and then (the smallest first) as many others as it takes for the hidden cells
    to cover at least MIN_RESIDENTS residents in at least two cells, so that none of them can
    be recovered from the total. With fewer than two cells, a cell of too few is hidden and
    nothing else is."""
    hidden = {key for key, people in residents.items() if too_few(people)}
    if not hidden:
        return hidden
    rest = sorted((people, str(key), key) for key, people in residents.items() if key not in hidden)
    while rest and (len(hidden) < 2 or sum(residents[k] for k in hidden) < MIN_RESIDENTS):
        hidden.add(rest.pop(0)[2])
    return hidden
