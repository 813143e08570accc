"""CSV files that a spreadsheet shows as data and never runs as a formula.

Staff open the exports (the service's `?format=csv` lists, `heitje ledger --csv`, the audit
report's CSV files) in a spreadsheet, which runs a cell starting with `=`, `+`, `-` or `@` as
a formula (and treats a leading tab or carriage return the same way): a pseudonym
`=HYPERLINK("http://evil.example","x")` would become a link. OWASP's rule: such a text cell
gets a leading single quote, which a spreadsheet shows as text and hides.

The rule applies to text cells only. Numbers (whole numbers and amounts of euros, which the
writers pass as `int` or `Decimal`) are written as they are, so a refund of -3.00 stays a
number the spreadsheet can add up. A text cell that starts with a quote already gets one more,
so reading a file back (`plain_cell`) gives exactly the text that was written.
"""

from __future__ import annotations

from typing import Any, Final

#: The first characters that make a spreadsheet read a cell as a formula (OWASP).
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """`value` as it goes into a CSV cell: a text starting with a formula character (or a
    quote) gets a leading `'`; anything else is unchanged."""
    if isinstance(value, str) and value.startswith((*FORMULA_STARTS, "'")):
        return "'" + value
    return value


def plain_cell(text: str) -> str:
    """A cell read from a file written with `safe_cell`, as the text it was."""
    return text[1:] if text.startswith("'") else text
