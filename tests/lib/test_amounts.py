"""Amounts: euros as people write them in, integer cents inside, euros back out."""

from __future__ import annotations

from decimal import Decimal

import pytest

from heitje_chain.amounts import MAX_CENTS, cents_to_decimal, check_cents, eur, parse_eur
from heitje_chain.errors import HeitjeError, InvalidAmount


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("12.50", 1250),
        ("12,50", 1250),  # Dutch decimal comma
        ("12.5", 1250),
        ("12,5", 1250),
        ("0.01", 1),
        ("0,01", 1),
        ("  0.01 ", 1),
        ("1500", 150000),
        ("7", 700),
        ("0,5", 50),
        ("1,50", 150),
        ("EUR 1,500.00", 150000),
        ("eur 7.5", 750),
        ("€ 3", 300),
        ("€3,25", 325),
        ("1.500,00", 150000),  # Dutch thousands dot, decimal comma
        ("1 500,00", 150000),
        ("1,500,000", 150000000),  # only thousands separators
        ("1.500.000,00", 150000000),
        ("0.010", 1),  # a trailing zero is still a whole cent
        ("10000000", MAX_CENTS),
        ("10,000,000.00", MAX_CENTS),
    ],
)
def test_parse_eur_accepts_text(text: str, cents: int) -> None:
    assert parse_eur(text) == cents


@pytest.mark.parametrize(
    ("value", "cents"),
    [(Decimal("3"), 300), (Decimal("12.34"), 1234), (Decimal("1E+2"), 10000), (7, 700)],
)
def test_parse_eur_accepts_decimal_and_int(value: Decimal | int, cents: int) -> None:
    assert parse_eur(value) == cents


@pytest.mark.parametrize("value", [0.1, 1.5, 12.0, float("nan"), float("inf")])
def test_parse_eur_refuses_floats(value: float) -> None:
    with pytest.raises(InvalidAmount, match="not float") as exc:
        parse_eur(value)  # type: ignore[arg-type]
    assert exc.value.values["amount"] is value or value != value


@pytest.mark.parametrize("value", [True, False])
def test_parse_eur_refuses_bool(value: bool) -> None:
    with pytest.raises(InvalidAmount, match="not bool"):
        parse_eur(value)


@pytest.mark.parametrize("value", ["-1", "-0.01", "-12,50", -5, Decimal("-3"), "-0", Decimal("-0")])
def test_parse_eur_refuses_negative(value: object) -> None:
    with pytest.raises(InvalidAmount, match="more than zero"):
        parse_eur(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["0", "0.00", "0,00", 0, Decimal("0"), "EUR 0"])
def test_parse_eur_refuses_zero_unless_allowed(value: object) -> None:
    with pytest.raises(InvalidAmount, match="more than zero"):
        parse_eur(value)  # type: ignore[arg-type]
    assert parse_eur(value, allow_zero=True) == 0  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value", ["0.001", "0,001", "0.005", "1.000,005", "1,000.005", Decimal("0.001")]
)
def test_parse_eur_refuses_sub_cent(value: object) -> None:
    with pytest.raises(InvalidAmount):
        parse_eur(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["0.001", "0,001", Decimal("1.005")])
def test_parse_eur_sub_cent_message(value: object) -> None:
    with pytest.raises(InvalidAmount, match="more than two decimals"):
        parse_eur(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["1,500", "1.500", "12,345", "EUR 2.250"])
def test_parse_eur_refuses_ambiguous_thousands(text: str) -> None:
    with pytest.raises(InvalidAmount, match="ambiguous") as exc:
        parse_eur(text)
    assert exc.value.values["amount"] == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "abc",
        "12 euro",
        "12.50 EUR",
        "1e3",
        "NaN",
        "Infinity",
        "12.",
        ".5",
        ",5",
        "1,5,0",
        "1.50.00",
        "1,50,000",
        "--1",
        "1-2",
        "0x10",
        "١٢",  # Arabic-Indic digits
        "12.50.",
        "EUR",
        "+5",  # not a documented form
        "1 5 0 0",  # loose spaces are not thousands groups
        "12 ,50",
        "1 50,00",
        "EUR-EUR 5",
        "12\t50",
        "1,500,00",  # the decimal separator cannot be the thousands one
        "\uff11\uff12",  # fullwidth digits
    ],
)
def test_parse_eur_refuses_garbage(text: str) -> None:
    with pytest.raises(InvalidAmount, match="not an amount of euros"):
        parse_eur(text)


