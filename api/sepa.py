"""SEPA credit-transfer files (ISO 20022 pain.001.001.03) for the treasurer's open redemptions.

Merchants redeem Heitje for euros; the treasurer pays them with one bank file: a
`pain.001.001.03` "Customer Credit Transfer Initiation", the version Dutch banks (and most
European banks) accept for batches of SEPA credit transfers.

No network. The rules here are the EPC's SEPA Credit Transfer rules on top of the XSD:

- IBANs: the countries of the SEPA scheme (the list below, kept here because it is more
  current than the libraries': AL, MD, ME, MK and RS joined in 2025), their length and layout
  (the SWIFT IBAN registry), ISO 7064 mod-97; then, through the schwifty library, the
  national check digits inside the account number (BE, FR, ES, IT, NO, FI, PT, EE, DE, PL,
  CZ, SK, SI, IS, MC, SM, ME, MK, RS: a typo that mod-97 misses is caught there), and for NL
  and DE that the bank code is a bank's (schwifty ships the Dutch Betaalvereniging's and the
  Bundesbank's lists, which are complete; other countries' lists are not, so a bank code is
  not refused there for being missing from one).
- Texts (names, remittance information): the SEPA Latin character set
  `a-z A-Z 0-9 / - ? : ( ) . , ' + space`; common accents are transliterated, anything else
  becomes a space. Names are cut to 70 characters, remittance texts to 140.
- Identifiers (MsgId, PmtInfId, EndToEndId): 1-35 characters of that set without spaces, not
  starting or ending with `/` and without `//`.
- Amounts: `Decimal` only, more than 0, at most 999999999.99, at most 2 decimals, always
  written with exactly 2. Each header's CtrlSum is the exact sum of the amounts.

The element order follows the sequences of the pain.001.001.03 XSD (GroupHeader32,
PaymentInstructionInformation3, CreditTransferTransactionInformation10, ...).
"""

from __future__ import annotations

import re
import unicodedata
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from schwifty import IBAN as LibraryIban
from schwifty import exceptions as iban_exceptions

__all__ = [
    "IBAN_FORMATS",
    "MAX_AMOUNT",
    "NAMESPACE",
    "Debtor",
    "IbanFormat",
    "ParsedPain001",
    "SepaError",
    "Transfer",
    "build_pain001",
    "format_groups",
    "format_iban",
    "parse_pain001",
    "sepa_text",
    "validate_bic",
    "validate_iban",
]

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"
MAX_AMOUNT = Decimal("999999999.99")
NAME_MAX = 70
REMITTANCE_MAX = 140
ID_MAX = 35
_CENT = Decimal("0.01")


class SepaError(ValueError):
    """Input that cannot go into a SEPA file; the message says what is wrong in plain words."""


# --- IBAN ---------------------------------------------------------------------------------

