"""Text people type: NFC-normalised, spaces folded, invisible and control characters refused
with a clear 422, and pseudonyms that only look different refused at sign-up."""

from __future__ import annotations

import unicodedata

import pytest
from support.service import PASSWORD, Service, setup_people

from api.text import one_line, several_lines, skeleton

CYRILLIC_A = unicodedata.lookup("CYRILLIC SMALL LETTER A")
CYRILLIC_EN = unicodedata.lookup("CYRILLIC CAPITAL LETTER EN")
GREEK_OMICRON = unicodedata.lookup("GREEK CAPITAL LETTER OMICRON")

INVISIBLE = [
    ("HRL\u200b-0001", "zero-width space"),
    ("HRL-0001\u202e", "text-direction control"),
    ("\u2066HRL-0001", "text-direction control"),
    ("HRL\u0000-0001", "NUL"),
    ("HRL\x1b[31m-0001", "escape"),
    ("HRL\u00ad-0001", "soft hyphen"),
    ("\ufeffHRL-0001", "byte-order mark"),
    ("HRL\u200d-0001", "zero-width joiner"),
    ("HRL\u2028-0001", "line separator"),
    ("HRL\ue000-0001", r"U\+E000"),
    ("HRL\u3164-0001", r"invisible character \(U\+3164\)"),  # a Hangul filler, a letter
]


@pytest.mark.parametrize(("text", "named"), INVISIBLE)
def test_invisible_and_control_characters_are_refused_by_name(text: str, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        one_line(text)
    with pytest.raises(ValueError, match=named):
        several_lines(text)


def test_text_is_nfc_and_spaces_are_folded() -> None:
    decomposed = "Jose\u0301"
    assert one_line(decomposed) == "Jos\u00e9" == unicodedata.normalize("NFC", decomposed)
    assert one_line("  Bakkerij\u00a0\u00a0Pelzer\u2009 ") == "Bakkerij Pelzer"  # NBSP folded
    assert one_line("HRL\u00a00001") == "HRL 0001"
    with pytest.raises(ValueError, match="one line"):
        one_line("two\nlines")
    with pytest.raises(ValueError, match="one line"):
        one_line("a\tb")
    assert several_lines(" Four bags.\r\nGloves\tback.\r") == "Four bags.\nGloves back."
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # an emoji joined with ZWJ
    assert several_lines(f"done {family}") == f"done {family}"


def test_look_alike_pseudonyms_share_a_skeleton() -> None:
    same = [
        "HRL-0001",
        "hrl-0001",
        "HRL-OOO1",
        "HRL-000I",
        "HRL-000l",
        f"{CYRILLIC_EN}RL-0001",
        f"HRL-{GREEK_OMICRON}001",
        "HRL\u20130001",  # en dash
        "\uff28\uff32\uff2c-\uff10\uff10\uff10\uff11",  # fullwidth
        "HRL-0001\ufe0f",  # a variation selector
    ]
    assert {skeleton(p) for p in same} == {skeleton("HRL-0001")}
    assert skeleton(f"J{CYRILLIC_A}n") == skeleton("Jan") and skeleton("rnaria") == "maria"
    assert skeleton("Jos\u00e9") != skeleton("Jose")  # accents are kept
    for different in ("HRL-0002", "HRL_0001", "HRL-0001-b"):
        assert skeleton(different) != skeleton("HRL-0001")


def test_the_service_refuses_invisible_characters_and_confusable_pseudonyms(
    service: Service,
) -> None:
    s = service
    p = setup_people(s)  # registers R-0001

    def register(pseudonym: str) -> object:
        body = {"pseudonym": pseudonym, "neighbourhood": "Grasbroek", "password": PASSWORD}
        return s.http.post("/residents", json=body)

    for text, named in INVISIBLE[:5]:
        answer = register(text)
        assert answer.status_code == 422, text
        body = answer.json()
        assert body["error"] == "invalid_input" and named in body["message"]
        assert body["message"].startswith("pseudonym:")
    for confusable in ("r-0001", "R-OOO1", f"R-{GREEK_OMICRON}001", "R\u20130001"):
        answer = register(confusable)
        assert answer.status_code == 409, confusable
        assert answer.json()["error"] == "pseudonym_taken"
    assert s.call("GET", "/residents?limit=1000", p.admin)["total"] == 1  # nothing was added

    created = register("Oma\u00a0Truus")  # NBSP folded: stored with a plain space
    assert created.status_code == 201 and created.json()["pseudonym"] == "Oma Truus"
    assert register("Oma Truus").status_code == 409

    job = {
        "title": "Zwerfafval\u200b prikken",
        "description": "Twee uur",
        "neighbourhood": "Schandelen",
        "reward": "12.50",
        "deadline": "2099-12-05",
    }
    answer = s.http.post("/jobs", json=job, headers=p.issuer)
    assert answer.status_code == 422 and "title: " in answer.json()["message"]
    job["title"] = "Zwerfafval prikken, Schandelerboord"
    job["description"] = "Twee uur.\u202e"
    answer = s.http.post("/jobs", json=job, headers=p.issuer)
    assert answer.status_code == 422 and "description: " in answer.json()["message"]
    job["title"] = "Caf" + "e\u0301"
    job["description"] = "Twee uur.\r\nHandschoenen bij het buurthuis."
    posted = s.call("POST", "/jobs", p.issuer, 201, json=job)
    assert posted["title"] == "Caf\u00e9"
    assert posted["description"] == "Twee uur.\nHandschoenen bij het buurthuis."
    # Amounts through the API's Euros type are read by the same parser as the library's.
    for reward in ("1_000", "+5", "1,500", "1 5 0 0"):
        answer = s.http.post("/jobs", json={**job, "reward": reward}, headers=p.issuer)
        assert answer.status_code == 422, reward
        assert answer.json()["message"].startswith("reward: ")
    answer = s.http.post("/jobs", json={**job, "reward": "1_000"}, headers=p.issuer)
    assert "no underscores" in answer.json()["message"]