@pytest.mark.parametrize("value", [None, [1], {"eur": 1}, b"12", object()])
def test_parse_eur_refuses_other_types(value: object) -> None:
    with pytest.raises(InvalidAmount, match="not an amount of euros"):
        parse_eur(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_parse_eur_refuses_non_finite_decimal(value: Decimal) -> None:
    with pytest.raises(InvalidAmount, match="not an amount of euros"):
        parse_eur(value)


@pytest.mark.parametrize(
    "value", ["10000000.01", "10,000,001", "99999999999", "31415926535897", 10_000_001]
)
def test_parse_eur_refuses_absurd_amounts(value: object) -> None:
    with pytest.raises(InvalidAmount, match="more than the largest allowed") as exc:
        parse_eur(value)  # type: ignore[arg-type]
    assert "EUR 10,000,000.00" in str(exc.value)


def test_parse_eur_names_the_field() -> None:
    with pytest.raises(InvalidAmount, match=r"^reward 'x'"):
        parse_eur("x", "reward")
    with pytest.raises(InvalidAmount, match=r"^budget must be"):
        parse_eur("-1", "budget")


def test_invalid_amount_is_a_value_error_and_a_heitje_error() -> None:
    with pytest.raises(ValueError):
        parse_eur("1,500")
    with pytest.raises(HeitjeError):
        check_cents(1.0)


# ------------------------------------------------------------------ check_cents


@pytest.mark.parametrize("cents", [1, 99, 1250, MAX_CENTS])
def test_check_cents_accepts(cents: int) -> None:
    assert check_cents(cents) == cents


def test_check_cents_zero_only_when_allowed() -> None:
    with pytest.raises(InvalidAmount, match="more than zero"):
        check_cents(0)
    assert check_cents(0, allow_zero=True) == 0
    with pytest.raises(InvalidAmount, match="zero or more"):
        check_cents(-1, allow_zero=True)


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (1.0, "whole number of cents, not float"),
        (12.5, "whole number of cents, not float"),
        (True, "not bool"),
        (False, "not bool"),
        ("100", "not str"),
        (Decimal("1"), "not Decimal"),
        (None, "not NoneType"),
        (-1, "more than zero"),
        (-(10**30), "more than zero"),
        (0, "more than zero"),
        (MAX_CENTS + 1, "more than the largest allowed"),
        (2**256, "more than the largest allowed"),
    ],
)
def test_check_cents_refuses(value: object, match: str) -> None:
    with pytest.raises(InvalidAmount, match=match) as exc:
        check_cents(value, "payment")
    assert str(exc.value).startswith("payment")
    assert exc.value.values["amount"] is value


# ------------------------------------------------------------------ formatting


@pytest.mark.parametrize(
    ("cents", "text"),
    [
        (0, "EUR 0.00"),
        (1, "EUR 0.01"),
        (10, "EUR 0.10"),
        (100, "EUR 1.00"),
        (1250, "EUR 12.50"),
        (99999, "EUR 999.99"),
        (150000, "EUR 1,500.00"),
        (500000, "EUR 5,000.00"),
        (MAX_CENTS, "EUR 10,000,000.00"),
        (-1, "EUR -0.01"),
        (-1250, "EUR -12.50"),
        (-150000, "EUR -1,500.00"),
    ],
)
def test_eur(cents: int, text: str) -> None:
    assert eur(cents) == text


def test_cents_to_decimal() -> None:
    assert cents_to_decimal(1250) == Decimal("12.50")
    assert str(cents_to_decimal(1250)) == "12.50"
    assert str(cents_to_decimal(1)) == "0.01"
    assert str(cents_to_decimal(0)) == "0.00"
    assert str(cents_to_decimal(-5)) == "-0.05"


@pytest.mark.parametrize(
    "cents", [1, 9, 10, 99, 100, 101, 999, 1000, 12345, 99999, 100000, 1234567, MAX_CENTS]
)
def test_round_trips(cents: int) -> None:
    assert parse_eur(eur(cents)) == cents
    assert parse_eur(str(cents_to_decimal(cents))) == cents
    assert parse_eur(cents_to_decimal(cents)) == cents
    assert parse_eur(str(cents_to_decimal(cents)).replace(".", ",")) == cents


@pytest.mark.parametrize("text", ["1_000", "1_000.00", "EUR 1_500", "12_50", "_5"])
def test_parse_eur_refuses_underscores(text: str) -> None:
    """Python's int() and Decimal() read `1_000` as a thousand; an amount field does not."""
    with pytest.raises(InvalidAmount, match="no underscores") as exc:
        parse_eur(text)
    assert exc.value.values["amount"] == text
