"""Neighbourhoods: the list apps offer, and, when the municipality sets one, the only names
residents, shops and jobs may use (in any capitals, stored as the municipality writes them)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from support.service import PASSWORD, Service, post_job, setup_people

from api.settings import load_settings
from heitje_chain.errors import ConfigError

IBAN = "NL91ABNA0417164300"


def test_without_a_list_the_names_in_use_are_offered(service: Service) -> None:
    s = service
    p = setup_people(s)  # a resident in Grasbroek
    post_job(s, p)  # a job in Schandelen
    answer = s.call("GET", "/neighbourhoods", {})  # no sign-in: the sign-up page asks
    assert answer == {"names": ["Grasbroek", "Schandelen"], "fixed": False}


def test_with_a_list_only_its_names_are_accepted(service: Service) -> None:
    s = service
    p = setup_people(s)
    hoods = ("Schandelen", "Grasbroek", "Meezenbroek")
    s.app.state.settings = replace(s.app.state.settings, neighbourhoods=hoods)
    listed = s.call("GET", "/neighbourhoods", {})
    assert listed == {"names": ["Grasbroek", "Meezenbroek", "Schandelen"], "fixed": True}

    body = {"pseudonym": "R-0002", "neighbourhood": "  meezenBROEK ", "password": PASSWORD}
    assert s.call("POST", "/residents", {}, 201, json=body)["neighbourhood"] == "Meezenbroek"
    wallets = set(s.app.state.chain.wallets.names())
    typo = s.http.post("/residents", json=body | {"pseudonym": "R-0003",
                                                  "neighbourhood": "Meezenbroeck"})  # fmt: skip
    assert typo.status_code == 422 and typo.json()["error"] == "unknown_neighbourhood"
    assert "Grasbroek, Meezenbroek, Schandelen" in typo.json()["message"]
    assert set(s.app.state.chain.wallets.names()) == wallets  # no wallet made for nothing
    assert s.http.post("/auth/login", json={"username": "R-0003", "password": PASSWORD}
                       ).status_code == 401  # fmt: skip

    shop = {"name": "Bakkerij", "neighbourhood": "Palemig", "iban": IBAN, "password": PASSWORD}
    answer = s.http.post("/merchants", json=shop)
    assert answer.status_code == 422 and answer.json()["error"] == "unknown_neighbourhood"
    assert (
        s.call("POST", "/merchants", {}, 201, json=shop | {"neighbourhood": "grasbroek"})[
            "neighbourhood"
        ]
        == "Grasbroek"
    )
    job = {"title": "Leaves", "description": "Raking", "neighbourhood": "Heerlerheide",
           "reward": "5", "deadline": "2099-01-01"}  # fmt: skip
    answer = s.http.post("/jobs", headers=p.issuer, json=job)
    assert answer.status_code == 422 and answer.json()["details"]["neighbourhoods"] == [
        "Grasbroek",
        "Meezenbroek",
        "Schandelen",
    ]


def test_the_list_comes_from_the_environment() -> None:
    env = {
        "HEITJE_API_NEIGHBOURHOODS": " Grasbroek, Palemig ,,Grasbroek",
        "HEITJE_HOME": "/nonexistent",
    }
    assert load_settings(env).neighbourhoods == ("Grasbroek", "Palemig")
    with pytest.raises(ConfigError, match="at most 64 characters"):
        load_settings(env | {"HEITJE_API_NEIGHBOURHOODS": "x" * 65})
