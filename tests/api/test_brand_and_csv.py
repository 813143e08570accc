"""The municipality's look from the settings (api.brand: a colour with too little contrast is
refused at start-up) and the CSV exports' column headers in Dutch, or English with lang=en."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from support.service import Service, finished_claim, post_job, setup_people

from api.brand import MAX_LOGO_BYTES, contrast, darker_shade
from api.settings import load_settings
from heitje_chain.columns import DUTCH, field_of
from heitje_chain.errors import ConfigError

#: A 1x1 PNG (the smallest whole image).
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


@pytest.fixture
def service_env(tmp_path: Path) -> dict[str, str]:
    """This module's services have a logo."""
    logo = tmp_path / "logo.png"
    logo.write_bytes(PNG)
    return {"HEITJE_API_BRAND_LOGO": str(logo)}


def test_a_logo_is_checked_at_start_up(tmp_path: Path) -> None:
    env = {"HEITJE_HOME": str(tmp_path)}
    svg = tmp_path / "wapen.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"/>')
    logo = load_settings(env | {"HEITJE_API_BRAND_LOGO": str(svg)}).brand.logo
    assert logo is not None and logo.content_type == "image/svg+xml"
    (tmp_path / "big.png").write_bytes(PNG + b"\0" * MAX_LOGO_BYTES)
    (tmp_path / "fake.png").write_bytes(b"<svg/>")
    (tmp_path / "logo.gif").write_bytes(b"GIF89a")
    for name, why in (
        ("big.png", "256 KB"),
        ("fake.png", "not a PNG"),
        ("logo.gif", "not a .png or .svg"),
        ("missing.png", "cannot read"),
    ):
        with pytest.raises(ConfigError, match=f"HEITJE_API_BRAND_LOGO: .*{why}"):
            load_settings(env | {"HEITJE_API_BRAND_LOGO": str(tmp_path / name)})


def test_the_brand_comes_from_the_settings(tmp_path: Path) -> None:
    env = {"HEITJE_HOME": str(tmp_path)}
    default = load_settings(env)
    assert default.brand.municipality == "Gemeente Heerlen" and default.brand.colour == "#0b4f8a"
    chosen = load_settings(
        env
        | {
            "HEITJE_API_MUNICIPALITY_NAME": " Gemeente  Kerkrade ",
            "HEITJE_API_BRAND_COLOUR": "#7A1F3D",
        }
    )
    assert chosen.brand.municipality == "Gemeente Kerkrade" and chosen.brand.colour == "#7a1f3d"
    assert load_settings(env | {"HEITJE_API_BRAND_COLOUR": "036"}).brand.colour == "#003366"


@pytest.mark.parametrize("light", ["#ffbf47", "#7fb3e0", "#ffffff", "#777777"])
def test_a_colour_with_too_little_contrast_is_refused(tmp_path: Path, light: str) -> None:
    with pytest.raises(ConfigError, match=r"HEITJE_API_BRAND_COLOUR.*contrast.*4\.5:1") as caught:
        load_settings({"HEITJE_HOME": str(tmp_path), "HEITJE_API_BRAND_COLOUR": light})
    suggested = str(caught.value).split("such as ")[1].split(" ")[0]
    assert contrast(suggested, "#ffffff") >= 4.5  # the darker shade it names would do
    assert suggested == darker_shade(light)


@pytest.mark.parametrize("bad", ["blue", "#12345", "#gggggg", "rgb(0,0,0)"])
def test_a_colour_that_is_no_colour_is_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ConfigError, match=r"HEITJE_API_BRAND_COLOUR.*not a colour"):
        load_settings({"HEITJE_HOME": str(tmp_path), "HEITJE_API_BRAND_COLOUR": bad})


def test_wcag_contrast_is_computed_as_wcag_says() -> None:
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#767676", "#ffffff"), 2) == 4.54  # the classic AA grey
    assert contrast("#777777", "#ffffff") < 4.5


def test_config_and_manifest_name_the_municipality(service: Service) -> None:
    s = service
    answer = s.http.get("/config")  # public: the sign-in page shows it
    assert answer.status_code == 200
    assert answer.json() == {
        "municipality": "Gemeente Heerlen",
        "brand_colour": "#0b4f8a",
        "brand_text_colour": "#ffffff",
        "remember_days": 90,
        "logo_url": "/config/logo",
    }
    logo = s.http.get("/config/logo")
    assert logo.status_code == 200 and logo.content == PNG
    assert logo.headers["content-type"] == "image/png"
    assert "sandbox" in logo.headers["content-security-policy"]
    manifest = s.http.get("/app/manifest.json")
    assert manifest.status_code == 200
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    assert manifest.json()["name"] == "Heitje - Gemeente Heerlen"
    assert manifest.json()["theme_color"] == "#0b4f8a" and manifest.json()["icons"]


def sheet(s: Service, url: str, who: dict[str, str]) -> list[list[str]]:
    answer = s.http.get(url, headers=who)
    assert answer.status_code == 200, answer.text
    return list(csv.reader(io.StringIO(answer.text)))


def test_csv_headers_are_dutch_unless_english_is_asked(service: Service) -> None:
    s = service
    p = setup_people(s)
    job = post_job(s, p, reward="12.50")
    claim = finished_claim(s, p, job)
    s.call("POST", f"/claims/{claim['id']}/approve", p.inspector, json={})
    exports = [
        ("/jobs?status=all&format=csv", p.admin),
        ("/claims?format=csv", p.inspector),
        ("/residents?format=csv", p.admin),
        ("/merchants?format=csv", p.admin),
        ("/accounts?format=csv", p.admin),
        ("/audit?format=csv", p.admin),
        ("/payments?format=csv", p.admin),
        ("/redemptions?format=csv", p.admin),
        ("/ledger?format=csv", p.admin),
        ("/residents/me/history?format=csv", p.resident),
        ("/statistics/participation?format=csv", p.admin),
    ]
    for url, who in exports:
        dutch = sheet(s, url, who)
        english = sheet(s, url + "&lang=en", who)
        assert dutch[1:] == english[1:], url  # the same rows
        # every header Dutch, and each reads back as its English field
        assert all(field in DUTCH for field in english[0]), (url, english[0])
        assert [field_of(h) for h in dutch[0]] == english[0], url
        assert set(dutch[0]).isdisjoint(set(english[0]) - {"code", "iban", "status", "details"})
    claims = sheet(s, "/claims?format=csv", p.inspector)
    assert claims[0][:3] == ["nr", "klus_nr", "klus"] and "notitie_inwoner" in claims[0]
    refused = s.http.get("/claims?format=csv&lang=de", headers=p.inspector)
    assert refused.status_code == 422 and refused.json()["error"]