# The account part (BBAN) of every country in the SEPA scheme, as in the SWIFT IBAN registry:
# `n` digits, `a` capital letters, `c` letters or digits. The IBAN is the country code, two
# check digits and this BBAN. French overseas departments, the Channel
# Islands and the Isle of Man, Aland, the Azores, Madeira and the Canary Islands use the
# IBANs of FR, GB, FI, PT and ES. AL, MD, ME, MK and RS joined the SEPA scheme in 2025.
_BBAN: dict[str, tuple[str, str]] = {
    "AD": ("Andorra", "4n4n12c"),
    "AL": ("Albania", "8n16c"),
    "AT": ("Austria", "5n11n"),
    "BE": ("Belgium", "3n7n2n"),
    "BG": ("Bulgaria", "4a4n2n8c"),
    "CH": ("Switzerland", "5n12c"),
    "CY": ("Cyprus", "3n5n16c"),
    "CZ": ("the Czech Republic", "4n6n10n"),
    "DE": ("Germany", "8n10n"),
    "DK": ("Denmark", "4n9n1n"),
    "EE": ("Estonia", "2n2n11n1n"),
    "ES": ("Spain", "4n4n1n1n10n"),
    "FI": ("Finland", "6n7n1n"),
    "FR": ("France", "5n5n11c2n"),
    "GB": ("the United Kingdom", "4a6n8n"),
    "GI": ("Gibraltar", "4a15c"),
    "GR": ("Greece", "3n4n16c"),
    "HR": ("Croatia", "7n10n"),
    "HU": ("Hungary", "3n4n1n15n1n"),
    "IE": ("Ireland", "4a6n8n"),
    "IS": ("Iceland", "4n2n6n10n"),
    "IT": ("Italy", "1a5n5n12c"),
    "LI": ("Liechtenstein", "5n12c"),
    "LT": ("Lithuania", "5n11n"),
    "LU": ("Luxembourg", "3n13c"),
    "LV": ("Latvia", "4a13c"),
    "MC": ("Monaco", "5n5n11c2n"),
    "MD": ("Moldova", "2c18c"),
    "ME": ("Montenegro", "3n13n2n"),
    "MK": ("North Macedonia", "3n10c2n"),
    "MT": ("Malta", "4a5n18c"),
    "NL": ("the Netherlands", "4a10n"),
    "NO": ("Norway", "4n6n1n"),
    "PL": ("Poland", "8n16n"),
    "PT": ("Portugal", "4n4n11n2n"),
    "RO": ("Romania", "4a16c"),
    "RS": ("Serbia", "3n13n2n"),
    "SE": ("Sweden", "3n16n1n"),
    "SI": ("Slovenia", "5n8n2n"),
    "SK": ("Slovakia", "4n6n10n"),
    "SM": ("San Marino", "1a5n5n12c"),
    "VA": ("Vatican City", "3n15n"),
}

_PIECE = re.compile(r"(\d+)([nac])")
_CLASS = {"n": "[0-9]", "a": "[A-Z]", "c": "[A-Z0-9]"}
_WORD = {"n": "digits", "a": "letters", "c": "letters or digits"}


@dataclass(frozen=True)
class IbanFormat:
    """The layout of one country's IBANs: `country` (its name), `length`, the BBAN pattern."""

    country: str
    length: int
    bban: re.Pattern[str]
    description: str


def _iban_format(country: str, spec: str) -> IbanFormat:
    pieces = [(int(count), kind) for count, kind in _PIECE.findall(spec)]
    merged: list[tuple[int, str]] = []
    for count, kind in pieces:
        if merged and merged[-1][1] == kind:
            merged[-1] = (merged[-1][0] + count, kind)
        else:
            merged.append((count, kind))
    pattern = "".join(f"{_CLASS[kind]}{{{count}}}" for count, kind in merged)
    words = ", ".join(f"{count} {_WORD[kind]}" for count, kind in merged)
    length = 4 + sum(count for count, _ in pieces)
    return IbanFormat(country, length, re.compile(pattern), words)


#: Country code -> the layout of that country's IBANs (`.length`, `.country`).
IBAN_FORMATS: dict[str, IbanFormat] = {
    code: _iban_format(country, spec) for code, (country, spec) in _BBAN.items()
}

_ALNUM = re.compile(r"[A-Z0-9]*")


