"""Amounts: integer cents inside the library, `Decimal` euros at the edges.

1 Heitje = EUR 1.00 = 100 cents, and the token has 2 decimals, so one cent is one token unit.
A float never becomes an amount: `0.1 + 0.2` is not `0.3`, and money must add up exactly.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Final

from heitje_chain.errors import InvalidAmount

#: The largest amount one operation may move: EUR 10 million. Anything larger is a typing
#: error (an IBAN or a phone number in the amount field), not a neighbourhood job or a shop.
MAX_CENTS: Final = 10_000_000_00

CENT: Final = Decimal("0.01")


def eur(cents: int) -> str:
    """Integer cents as euros for people: 1250 -> 'EUR 12.50', 500000 -> 'EUR 5,000.00'."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(int(cents)), 100)
    return f"EUR {sign}{whole:,}.{rest:02d}"


def cents_to_decimal(cents: int) -> Decimal:
    """Integer cents as a `Decimal` of euros with two places: 1250 -> Decimal('12.50')."""
    return (Decimal(int(cents)) / 100).quantize(CENT)


def check_cents(value: object, what: str = "amount", *, allow_zero: bool = False) -> int:
    """`value` as a number of cents, or `InvalidAmount` saying why not.

    Only an `int` (not a bool, not a float) of at least 1 cent (or 0 with `allow_zero`)
    and at most `MAX_CENTS` is an amount.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidAmount(
            f"{what} must be a whole number of cents, not {type(value).__name__} {value!r}",
            amount=value,
        )
    low = 0 if allow_zero else 1
    if value < low:
        raise InvalidAmount(
            f"{what} must be {'zero or more' if allow_zero else 'more than zero'}, "
            f"not {value} cents",
            amount=value,
        )
    if value > MAX_CENTS:
        raise InvalidAmount(
            f"{what} of {eur(value)} is more than the largest allowed, {eur(MAX_CENTS)}; "
            "check the number",
            amount=value,
        )
    return value


def parse_eur(value: str | Decimal | int, what: str = "amount", *, allow_zero: bool = False) -> int:
    """Euros as people write them (`"12.50"`, `"12,50"`, `"EUR 1,500.00"`, `Decimal("3")`,
    `7`) as integer cents. Refuses floats, sub-cent amounts, negatives and absurd amounts, and
    any text that is not one of the forms `_parse_text` lists."""
    if isinstance(value, bool) or isinstance(value, float):
        raise InvalidAmount(
            f"{what} must be given as text or a Decimal, not {type(value).__name__} {value!r}",
            amount=value,
        )
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, str):
        number = _parse_text(value, what)
    else:
        raise InvalidAmount(f"{what} {value!r} is not an amount of euros", amount=value)
    if not number.is_finite():
        raise InvalidAmount(f"{what} {value!r} is not an amount of euros", amount=value)
    if number < 0 or (number == 0 and not allow_zero):
        raise InvalidAmount(f"{what} must be more than zero, not {value}", amount=value)
    cents = number * 100
    if cents != cents.to_integral_value():
        raise InvalidAmount(
            f"{what} {value!r} has more than two decimals; the smallest amount is one cent",
            amount=value,
        )
    return check_cents(int(cents), what, allow_zero=allow_zero)


#: The only forms of an amount in text (ASCII digits only): an optional `EUR` or `€` (and
#: spaces), an optional minus (refused later with its own message), the whole euros either as
#: plain digits or in groups of three with one thousands separator (`,`, `.` or a space), and
#: optionally a decimal separator (`.` or `,`, not the thousands one) with the cents.
_AMOUNT = re.compile(
    r"(?:EUR|€)? *(?P<sign>-)?"
    r"(?P<whole>[0-9]+|[0-9]{1,3}(?P<group>[ ,.])[0-9]{3}(?:(?P=group)[0-9]{3})*)"
    r"(?:(?P<decimal>[.,])(?P<fraction>[0-9]+))?",
    re.ASCII,
)


def _parse_text(text: str, what: str) -> Decimal:
    """Accepts 12.50, 12,50 (Dutch), 1500, 1,500.00, 1.500,00, 1 500,00, 1,500,000 and the
    same after `EUR` or `€`. Refuses 1,500 and 1.500, which mean EUR 1,500 to some readers and
    EUR 1.50 to others, and everything else: underscores (`1_000`), a plus sign, exponents,
    loose spaces (`1 5 0 0`), digits of other scripts, a separator without cents (`12.`)."""
    bad = InvalidAmount(
        f"{what} {text!r} is not an amount of euros (write it like 12.50)", amount=text
    )
    if "_" in text:
        raise InvalidAmount(
            f"{what} {text!r} is not an amount of euros: no underscores (write 1000.00 or "
            "1,000.00 for a thousand euros)",
            amount=text,
        )
    found = _AMOUNT.fullmatch(text.strip().upper())
    if found is None:
        raise bad
    sign, whole, group = found["sign"] or "", found["whole"], found["group"]
    decimal, fraction = found["decimal"], found["fraction"]
    if group and decimal == group:
        raise bad  # 1,500,00
    if decimal and not group and len(fraction) == 3 and whole != "0" * len(whole):
        raise InvalidAmount(
            f"{what} {text!r} is ambiguous: write {whole}{fraction} for "
            f"EUR {whole}{fraction} or {whole}.{fraction[:2]} for EUR {whole}.{fraction[:2]}",
            amount=text,
        )
    digits = whole.replace(group, "") if group else whole
    try:
        return Decimal(f"{sign}{digits}.{fraction}" if decimal else f"{sign}{digits}")
    except InvalidOperation:
        raise bad from None
