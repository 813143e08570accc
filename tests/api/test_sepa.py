"""api/sepa.py: IBANs, BICs and the pain.001.001.03 file for the treasurer's payments.

Plain pytest, no conftest, no network:
    .venv/bin/python -m pytest -p no:pytest-brownie tests/api/test_sepa.py
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from api.sepa import (
    IBAN_FORMATS,
    NAMESPACE,
    Debtor,
    SepaError,
    Transfer,
    build_pain001,
    format_iban,
    parse_pain001,
    sepa_text,
    validate_bic,
    validate_iban,
)

N = "{" + NAMESPACE + "}"
CREATED = datetime(2024, 5, 1, 10, 30, 15, 123456)
EXECUTION = date(2024, 5, 2)
MUNICIPALITY = Debtor("Gemeente Heitjesdorp", "NL91 ABNA 0417 1643 00", "ABNANL2A")
BAKER = Transfer(
    end_to_end_id="RED-2024-0001",
    creditor_name="Bakkerij Één",
    creditor_iban="be68 5390 0754 7034",
    creditor_bic=None,
    amount=Decimal("12.5"),
    remittance="Inwisseling Heitje 0001",
)
BUTCHER = Transfer(
    end_to_end_id="RED-2024-0002",
    creditor_name="Slagerij Müller & Zn",
    creditor_iban="DE89370400440532013000",
    creditor_bic="cobadeffxxx",
    amount=Decimal("1000.05"),
    remittance="Inwisseling Heitje 0002",
)


def build(transfers: list[Transfer] | None = None, **kwargs: object) -> bytes:
    options: dict[str, object] = {
        "message_id": "HEITJE-20240501-1",
        "created_at": CREATED,
        "execution_date": EXECUTION,
    }
    options.update(kwargs)
    return build_pain001(
        MUNICIPALITY,
        [BAKER, BUTCHER] if transfers is None else transfers,
        **options,  # type: ignore[arg-type]
    )


def tree(xml: bytes) -> ET.Element:
    return ET.fromstring(xml)


def local(element: ET.Element) -> str:
    assert element.tag.startswith(N), element.tag
    return element.tag[len(N) :]


def children(element: ET.Element) -> list[str]:
    return [local(child) for child in element]


def at(element: ET.Element, path: str) -> ET.Element:
    found = element.find("/".join(N + part for part in path.split("/")))
    assert found is not None, path
    return found


def text(element: ET.Element, path: str) -> str:
    node = at(element, path)
    assert node.text is not None
    return node.text


# --- IBAN ---------------------------------------------------------------------------------

VALID_IBANS = [
    "NL91ABNA0417164300",
    "BE68539007547034",
    "DE89370400440532013000",
    "FR1420041010050500013M02606",
    "LU280019400644750000",
    "AT611904300234573201",
    "ES9121000418450200051332",
    "IT60X0542811101000000123456",
    "GB29NWBK60161331926819",
    "CH9300762011623852957",
    "NO9386011117947",
    "MT84MALT011000012345MTLCAST001S",
    "VA59001123000012345678",
]


@pytest.mark.parametrize("iban", VALID_IBANS)
def test_valid_ibans(iban: str) -> None:
    assert validate_iban(iban) == iban


def test_lowercase_with_spaces_is_normalised() -> None:
    assert validate_iban(" nl91 abna 0417 1643 00 ") == "NL91ABNA0417164300"
    assert validate_iban("NL91\tABNA\u00a00417164300") == "NL91ABNA0417164300"
    assert format_iban("nl91abna0417164300") == "NL91 ABNA 0417 1643 00"
    assert format_iban("BE68539007547034") == "BE68 5390 0754 7034"


def test_country_lengths() -> None:
    expected = {"NL": 18, "BE": 16, "DE": 22, "FR": 27, "LU": 20, "AT": 20, "ES": 24}
    expected |= {"IT": 27, "GB": 22, "CH": 21, "NO": 15, "MT": 31, "PL": 28, "IE": 22}
    for country, length in expected.items():
        assert IBAN_FORMATS[country].length == length, country
    # Every EU country is in the table.
    eu = "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK"
    assert set(eu.split()) <= set(IBAN_FORMATS)


@pytest.mark.parametrize(
    "typo",
    [
        "NL91ABNA0417164301",  # last digit
        "NL91ABNA0417164200",  # a middle digit
        "NL92ABNA0417164300",  # a check digit
        "NL91ABNA0417163400",  # two digits swapped
        "BE68539007547043",
        "DE89370400440532013001",
    ],
)
def test_a_typo_is_caught(typo: str) -> None:
    with pytest.raises(SepaError, match=r"the check digits .* do not match: a typo"):
        validate_iban(typo)


@pytest.mark.parametrize(
    ("iban", "message"),
    [
        ("NL91ABNA041716430", "the Netherlands has 18 characters; .* has 17"),
        ("NL91ABNA04171643000", "has 18 characters; .* has 19"),
        ("BE6853900754703", "Belgium has 16 characters"),
        ("DE8937040044053201300", "Germany has 22 characters"),
        ("XX91ABNA0417164300", "XX is not the country code of a country in the SEPA area"),
        ("US91ABNA0417164300", "US is not the country code"),
        ("91ABNA0417164300", "two-letter country code"),
        ("NL91-ABNA-0417-1643-00", "only letters and digits"),
        ("NLX1ABNA0417164300", "check digits"),
        ("NL91ABNA04171643O0", "4 letters, 10 digits"),  # a letter O for a zero
        ("", "empty"),
        ("   ", "empty"),
    ],
)
def test_invalid_ibans(iban: str, message: str) -> None:
    with pytest.raises(SepaError, match=message):
        validate_iban(iban)


def test_sepa_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="typo"):
        validate_iban("NL91ABNA0417164301")


def test_reserved_check_digits_are_refused() -> None:
    # 00 and 97, 01 and 98 give the same remainder; ISO 13616 uses only 02..98.
    body = "ABNA0417164300"
    assert validate_iban("NL91" + body)
    candidates = [f"NL{d:02d}{body}" for d in range(100)]
    passing = [c for c in candidates if _passes_mod97(c)]
    assert passing == ["NL91" + body]
    for iban in ("NL00ABNA0417164300", "NL01ABNA0417164300", "NL99ABNA0417164300"):
        with pytest.raises(SepaError):
            validate_iban(iban)


def _passes_mod97(iban: str) -> bool:
    try:
        validate_iban(iban)
    except SepaError:
        return False
    return True


# --- BIC ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bic", "normalised"),
    [("ABNANL2A", "ABNANL2A"), ("rabo nl 2u", "RABONL2U"), ("COBADEFFXXX", "COBADEFFXXX")],
)
def test_valid_bics(bic: str, normalised: str) -> None:
    assert validate_bic(bic) == normalised


@pytest.mark.parametrize(
    ("bic", "message"),
    [
        ("ABNANL2", "8 or 11 characters"),
        ("ABNANL2AXX", "8 or 11 characters"),
        ("ABN1NL2A", "is not a BIC"),
        ("ABNANL1A", "is not a BIC"),  # location may not start with 0 or 1
        ("ABNANL2O", "is not a BIC"),  # location's second character may not be O
        ("", "8 or 11 characters"),
    ],
)
def test_invalid_bics(bic: str, message: str) -> None:
    with pytest.raises(SepaError, match=message):
        validate_bic(bic)


# --- Text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Café Ëlla", "Cafe Ella"),
        ("Müller Straße", "Muller Strasse"),
        ("Ĳsbaan", "IJsbaan"),
        ("ijsje", "ijsje"),
        ("Bakkerij Één", "Bakkerij Een"),
        ("Señor Ñandú", "Senor Nandu"),
        ("Jansen & Zn", "Jansen + Zn"),
        ("Jan\u2019s Fietsen \u2014 Oost", "Jan's Fietsen - Oost"),
        ("Søren Ærø Łódź", "Soren AEro Lodz"),
        ("東京 Sushi", "Sushi"),
        ("a  b\n\tc", "a b c"),
        ("Order #12 <b>@ 50%", "Order 12 b 50"),
        ("ok /-?:().,'+ 09", "ok /-?:().,'+ 09"),
    ],
)
def test_transliteration(raw: str, clean: str) -> None:
    assert sepa_text(raw, 140) == clean


def test_truncation() -> None:
    assert sepa_text("x" * 200, 70) == "x" * 70
    assert sepa_text("é" * 200, 140) == "e" * 140
    assert sepa_text("a" * 69 + " b", 70) == "a" * 69  # no trailing space


# --- The file -----------------------------------------------------------------------------


def test_document_structure_and_element_order() -> None:
    xml = build()
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    xml.decode("utf-8")
    root = tree(xml)
    assert root.tag == N + "Document"
    assert children(root) == ["CstmrCdtTrfInitn"]
    initiation = at(root, "CstmrCdtTrfInitn")
    assert children(initiation) == ["GrpHdr", "PmtInf"]

    header = at(initiation, "GrpHdr")
    assert children(header) == ["MsgId", "CreDtTm", "NbOfTxs", "CtrlSum", "InitgPty"]
    assert text(header, "MsgId") == "HEITJE-20240501-1"
    assert text(header, "CreDtTm") == "2024-05-01T10:30:15"
    assert text(header, "NbOfTxs") == "2"
    assert text(header, "CtrlSum") == "1012.55"
    assert children(at(header, "InitgPty")) == ["Nm"]
    assert text(header, "InitgPty/Nm") == "Gemeente Heitjesdorp"

    batch = at(initiation, "PmtInf")
    assert children(batch) == [
        "PmtInfId",
        "PmtMtd",
        "BtchBookg",
        "NbOfTxs",
        "CtrlSum",
        "PmtTpInf",
        "ReqdExctnDt",
        "Dbtr",
        "DbtrAcct",
        "DbtrAgt",
        "ChrgBr",
        "CdtTrfTxInf",
        "CdtTrfTxInf",
    ]
    assert text(batch, "PmtInfId") == "HEITJE-20240501-1"
    assert text(batch, "PmtMtd") == "TRF"
    assert text(batch, "BtchBookg") == "true"
    assert text(batch, "NbOfTxs") == "2"
    assert text(batch, "CtrlSum") == "1012.55"
    assert children(at(batch, "PmtTpInf")) == ["SvcLvl"]
    assert children(at(batch, "PmtTpInf/SvcLvl")) == ["Cd"]
    assert text(batch, "PmtTpInf/SvcLvl/Cd") == "SEPA"
    assert text(batch, "ReqdExctnDt") == "2024-05-02"
    assert children(at(batch, "Dbtr")) == ["Nm"]
    assert text(batch, "Dbtr/Nm") == "Gemeente Heitjesdorp"
    assert children(at(batch, "DbtrAcct")) == ["Id"]
    assert children(at(batch, "DbtrAcct/Id")) == ["IBAN"]
    assert text(batch, "DbtrAcct/Id/IBAN") == "NL91ABNA0417164300"
    assert children(at(batch, "DbtrAgt")) == ["FinInstnId"]
    assert children(at(batch, "DbtrAgt/FinInstnId")) == ["BIC"]
    assert text(batch, "DbtrAgt/FinInstnId/BIC") == "ABNANL2A"
    assert text(batch, "ChrgBr") == "SLEV"

    baker, butcher = batch.findall(N + "CdtTrfTxInf")
    # Without a BIC there is no CdtrAgt at all.
    assert children(baker) == ["PmtId", "Amt", "Cdtr", "CdtrAcct", "RmtInf"]
    assert children(at(baker, "PmtId")) == ["EndToEndId"]
    assert text(baker, "PmtId/EndToEndId") == "RED-2024-0001"
    assert children(at(baker, "Amt")) == ["InstdAmt"]
    assert text(baker, "Amt/InstdAmt") == "12.50"
    assert at(baker, "Amt/InstdAmt").attrib == {"Ccy": "EUR"}
    assert children(at(baker, "Cdtr")) == ["Nm"]
    assert text(baker, "Cdtr/Nm") == "Bakkerij Een"
    assert children(at(baker, "CdtrAcct/Id")) == ["IBAN"]
    assert text(baker, "CdtrAcct/Id/IBAN") == "BE68539007547034"
    assert children(at(baker, "RmtInf")) == ["Ustrd"]
    assert text(baker, "RmtInf/Ustrd") == "Inwisseling Heitje 0001"

    assert children(butcher) == ["PmtId", "Amt", "CdtrAgt", "Cdtr", "CdtrAcct", "RmtInf"]
    assert children(at(butcher, "CdtrAgt")) == ["FinInstnId"]
    assert children(at(butcher, "CdtrAgt/FinInstnId")) == ["BIC"]
    assert text(butcher, "CdtrAgt/FinInstnId/BIC") == "COBADEFFXXX"
    assert text(butcher, "Amt/InstdAmt") == "1000.05"
    assert text(butcher, "Cdtr/Nm") == "Slagerij Muller + Zn"
    assert text(butcher, "CdtrAcct/Id/IBAN") == "DE89370400440532013000"


def test_debtor_without_bic_is_not_provided() -> None:
    xml = build_pain001(
        replace(MUNICIPALITY, bic=None),
        [BAKER],
        message_id="M1",
        created_at=CREATED,
        execution_date=EXECUTION,
    )
    agent = at(tree(xml), "CstmrCdtTrfInitn/PmtInf/DbtrAgt/FinInstnId")
    assert children(agent) == ["Othr"]
    assert children(at(agent, "Othr")) == ["Id"]
    assert text(agent, "Othr/Id") == "NOTPROVIDED"


def test_options() -> None:
    root = tree(build(batch_booking=False, payment_info_id="BATCH-7"))
    assert text(root, "CstmrCdtTrfInitn/PmtInf/BtchBookg") == "false"
    assert text(root, "CstmrCdtTrfInitn/PmtInf/PmtInfId") == "BATCH-7"
    assert text(root, "CstmrCdtTrfInitn/GrpHdr/MsgId") == "HEITJE-20240501-1"
    aware = datetime(2024, 5, 1, 10, 0, tzinfo=timezone(timedelta(hours=2)))
    root = tree(build(created_at=aware))
    assert text(root, "CstmrCdtTrfInitn/GrpHdr/CreDtTm") == "2024-05-01T10:00:00+02:00"


def test_empty_remittance_leaves_out_rmtinf() -> None:
    root = tree(build([replace(BAKER, remittance=" \u6771 ")]))
    transaction = at(root, "CstmrCdtTrfInitn/PmtInf/CdtTrfTxInf")
    assert children(transaction) == ["PmtId", "Amt", "Cdtr", "CdtrAcct"]


@pytest.mark.parametrize(
    ("amounts", "rendered", "total"),
    [
        (["1", "2"], ["1.00", "2.00"], "3.00"),
        (["0.01", "0.1"], ["0.01", "0.10"], "0.11"),
        (["12.50", "7.500"], ["12.50", "7.50"], "20.00"),
        (["999999999.99", "0.01"], ["999999999.99", "0.01"], "1000000000.00"),
        (["0.10", "0.20", "0.30"], ["0.10", "0.20", "0.30"], "0.60"),
    ],
)
def test_amounts_have_two_decimals_and_ctrlsum_is_exact(
    amounts: list[str], rendered: list[str], total: str
) -> None:
    transfers = [
        replace(BAKER, end_to_end_id=f"E{i}", amount=Decimal(a)) for i, a in enumerate(amounts)
    ]
    root = tree(build(transfers))
    batch = at(root, "CstmrCdtTrfInitn/PmtInf")
    assert [text(t, "Amt/InstdAmt") for t in batch.findall(N + "CdtTrfTxInf")] == rendered
    for node in (at(root, "CstmrCdtTrfInitn/GrpHdr"), batch):
        assert text(node, "NbOfTxs") == str(len(amounts))
        assert text(node, "CtrlSum") == total
    assert Decimal(total) == sum((Decimal(r) for r in rendered), Decimal(0))


def test_names_and_remittance_are_transliterated_and_truncated() -> None:
    long_name = "Stichting Voedselbank Heitjesdorp en Omstreken " + "é" * 60
    transfer = replace(BAKER, creditor_name=long_name, remittance="Heitje ✓ " + "ü" * 200)
    debtor = Debtor("Gemeente 's-Hertogenbosch — Afdeling Financiën " + "x" * 40, MUNICIPALITY.iban)
    xml = build_pain001(
        debtor, [transfer], message_id="M", created_at=CREATED, execution_date=EXECUTION
    )
    root = tree(xml)
    creditor = text(root, "CstmrCdtTrfInitn/PmtInf/CdtTrfTxInf/Cdtr/Nm")
    assert len(creditor) == 70
    assert creditor == ("Stichting Voedselbank Heitjesdorp en Omstreken " + "e" * 60)[:70]
    remittance = text(root, "CstmrCdtTrfInitn/PmtInf/CdtTrfTxInf/RmtInf/Ustrd")
    assert len(remittance) == 140
    assert remittance == ("Heitje " + "u" * 200)[:140]
    debtor_name = text(root, "CstmrCdtTrfInitn/PmtInf/Dbtr/Nm")
    assert debtor_name.startswith("Gemeente 's-Hertogenbosch - Afdeling Financien xxx")
    assert len(debtor_name) == 70
    assert text(root, "CstmrCdtTrfInitn/GrpHdr/InitgPty/Nm") == debtor_name
    allowed = re.compile(r"[A-Za-z0-9/\-?:().,'+ ]*")
    for node in root.iter():
        if node.text and node.text.strip():
            assert allowed.fullmatch(node.text), node.text


# --- Refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (12.5, "float"),
        (0.1, "float"),
        (12, "must be a Decimal, not int"),
        ("12.50", "must be a Decimal, not str"),
        (Decimal("0"), "more than 0"),
        (Decimal("0.00"), "more than 0"),
        (Decimal("-5.00"), "more than 0"),
        (Decimal("1.001"), "more than 2 decimals"),
        (Decimal("0.005"), "more than 2 decimals"),
        (Decimal("1000000000.00"), "maximum"),
        (Decimal("NaN"), "not an amount"),
        (Decimal("Infinity"), "not an amount"),
    ],
)
def test_bad_amounts_are_refused(amount: object, message: str) -> None:
    with pytest.raises(SepaError, match=f"transfer 2 \\(RED-2024-0002\\): amount: .*{message}"):
        build([BAKER, replace(BUTCHER, amount=amount)])  # type: ignore[arg-type]


def test_bad_iban_in_a_transfer_is_refused() -> None:
    typo = replace(BUTCHER, creditor_iban="DE89370400440532013001")
    with pytest.raises(SepaError, match=r"transfer 2 \(RED-2024-0002\): the check digits"):
        build([BAKER, typo])
    with pytest.raises(SepaError, match="Belgium has 16 characters"):
        build([replace(BAKER, creditor_iban="BE6853900754703")])


def test_bad_bic_in_a_transfer_is_refused() -> None:
    with pytest.raises(SepaError, match=r"transfer 1 .*8 or 11 characters"):
        build([replace(BAKER, creditor_bic="ABNA")])


def test_bad_debtor_is_refused() -> None:
    for debtor in (
        replace(MUNICIPALITY, iban="NL91ABNA0417164301"),
        replace(MUNICIPALITY, name=""),
    ):
        with pytest.raises(SepaError, match="debtor"):
            build_pain001(
                debtor, [BAKER], message_id="M", created_at=CREATED, execution_date=EXECUTION
            )


def test_duplicate_end_to_end_id_is_refused() -> None:
    with pytest.raises(SepaError, match="transfers 1 and 3 have the same end-to-end id"):
        build([BAKER, BUTCHER, replace(BUTCHER, end_to_end_id=BAKER.end_to_end_id)])


def test_empty_list_is_refused() -> None:
    with pytest.raises(SepaError, match="no transfers"):
        build([])


def test_empty_creditor_name_is_refused() -> None:
    with pytest.raises(SepaError, match="creditor's name is empty"):
        build([replace(BAKER, creditor_name="\u6771\u4eac")])


@pytest.mark.parametrize(
    ("identifier", "message"),
    [
        ("X" * 36, "36 characters; at most 35"),
        ("", "empty"),
        ("RED 1", "no spaces"),
        ("RED-é", "no spaces or accents"),
        ("RED_1", "may only have"),
        ("/RED1", "may not start or end with '/'"),
        ("RED1/", "may not start or end with '/'"),
        ("RED//1", "'//'"),
    ],
)
def test_bad_identifiers_are_refused(identifier: str, message: str) -> None:
    with pytest.raises(SepaError, match=f"end-to-end id.*{re.escape(message)}"):
        build([replace(BAKER, end_to_end_id=identifier)])
    with pytest.raises(SepaError, match=f"message id.*{re.escape(message)}"):
        build(message_id=identifier)
    with pytest.raises(SepaError, match=f"payment batch id.*{re.escape(message)}"):
        build(payment_info_id=identifier)


def test_identifiers_of_35_characters_are_fine() -> None:
    root = tree(build([replace(BAKER, end_to_end_id="E" * 35)], message_id="M" * 35))
    assert text(root, "CstmrCdtTrfInitn/GrpHdr/MsgId") == "M" * 35
    assert text(root, "CstmrCdtTrfInitn/PmtInf/CdtTrfTxInf/PmtId/EndToEndId") == "E" * 35


def test_execution_date_in_the_past_is_refused() -> None:
    with pytest.raises(SepaError, match="before the file's date"):
        build(execution_date=date(2024, 4, 30))
    with pytest.raises(SepaError, match="must be a date"):
        build(execution_date=CREATED)


# --- Reading back -------------------------------------------------------------------------


def test_parse_round_trip() -> None:
    parsed = parse_pain001(build())
    assert parsed.message_id == "HEITJE-20240501-1"
    assert parsed.payment_info_id == "HEITJE-20240501-1"
    assert parsed.created_at == CREATED.replace(microsecond=0)
    assert parsed.execution_date == EXECUTION
    assert parsed.batch_booking is True
    assert parsed.debtor == Debtor("Gemeente Heitjesdorp", "NL91ABNA0417164300", "ABNANL2A")
    assert parsed.number_of_transactions == 2
    assert parsed.control_sum == Decimal("1012.55")
    assert parsed.transfers == (
        Transfer(
            "RED-2024-0001",
            "Bakkerij Een",
            "BE68539007547034",
            None,
            Decimal("12.50"),
            "Inwisseling Heitje 0001",
        ),
        Transfer(
            "RED-2024-0002",
            "Slagerij Muller + Zn",
            "DE89370400440532013000",
            "COBADEFFXXX",
            Decimal("1000.05"),
            "Inwisseling Heitje 0002",
        ),
    )
    assert str(parsed.transfers[0].amount) == "12.50"
    # What was read builds the same file again.
    again = build_pain001(
        parsed.debtor,
        parsed.transfers,
        message_id=parsed.message_id,
        created_at=parsed.created_at,
        execution_date=parsed.execution_date,
        batch_booking=parsed.batch_booking,
    )
    assert again == build()


def test_parse_round_trip_without_bics() -> None:
    xml = build_pain001(
        replace(MUNICIPALITY, bic=None),
        [BAKER],
        message_id="M",
        created_at=CREATED,
        execution_date=EXECUTION,
        batch_booking=False,
    )
    parsed = parse_pain001(xml)
    assert parsed.debtor.bic is None
    assert parsed.batch_booking is False
    assert parsed.transfers[0].creditor_bic is None


def test_parse_refuses_inconsistent_totals() -> None:
    xml = build()
    with pytest.raises(SepaError, match=r"control sum 1012\.56 is not the sum"):
        parse_pain001(xml.replace(b"<CtrlSum>1012.55</CtrlSum>", b"<CtrlSum>1012.56</CtrlSum>", 1))
    with pytest.raises(SepaError, match="says 3 transfers but the file has 2"):
        parse_pain001(xml.replace(b"<NbOfTxs>2</NbOfTxs>", b"<NbOfTxs>3</NbOfTxs>", 1))


def test_parse_refuses_other_files() -> None:
    with pytest.raises(SepaError, match="not well-formed"):
        parse_pain001(b"<Document")
    with pytest.raises(SepaError, match=r"not a pain\.001\.001\.03 file"):
        parse_pain001(build().replace(b"pain.001.001.03", b"pain.001.001.09"))
    with pytest.raises(SepaError, match="DOCTYPE"):
        parse_pain001(b'<!DOCTYPE d [<!ENTITY a "aaaa">]><Document>&a;</Document>')


# --- Against the XSD ----------------------------------------------------------------------
#
# The content models of the pain.001.001.03 XSD (ISO 20022, "Generated by SWIFTStandards
# Workstation (build:R6.1.0.2) on 2009 Jan 08") for every type this file uses, transcribed by
# hand: each complex type is its xs:sequence of (element, type, minOccurs, maxOccurs), in XSD
# order; a choice type lists its alternatives. Types the generator never writes (postal
# addresses, tax, ...) are left out, so using one fails the check below.

UNBOUNDED = 10**9
SEQUENCES: dict[str, list[tuple[str, str, int, int]]] = {
    "Document": [("CstmrCdtTrfInitn", "CustomerCreditTransferInitiationV03", 1, 1)],
    "CustomerCreditTransferInitiationV03": [
        ("GrpHdr", "GroupHeader32", 1, 1),
        ("PmtInf", "PaymentInstructionInformation3", 1, UNBOUNDED),
    ],
    "GroupHeader32": [
        ("MsgId", "Max35Text", 1, 1),
        ("CreDtTm", "ISODateTime", 1, 1),
        ("Authstn", "Authorisation1Choice", 0, 2),
        ("NbOfTxs", "Max15NumericText", 1, 1),
        ("CtrlSum", "DecimalNumber", 0, 1),
        ("InitgPty", "PartyIdentification32", 1, 1),
        ("FwdgAgt", "BranchAndFinancialInstitutionIdentification4", 0, 1),
    ],
    "PartyIdentification32": [
        ("Nm", "Max140Text", 0, 1),
        ("PstlAdr", "PostalAddress6", 0, 1),
        ("Id", "Party6Choice", 0, 1),
        ("CtryOfRes", "CountryCode", 0, 1),
        ("CtctDtls", "ContactDetails2", 0, 1),
    ],
    "PaymentInstructionInformation3": [
        ("PmtInfId", "Max35Text", 1, 1),
        ("PmtMtd", "PaymentMethod3Code", 1, 1),
        ("BtchBookg", "BatchBookingIndicator", 0, 1),
        ("NbOfTxs", "Max15NumericText", 0, 1),
        ("CtrlSum", "DecimalNumber", 0, 1),
        ("PmtTpInf", "PaymentTypeInformation19", 0, 1),
        ("ReqdExctnDt", "ISODate", 1, 1),
        ("PoolgAdjstmntDt", "ISODate", 0, 1),
        ("Dbtr", "PartyIdentification32", 1, 1),
        ("DbtrAcct", "CashAccount16", 1, 1),
        ("DbtrAgt", "BranchAndFinancialInstitutionIdentification4", 1, 1),
        ("DbtrAgtAcct", "CashAccount16", 0, 1),
        ("UltmtDbtr", "PartyIdentification32", 0, 1),
        ("ChrgBr", "ChargeBearerType1Code", 0, 1),
        ("ChrgsAcct", "CashAccount16", 0, 1),
        ("ChrgsAcctAgt", "BranchAndFinancialInstitutionIdentification4", 0, 1),
        ("CdtTrfTxInf", "CreditTransferTransactionInformation10", 1, UNBOUNDED),
    ],
    "PaymentTypeInformation19": [
        ("InstrPrty", "Priority2Code", 0, 1),
        ("SvcLvl", "ServiceLevel8Choice", 0, 1),
        ("LclInstrm", "LocalInstrument2Choice", 0, 1),
        ("CtgyPurp", "CategoryPurpose1Choice", 0, 1),
    ],
    "CashAccount16": [
        ("Id", "AccountIdentification4Choice", 1, 1),
        ("Tp", "CashAccountType2", 0, 1),
        ("Ccy", "ActiveOrHistoricCurrencyCode", 0, 1),
        ("Nm", "Max70Text", 0, 1),
    ],
    "BranchAndFinancialInstitutionIdentification4": [
        ("FinInstnId", "FinancialInstitutionIdentification7", 1, 1),
        ("BrnchId", "BranchData2", 0, 1),
    ],
    "FinancialInstitutionIdentification7": [
        ("BIC", "BICIdentifier", 0, 1),
        ("ClrSysMmbId", "ClearingSystemMemberIdentification2", 0, 1),
        ("Nm", "Max140Text", 0, 1),
        ("PstlAdr", "PostalAddress6", 0, 1),
        ("Othr", "GenericFinancialIdentification1", 0, 1),
    ],
    "GenericFinancialIdentification1": [
        ("Id", "Max35Text", 1, 1),
        ("SchmeNm", "FinancialIdentificationSchemeName1Choice", 0, 1),
        ("Issr", "Max35Text", 0, 1),
    ],
    "CreditTransferTransactionInformation10": [
        ("PmtId", "PaymentIdentification1", 1, 1),
        ("PmtTpInf", "PaymentTypeInformation19", 0, 1),
        ("Amt", "AmountType3Choice", 1, 1),
        ("XchgRateInf", "ExchangeRateInformation1", 0, 1),
        ("ChrgBr", "ChargeBearerType1Code", 0, 1),
        ("ChqInstr", "Cheque6", 0, 1),
        ("UltmtDbtr", "PartyIdentification32", 0, 1),
        ("IntrmyAgt1", "BranchAndFinancialInstitutionIdentification4", 0, 1),
        ("IntrmyAgt1Acct", "CashAccount16", 0, 1),
        ("IntrmyAgt2", "BranchAndFinancialInstitutionIdentification4", 0, 1),
        ("IntrmyAgt2Acct", "CashAccount16", 0, 1),
        ("IntrmyAgt3", "BranchAndFinancialInstitutionIdentification4", 0, 1),
        ("IntrmyAgt3Acct", "CashAccount16", 0, 1),
        ("CdtrAgt", "BranchAndFinancialInstitutionIdentification4", 0, 1),
        ("CdtrAgtAcct", "CashAccount16", 0, 1),
        ("Cdtr", "PartyIdentification32", 0, 1),
        ("CdtrAcct", "CashAccount16", 0, 1),
        ("UltmtCdtr", "PartyIdentification32", 0, 1),
        ("InstrForCdtrAgt", "InstructionForCreditorAgent1", 0, UNBOUNDED),
        ("InstrForDbtrAgt", "Max140Text", 0, 1),
        ("Purp", "Purpose2Choice", 0, 1),
        ("RgltryRptg", "RegulatoryReporting3", 0, 10),
        ("Tax", "TaxInformation3", 0, 1),
        ("RltdRmtInf", "RemittanceLocation2", 0, 10),
        ("RmtInf", "RemittanceInformation5", 0, 1),
    ],
    "PaymentIdentification1": [
        ("InstrId", "Max35Text", 0, 1),
        ("EndToEndId", "Max35Text", 1, 1),
    ],
    "RemittanceInformation5": [
        ("Ustrd", "Max140Text", 0, UNBOUNDED),
        ("Strd", "StructuredRemittanceInformation7", 0, UNBOUNDED),
    ],
}
CHOICES: dict[str, dict[str, str]] = {
    "ServiceLevel8Choice": {"Cd": "ExternalServiceLevel1Code", "Prtry": "Max35Text"},
    "AccountIdentification4Choice": {
        "IBAN": "IBAN2007Identifier",
        "Othr": "GenericAccountIdentification1",
    },
    "AmountType3Choice": {
        "InstdAmt": "ActiveOrHistoricCurrencyAndAmount",
        "EqvtAmt": "EquivalentAmount2",
    },
}
SIMPLE: dict[str, str] = {  # simple types as regular expressions (pattern and length facets)
    "Max35Text": r"[\s\S]{1,35}",
    "Max70Text": r"[\s\S]{1,70}",
    "Max140Text": r"[\s\S]{1,140}",
    "Max15NumericText": r"[0-9]{1,15}",
    "ExternalServiceLevel1Code": r"[\s\S]{1,4}",
    "ISODate": r"\d{4}-\d{2}-\d{2}",
    "ISODateTime": r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?",
    "PaymentMethod3Code": r"CHK|TRF|TRA",
    "BatchBookingIndicator": r"true|false|1|0",
    "ChargeBearerType1Code": r"DEBT|CRED|SHAR|SLEV",
    "IBAN2007Identifier": r"[A-Z]{2,2}[0-9]{2,2}[a-zA-Z0-9]{1,30}",
    "BICIdentifier": r"[A-Z]{6,6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3,3}){0,1}",
    "ActiveOrHistoricCurrencyCode": r"[A-Z]{3,3}",
}


def _decimal_facets(value: str, fraction_digits: int, total_digits: int) -> bool:
    match = re.fullmatch(r"([0-9]+)(?:\.([0-9]+))?", value)
    if not match:
        return False
    whole, fraction = match.group(1).lstrip("0"), (match.group(2) or "").rstrip("0")
    return len(fraction) <= fraction_digits and len(whole) + len(fraction) <= total_digits


def xsd_check(element: ET.Element, type_name: str, path: str) -> list[str]:
    """The ways `element` breaks its XSD type (empty when it is valid)."""
    kids = list(element)
    if type_name == "DecimalNumber":
        ok = not kids and _decimal_facets(element.text or "", 17, 18)
        return [] if ok else [f"{path}: {element.text!r} is not a DecimalNumber"]
    if type_name == "ActiveOrHistoricCurrencyAndAmount":
        ok = not kids and _decimal_facets(element.text or "", 5, 18)
        ccy = element.attrib.get("Ccy", "")
        if not ok or not re.fullmatch(SIMPLE["ActiveOrHistoricCurrencyCode"], ccy):
            return [f"{path}: {element.text!r} Ccy={ccy!r} is not an amount"]
        return []
    if type_name in SIMPLE:
        if kids or element.attrib or not re.fullmatch(SIMPLE[type_name], element.text or ""):
            return [f"{path}: {element.text!r} is not a {type_name}"]
        return []
    if element.attrib:
        return [f"{path}: unexpected attributes {element.attrib}"]
    if (element.text or "").strip():
        return [f"{path}: a {type_name} has no text"]
    if type_name in CHOICES:
        if len(kids) != 1 or local(kids[0]) not in CHOICES[type_name]:
            return [f"{path}: a {type_name} is one of {sorted(CHOICES[type_name])}"]
        name = local(kids[0])
        return xsd_check(kids[0], CHOICES[type_name][name], f"{path}/{name}")
    if type_name not in SEQUENCES:
        return [f"{path}: type {type_name} is not expected in this file"]
    errors: list[str] = []
    index = 0
    for name, child_type, least, most in SEQUENCES[type_name]:
        count = 0
        while index < len(kids) and local(kids[index]) == name and count < most:
            errors += xsd_check(kids[index], child_type, f"{path}/{name}")
            index += 1
            count += 1
        if count < least:
            errors.append(f"{path}: {name} is missing or out of order")
    if index < len(kids):
        errors.append(
            f"{path}: {local(kids[index])} is out of order or not allowed in a {type_name}"
        )
    return errors


def test_xsd_checker_catches_mistakes() -> None:
    root = tree(build())
    batch = at(root, "CstmrCdtTrfInitn/PmtInf")
    transaction = batch.findall(N + "CdtTrfTxInf")[1]
    agent = at(transaction, "CdtrAgt")
    transaction.remove(agent)
    transaction.append(agent)  # CdtrAgt after RmtInf
    assert any("CdtrAgt is out of order" in e for e in xsd_check(root, "Document", "Document"))

    root = tree(build())
    header = at(root, "CstmrCdtTrfInitn/GrpHdr")
    header.remove(at(header, "NbOfTxs"))
    assert any("NbOfTxs is missing" in e for e in xsd_check(root, "Document", "Document"))

    root = tree(build())
    at(root, "CstmrCdtTrfInitn/PmtInf/CdtTrfTxInf/Amt/InstdAmt").text = "1.123456"
    assert any("not an amount" in e for e in xsd_check(root, "Document", "Document"))


@pytest.mark.parametrize("debtor_bic", ["ABNANL2A", None])
def test_file_follows_the_xsd(debtor_bic: str | None) -> None:
    transfers = [
        BAKER,
        BUTCHER,
        replace(BAKER, end_to_end_id="E3", remittance="", amount=Decimal("999999999.99")),
    ]
    xml = build_pain001(
        replace(MUNICIPALITY, bic=debtor_bic),
        transfers,
        message_id="HEITJE-20240501-1",
        created_at=CREATED,
        execution_date=EXECUTION,
    )
    root = tree(xml)
    assert root.tag == N + "Document"
    assert xsd_check(root, "Document", "Document") == []


# --- national check digits and bank codes (schwifty) --------------------------------------


def _with_iban_check_digits(country: str, bban: str) -> str:
    """`country` + the right ISO 7064 mod-97 check digits + `bban`: an IBAN that passes
    mod-97 whatever the account number says."""
    digits = "".join(str(int(char, 36)) for char in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


# A valid IBAN per country, and where its national check digits are in the BBAN.
NATIONAL = {
    "BE": ("BE68539007547034", slice(10, 12)),
    "FR": ("FR1420041010050500013M02606", slice(21, 23)),
    "ES": ("ES9121000418450200051332", slice(8, 10)),
    "IT": ("IT60X0542811101000000123456", slice(0, 1)),
    "NO": ("NO9386011117947", slice(10, 11)),
    "FI": ("FI2112345600000785", slice(13, 14)),
    "PT": ("PT50000201231234567890154", slice(19, 21)),
    "EE": ("EE382200221020145685", slice(15, 16)),
}


def _wrong_national(valid: str, where: slice) -> str:
    bban = valid[4:]
    old = bban[where]
    new = "".join(
        ("Y" if c == "X" else "X") if c.isalpha() else str((int(c) + 1) % 10) for c in old
    )
    return _with_iban_check_digits(valid[:2], bban[: where.start] + new + bban[where.stop :])


@pytest.mark.parametrize("country", sorted(NATIONAL))
def test_wrong_national_check_digits_are_refused_though_mod97_is_right(country: str) -> None:
    valid, where = NATIONAL[country]
    assert validate_iban(valid) == valid
    typo = _wrong_national(valid, where)
    assert typo != valid and _mod97_ok(typo)  # the IBAN's own check digits are right
    with pytest.raises(SepaError, match="does not match its own check digits"):
        validate_iban(typo)


def _mod97_ok(iban: str) -> bool:
    return int("".join(str(int(c, 36)) for c in iban[4:] + iban[:4])) % 97 == 1


def test_an_unknown_dutch_or_german_bank_code_is_refused() -> None:
    for iban, bank in (
        (_with_iban_check_digits("NL", "XXXX0417164300"), "XXXX"),
        (_with_iban_check_digits("DE", "99999999" + "0532013000"), "99999999"),
    ):
        assert _mod97_ok(iban)
        with pytest.raises(SepaError, match=f"{bank} .* is not the code of a bank"):
            validate_iban(iban)
    # Where the library's list is not complete, a bank code it lacks is not refused.
    assert validate_iban("BE68539007547034")


@pytest.mark.parametrize(
    "iban",
    [
        "AL47212110090000000235698741",
        "MD24AG000225100013104168",
        "ME25505000012345678951",
        "RS35260005601001611379",
    ],
)
def test_the_countries_that_joined_sepa_in_2025_are_accepted(iban: str) -> None:
    assert validate_iban(iban) == iban