def _mod97(text: str) -> int:
    """ISO 7064 MOD 97-10 of an IBAN: the first four characters moved to the end, letters as
    numbers (A=10 ... Z=35)."""
    rearranged = text[4:] + text[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97


def validate_iban(text: str) -> str:
    """The IBAN in its electronic form (no spaces, capitals), or `SepaError` saying what is
    wrong with it."""
    if not isinstance(text, str):
        raise SepaError(f"an IBAN is text, not {type(text).__name__}")
    iban = "".join(text.split()).upper()
    if not iban:
        raise SepaError("the IBAN is empty")
    bad = sorted({char for char in iban if not ("A" <= char <= "Z" or "0" <= char <= "9")})
    if bad:
        shown = " ".join(repr(char) for char in bad)
        raise SepaError(f"an IBAN has only letters and digits; {text!r} also has {shown}")
    code = iban[:2]
    if len(iban) < 2 or not code.isalpha():
        raise SepaError(f"{text!r} does not start with a two-letter country code like NL")
    layout = IBAN_FORMATS.get(code)
    if layout is None:
        raise SepaError(f"{code} is not the country code of a country in the SEPA area")
    if len(iban) != layout.length:
        raise SepaError(
            f"an IBAN from {layout.country} has {layout.length} characters; "
            f"{format_groups(iban)!r} has {len(iban)}"
        )
    if not iban[2:4].isdigit():
        raise SepaError(
            f"the third and fourth characters of an IBAN are check digits; {iban[2:4]!r} is not"
        )
    if not layout.bban.fullmatch(iban[4:]):
        raise SepaError(
            f"after the country code and check digits, an IBAN from {layout.country} has "
            f"{layout.description}; {format_groups(iban)!r} does not"
        )
    if _mod97(iban) != 1 or iban[2:4] in {"00", "01", "99"}:
        raise SepaError(f"the check digits of {format_groups(iban)} do not match: a typo?")
    _check_national(iban, layout)
    return iban


#: Countries whose complete list of bank codes schwifty ships: there an unknown bank code is
#: a typo (the Betaalvereniging's list for NL, the Bundesbank's for DE).
BANK_CODES_CHECKED = frozenset({"NL", "DE"})


def _check_national(iban: str, layout: IbanFormat) -> None:
    """The national check digits inside the account number and, where the list is complete,
    the bank code, through schwifty. A country schwifty does not know is not checked further."""
    try:
        parsed = LibraryIban(iban, allow_invalid=True)
        bban = parsed.bban
    except iban_exceptions.SchwiftyException:
        return
    with warnings.catch_warnings():
        # A country without national check digits (or without a known algorithm for them).
        warnings.simplefilter("ignore", iban_exceptions.NationalChecksumNotVerified)
        try:
            bban.validate_national_checksum()
        except iban_exceptions.InvalidBBANChecksum:
            raise SepaError(
                f"the account number in {format_groups(iban)} does not match its own check "
                f"digits (banks in {layout.country} add them to catch typos): a typo?"
            ) from None
    if iban[:2] in BANK_CODES_CHECKED and parsed.bank is None:
        raise SepaError(
            f"{parsed.bank_code} in {format_groups(iban)} is not the code of a bank in "
            f"{layout.country}: a typo?"
        )


def format_groups(text: str) -> str:
    """`text` in groups of four characters, the way an IBAN is printed for people."""
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def format_iban(iban: str) -> str:
    """A valid IBAN in groups of four for people: `NL91 ABNA 0417 1643 00`."""
    return format_groups(validate_iban(iban))


# --- BIC ----------------------------------------------------------------------------------

# BICIdentifier in the XSD: bank (4 letters), country (2 letters), location (2), branch (3).
_BIC = re.compile(r"[A-Z]{6}[A-Z2-9][A-NP-Z0-9](?:[A-Z0-9]{3})?")


def validate_bic(text: str) -> str:
    """The BIC (SWIFT code) in capitals without spaces, or `SepaError`. A BIC is optional in
    SEPA: pass `None` around it rather than an empty string."""
    if not isinstance(text, str):
        raise SepaError(f"a BIC is text, not {type(text).__name__}")
    bic = "".join(text.split()).upper()
    if len(bic) not in (8, 11):
        raise SepaError(f"a BIC has 8 or 11 characters; {text!r} has {len(bic)}")
    if not _BIC.fullmatch(bic):
        raise SepaError(
            f"{text!r} is not a BIC: 4 letters for the bank, 2 for the country, then 2 "
            "letters or digits for the place and optionally 3 for the branch"
        )
    return bic


# --- Text ---------------------------------------------------------------------------------

_SEPA_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ ")
# Letters that do not decompose into an ASCII letter plus accents, and common punctuation.
_SPECIAL = {
    "ß": "ss",
    "ẞ": "SS",
    "æ": "ae",
    "Æ": "AE",
    "œ": "oe",
    "Œ": "OE",
    "ø": "o",
    "Ø": "O",
    "ł": "l",
    "Ł": "L",
    "đ": "d",
    "Đ": "D",
    "ð": "d",
    "Ð": "D",
    "þ": "th",
    "Þ": "TH",
    "\u0131": "i",
    "&": "+",
    "€": "EUR",
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "`": "'",
    "\u00b4": "'",
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "_": "-",
}


def _transliterate(char: str) -> str:
    if char in _SEPA_CHARS:
        return char
    if char in _SPECIAL:
        return _SPECIAL[char]
    # é -> e + combining acute -> e; the ligature ĳ -> ij; ﬁ -> fi.
    decomposed = unicodedata.normalize("NFKD", char)
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    if kept and all(c in _SEPA_CHARS for c in kept):
        return kept
    return " "


def sepa_text(text: str, max_length: int) -> str:
    """`text` in the SEPA Latin character set: accents transliterated, other characters
    replaced by a space, runs of spaces collapsed, cut to `max_length` characters."""
    if not isinstance(text, str):
        raise SepaError(f"expected text, not {type(text).__name__}")
    converted = "".join(_transliterate(char) for char in text)
    collapsed = " ".join(converted.split())
    return collapsed[:max_length].rstrip()


def _name(text: str, what: str) -> str:
    name = sepa_text(text, NAME_MAX)
    if not name:
        raise SepaError(f"{what} is empty (or has no letters or digits a bank accepts)")
    return name


_ID = re.compile(r"[A-Za-z0-9/\-?:().,'+]{1,35}")


def _identifier(value: str, what: str) -> str:
    if not isinstance(value, str):
        raise SepaError(f"{what} is text, not {type(value).__name__}")
    if not value:
        raise SepaError(f"{what} is empty")
    if len(value) > ID_MAX:
        raise SepaError(f"{what} {value!r} has {len(value)} characters; at most {ID_MAX}")
    if not _ID.fullmatch(value):
        raise SepaError(
            f"{what} {value!r} may only have letters, digits and / - ? : ( ) . , ' + "
            "(no spaces or accents)"
        )
    if value.startswith("/") or value.endswith("/") or "//" in value:
        raise SepaError(f"{what} {value!r} may not start or end with '/' or contain '//'")
    return value


# --- Amounts ------------------------------------------------------------------------------


def _amount(value: object, what: str) -> Decimal:
    if isinstance(value, float):
        raise SepaError(f"{what}: a float ({value!r}) is not exact; use Decimal('...')")
    if not isinstance(value, Decimal):
        raise SepaError(f"{what}: the amount must be a Decimal, not {type(value).__name__}")
    if not value.is_finite():
        raise SepaError(f"{what}: {value} is not an amount")
    if value <= 0:
        raise SepaError(f"{what}: the amount must be more than 0, not {value}")
    if value > MAX_AMOUNT:
        raise SepaError(f"{what}: {value} is more than the maximum of {MAX_AMOUNT} euro")
    cents = value.quantize(_CENT)
    if cents != value:
        raise SepaError(f"{what}: {value} has more than 2 decimals (whole cents only)")
    return cents


def _money(value: Decimal) -> str:
    return format(value.quantize(_CENT), "f")


# --- Data ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Debtor:
    """Who pays: the municipality's account."""

    name: str
    iban: str
    bic: str | None = None


@dataclass(frozen=True)
class Transfer:
    """One payment to a merchant. `end_to_end_id` is shown to the merchant and comes back in
    returns; make it unique (e.g. the redemption's id)."""

    end_to_end_id: str
    creditor_name: str
    creditor_iban: str
    creditor_bic: str | None
    amount: Decimal
    remittance: str


@dataclass(frozen=True)
class ParsedPain001:
    """What a pain.001 file says: the header, the payer and the payments."""

    message_id: str
    created_at: datetime
    payment_info_id: str
    execution_date: date
    batch_booking: bool
    debtor: Debtor
    transfers: tuple[Transfer, ...]
    number_of_transactions: int
    control_sum: Decimal


def _clean_debtor(debtor: Debtor) -> Debtor:
    try:
        return Debtor(
            name=_name(debtor.name, "the debtor's name"),
            iban=validate_iban(debtor.iban),
            bic=None if debtor.bic is None else validate_bic(debtor.bic),
        )
    except SepaError as exc:
        raise SepaError(f"debtor account: {exc}") from None


def _clean_transfer(number: int, transfer: Transfer) -> Transfer:
    label = f"transfer {number}"
    if isinstance(transfer.end_to_end_id, str) and transfer.end_to_end_id:
        label += f" ({transfer.end_to_end_id})"
    try:
        return Transfer(
            end_to_end_id=_identifier(transfer.end_to_end_id, "the end-to-end id"),
            creditor_name=_name(transfer.creditor_name, "the creditor's name"),
            creditor_iban=validate_iban(transfer.creditor_iban),
            creditor_bic=None
            if transfer.creditor_bic is None
            else validate_bic(transfer.creditor_bic),
            amount=_amount(transfer.amount, "amount"),
            remittance=sepa_text(transfer.remittance, REMITTANCE_MAX),
        )
    except SepaError as exc:
        raise SepaError(f"{label}: {exc}") from None


# --- Writing ------------------------------------------------------------------------------


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrib)
    if text is not None:
        element.text = text
    return element


def _path(parent: ET.Element, tags: str, text: str) -> None:
    """`A/B/C` under `parent`, with `text` in the last one."""
    node = parent
    for tag in tags.split("/"):
        node = _sub(node, tag)
    node.text = text


def _agent(parent: ET.Element, tag: str, bic: str | None) -> None:
    institution = _sub(_sub(parent, tag), "FinInstnId")
    if bic is None:
        _path(institution, "Othr/Id", "NOTPROVIDED")
    else:
        _sub(institution, "BIC", bic)


def _timestamp(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


def build_pain001(
    debtor: Debtor,
    transfers: Iterable[Transfer],
    *,
    message_id: str,
    created_at: datetime,
    execution_date: date,
    batch_booking: bool = True,
    payment_info_id: str | None = None,
) -> bytes:
    """A pain.001.001.03 file (UTF-8 XML) paying `transfers` from the `debtor`'s account on
    `execution_date`, in one payment batch. `payment_info_id` defaults to `message_id`.

    Raises `SepaError` for anything a bank would refuse (see the module's docstring).
    """
    message_id = _identifier(message_id, "the message id")
    payment_info_id = _identifier(
        message_id if payment_info_id is None else payment_info_id, "the payment batch id"
    )
    if not isinstance(created_at, datetime):
        raise SepaError(f"created_at must be a datetime, not {type(created_at).__name__}")
    if isinstance(execution_date, datetime) or not isinstance(execution_date, date):
        raise SepaError(f"execution_date must be a date, not {type(execution_date).__name__}")
    if execution_date < created_at.date():
        raise SepaError(
            f"the execution date {execution_date} is before the file's date "
            f"{created_at.date()}; a bank does not pay in the past"
        )
    payer = _clean_debtor(debtor)
    payments = [_clean_transfer(number, t) for number, t in enumerate(transfers, 1)]
    if not payments:
        raise SepaError("there are no transfers to pay; a SEPA file needs at least one")
    seen: dict[str, int] = {}
    for number, payment in enumerate(payments, 1):
        first = seen.setdefault(payment.end_to_end_id, number)
        if first != number:
            raise SepaError(
                f"transfers {first} and {number} have the same end-to-end id "
                f"{payment.end_to_end_id!r}; each payment needs its own"
            )
    count = str(len(payments))
    total = _money(sum((p.amount for p in payments), Decimal(0)))

    document = ET.Element("Document", {"xmlns": NAMESPACE})
    initiation = _sub(document, "CstmrCdtTrfInitn")

    header = _sub(initiation, "GrpHdr")
    _sub(header, "MsgId", message_id)
    _sub(header, "CreDtTm", _timestamp(created_at))
    _sub(header, "NbOfTxs", count)
    _sub(header, "CtrlSum", total)
    _path(header, "InitgPty/Nm", payer.name)

    batch = _sub(initiation, "PmtInf")
    _sub(batch, "PmtInfId", payment_info_id)
    _sub(batch, "PmtMtd", "TRF")
    _sub(batch, "BtchBookg", "true" if batch_booking else "false")
    _sub(batch, "NbOfTxs", count)
    _sub(batch, "CtrlSum", total)
    _path(batch, "PmtTpInf/SvcLvl/Cd", "SEPA")
    _sub(batch, "ReqdExctnDt", execution_date.isoformat())
    _path(batch, "Dbtr/Nm", payer.name)
    _path(batch, "DbtrAcct/Id/IBAN", payer.iban)
    _agent(batch, "DbtrAgt", payer.bic)
    _sub(batch, "ChrgBr", "SLEV")

    for payment in payments:
        transaction = _sub(batch, "CdtTrfTxInf")
        _path(transaction, "PmtId/EndToEndId", payment.end_to_end_id)
        _sub(_sub(transaction, "Amt"), "InstdAmt", _money(payment.amount), Ccy="EUR")
        if payment.creditor_bic is not None:
            _agent(transaction, "CdtrAgt", payment.creditor_bic)
        _path(transaction, "Cdtr/Nm", payment.creditor_name)
        _path(transaction, "CdtrAcct/Id/IBAN", payment.creditor_iban)
        if payment.remittance:
            _path(transaction, "RmtInf/Ustrd", payment.remittance)

    ET.indent(document)
    body: bytes = ET.tostring(document, encoding="utf-8")  # no declaration for utf-8
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body + b"\n"


# --- Reading ------------------------------------------------------------------------------

_NS = {"p": NAMESPACE}


def _text(parent: ET.Element, path: str, what: str) -> str:
    node = parent.find(path, _NS)
    if node is None or node.text is None or not node.text.strip():
        raise SepaError(f"the file has no {what} ({path.replace('p:', '')})")
    return node.text.strip()


def _optional_text(parent: ET.Element, path: str) -> str | None:
    node = parent.find(path, _NS)
    if node is None or node.text is None:
        return None
    return node.text.strip() or None


def _read_decimal(text: str, what: str) -> Decimal:
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", text):
        raise SepaError(f"{what} {text!r} is not a number")
    return Decimal(text)


def _read_count(text: str, what: str) -> int:
    if not re.fullmatch(r"[0-9]{1,15}", text):
        raise SepaError(f"{what} {text!r} is not a count")
    return int(text)


def _read_agent_bic(parent: ET.Element, tag: str) -> str | None:
    return _optional_text(parent, f"p:{tag}/p:FinInstnId/p:BIC")


def parse_pain001(xml: bytes) -> ParsedPain001:
    """Read a pain.001.001.03 file with one payment batch, e.g. to show the treasurer what
    it pays. Checks that the header's count and control sum match the payments."""
    if b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:
        raise SepaError("the file has a DOCTYPE or ENTITY declaration; a pain.001 file has none")
    try:
        # The DOCTYPE check above rules out entity tricks; ElementTree fetches nothing.
        root = ET.fromstring(xml)  # noqa: S314
    except ET.ParseError as exc:
        raise SepaError(f"the file is not well-formed XML: {exc}") from None
    if root.tag != f"{{{NAMESPACE}}}Document":
        raise SepaError(f"this is not a pain.001.001.03 file: the root element is {root.tag}")
    initiation = root.find("p:CstmrCdtTrfInitn", _NS)
    if initiation is None:
        raise SepaError("the file has no CstmrCdtTrfInitn element")
    header = initiation.find("p:GrpHdr", _NS)
    if header is None:
        raise SepaError("the file has no group header (GrpHdr)")
    batches = initiation.findall("p:PmtInf", _NS)
    if len(batches) != 1:
        raise SepaError(f"the file has {len(batches)} payment batches; expected exactly one")
    batch = batches[0]

    try:
        created_at = datetime.fromisoformat(_text(header, "p:CreDtTm", "creation time"))
        execution_date = date.fromisoformat(_text(batch, "p:ReqdExctnDt", "execution date"))
    except ValueError as exc:
        raise SepaError(f"a date in the file is not valid: {exc}") from None
    booking = _optional_text(batch, "p:BtchBookg")
    if booking not in (None, "true", "false", "1", "0"):
        raise SepaError(f"BtchBookg {booking!r} is not true or false")

    debtor = Debtor(
        name=_text(batch, "p:Dbtr/p:Nm", "debtor name"),
        iban=_text(batch, "p:DbtrAcct/p:Id/p:IBAN", "debtor IBAN"),
        bic=_read_agent_bic(batch, "DbtrAgt"),
    )
    transfers: list[Transfer] = []
    for number, transaction in enumerate(batch.findall("p:CdtTrfTxInf", _NS), 1):
        amount_node = transaction.find("p:Amt/p:InstdAmt", _NS)
        if amount_node is None or amount_node.text is None:
            raise SepaError(f"transfer {number} has no amount (Amt/InstdAmt)")
        currency = amount_node.get("Ccy")
        if currency != "EUR":
            raise SepaError(f"transfer {number} is in {currency}, not EUR")
        transfers.append(
            Transfer(
                end_to_end_id=_text(transaction, "p:PmtId/p:EndToEndId", "end-to-end id"),
                creditor_name=_text(transaction, "p:Cdtr/p:Nm", "creditor name"),
                creditor_iban=_text(transaction, "p:CdtrAcct/p:Id/p:IBAN", "creditor IBAN"),
                creditor_bic=_read_agent_bic(transaction, "CdtrAgt"),
                amount=_read_decimal(amount_node.text.strip(), f"transfer {number}'s amount"),
                remittance=" ".join(
                    node.text.strip()
                    for node in transaction.findall("p:RmtInf/p:Ustrd", _NS)
                    if node.text
                ),
            )
        )
    if not transfers:
        raise SepaError("the payment batch has no transfers (CdtTrfTxInf)")

    total = sum((t.amount for t in transfers), Decimal(0))
    for where, node in (("group header", header), ("payment batch", batch)):
        declared = _optional_text(node, "p:NbOfTxs")
        if declared is not None and _read_count(declared, "NbOfTxs") != len(transfers):
            raise SepaError(
                f"the {where} says {declared} transfers but the file has {len(transfers)}"
            )
        control = _optional_text(node, "p:CtrlSum")
        if control is not None and _read_decimal(control, "CtrlSum") != total:
            raise SepaError(
                f"the {where}'s control sum {control} is not the sum of the amounts, {total}"
            )

    return ParsedPain001(
        message_id=_text(header, "p:MsgId", "message id"),
        created_at=created_at,
        payment_info_id=_text(batch, "p:PmtInfId", "payment batch id"),
        execution_date=execution_date,
        # Without BtchBookg the bank's default applies, which is batch booking.
        batch_booking=booking in (None, "true", "1"),
        debtor=debtor,
        transfers=tuple(transfers),
        number_of_transactions=len(transfers),
        control_sum=total,
    )
