"""One installation, several municipalities: named deployments side by side on one chain, each
with its own contract, role keys and merchants; the single deployment.json keeps working."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from heitje_chain.cli import main
from heitje_chain.config import Deployment, list_deployments, load_config, write_deployment
from heitje_chain.connect import connect
from heitje_chain.errors import ConfigError
from heitje_chain.keys import KeyStore, LocalSigner

RESIDENT = LocalSigner.create().address


def run(*argv: str, expect: int = 0) -> Any:
    out = io.StringIO()
    code = main(["--json", *argv], out=out)
    assert code == expect, out.getvalue()
    return json.loads(out.getvalue())


@pytest.fixture(scope="module")
def home(anvil: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Heerlen (chosen with --deployment) and Sittard-Geleen (with HEITJE_DEPLOYMENT), each
    deployed with its own new role keys, on the same anvil."""
    path = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HEITJE_HOME", str(path))
        mp.setenv("HEITJE_RPC_URL", anvil.url)
        mp.setenv("HEITJE_PASSWORD", "correct horse battery")
        for var in ("HEITJE_CONFIG", "HEITJE_CONTRACT", "HEITJE_CHAIN_ID", "HEITJE_DEPLOYMENT"):
            mp.delenv(var, raising=False)
        run("--deployment", "heerlen", "deploy", "--create-keys", "--job-office-budget", "500")
        with pytest.MonkeyPatch.context() as inner:
            inner.setenv("HEITJE_DEPLOYMENT", "sittard-geleen")
            run(
                "deploy", "--create-keys", "--name", "Sittard-Geleens Heitje", "--symbol", "SGH",
                "--job-office-budget", "300",
            )  # fmt: skip
        run("--deployment", "heerlen", "keys", "new", "bakery")
        run("--deployment", "heerlen", "merchant", "add", "bakery")
        yield path


def test_each_deployment_has_its_own_contract_and_keys(home: Path, anvil: Any) -> None:
    env = {"HEITJE_RPC_URL": anvil.url}
    heerlen = load_config(home=home, environ=env, deployment="heerlen")
    sittard = load_config(home=home, environ={**env, "HEITJE_DEPLOYMENT": "sittard-geleen"})
    assert heerlen.contract and sittard.contract and heerlen.contract != sittard.contract
    assert heerlen.deployment_file == home / "deployments" / "heerlen.json"
    assert heerlen.keystore_dir == home / "keystores" / "heerlen"
    assert sittard.instance_dir == home / "deployments" / "sittard-geleen"
    h_keys, s_keys = KeyStore(heerlen.keystore_dir), KeyStore(sittard.keystore_dir)
    assert "bakery" in h_keys.names() and "bakery" not in s_keys.names()
    assert h_keys.address("job-office") != s_keys.address("job-office")
    h, s = connect(heerlen), connect(sittard)
    assert (h.symbol(), s.symbol()) == ("HEITJE", "SGH")
    # Heerlen's job office is a minter of Heerlen's token only.
    assert h.has_role("minter", h_keys.address("job-office"))
    assert not s.has_role("minter", h_keys.address("job-office"))
    assert not (home / "deployment.json").exists()
    listed = run("deployments", "list")
    assert [(r["deployment"], r["address"]) for r in listed] == [
        ("heerlen", heerlen.contract),
        ("sittard-geleen", sittard.contract),
    ]
    assert not any(r["selected"] for r in listed)
    assert [r["selected"] for r in run("--deployment", "heerlen", "deployments")] == [True, False]


def test_operations_on_one_leave_the_other_alone(home: Path) -> None:
    heerlen, sittard = ("--deployment", "heerlen"), ("--deployment", "sittard-geleen")
    bakery = KeyStore(home / "keystores" / "heerlen").address("bakery")
    before = run(*sittard, "ledger")
    run(*heerlen, "reward", "HRL-2026-0001", RESIDENT, "12.50")
    assert run(*heerlen, "balance", RESIDENT)["balance"]["eur"] == "12.50"
    assert run(*sittard, "balance", RESIDENT)["balance"]["eur"] == "0.00"
    assert run(*sittard, "ledger") == before  # nothing happened on Sittard-Geleen's token
    assert [m["merchant"] for m in run(*heerlen, "merchant", "list")] == [bakery]
    assert run(*sittard, "merchant", "list") == []
    # Budgets are each municipality's own: Heerlen spent 12.50 of 500, Sittard none of 300.
    assert run(*heerlen, "allowance", "show", "job-office")["allowance"]["eur"] == "487.50"
    assert run(*sittard, "allowance", "show", "job-office")["allowance"]["eur"] == "300.00"
    # The same job reference is another job in another municipality.
    assert run(*sittard, "reward", "HRL-2026-0001", RESIDENT, "1.00")["jobs"][0]["status"] == "paid"
    assert run(*heerlen, "balance", RESIDENT)["balance"]["eur"] == "12.50"
    assert run(*sittard, "balance", RESIDENT)["balance"]["eur"] == "1.00"


def test_the_single_deployment_json_keeps_working(home: Path, tmp_path: Path) -> None:
    """A home with only deployment.json (as before named deployments) works unchanged, and
    shows as the default next to named ones."""
    record = json.loads((home / "deployments" / "heerlen.json").read_text())
    write_deployment(tmp_path / "deployment.json", Deployment(**record))
    (tmp_path / "deployments").mkdir()
    (tmp_path / "deployments" / "other.json").write_text(
        (home / "deployments" / "sittard-geleen.json").read_text()
    )
    cfg = load_config(home=tmp_path, environ={})
    assert cfg.deployment == "" and cfg.contract == record["address"]
    assert cfg.keystore_dir == tmp_path / "keystores" and cfg.instance_dir == tmp_path
    assert list_deployments(tmp_path) == ["other"]
    listed = run("--home", str(tmp_path), "deployments")
    assert [(r["deployment"], r["selected"]) for r in listed] == [
        ("(default)", True),
        ("other", False),
    ]


def test_unknown_or_malformed_deployment_names(home: Path) -> None:
    out = run("--deployment", "maastricht", "balance", RESIDENT, expect=1)
    assert out["error"] == "ConfigError"
    assert "no deployment named 'maastricht'" in out["message"]
    assert "heerlen, sittard-geleen" in out["message"]
    for bad in ("Heerlen", "../heerlen", "-x"):
        with pytest.raises(ConfigError, match="not a deployment name"):
            load_config(home=home, environ={}, deployment=bad)
    with pytest.raises(ConfigError, match="not a deployment name"):
        load_config(home=home, environ={"HEITJE_DEPLOYMENT": "a b"})


def test_the_service_settings_follow_heitje_deployment(home: Path) -> None:
    from api.settings import load_settings

    env = {"HEITJE_HOME": str(home), "HEITJE_DEPLOYMENT": "sittard-geleen"}
    settings = load_settings(environ=env)
    sittard = load_config(home=home, environ={}, deployment="sittard-geleen")
    assert settings.chain.contract == sittard.contract
    assert settings.chain.keystore_dir == home / "keystores" / "sittard-geleen"
    # Its own database and custodial wallets: two services never share them.
    own = home / "deployments" / "sittard-geleen"
    assert settings.database_url == f"sqlite:///{own / 'heitje.db'}"
    assert settings.wallet_dir == own / "wallets"
    single = load_settings(environ={"HEITJE_HOME": str(home)})
    assert single.wallet_dir == home / "wallets"  # the single deployment.json: as before


def test_gas_limit_setting(tmp_path: Path) -> None:
    (tmp_path / "heitje.toml").write_text("[chain]\ngas_limit = 8000000\n")
    assert load_config(home=tmp_path, environ={}).gas_limit == 8_000_000
    env = {"HEITJE_GAS_LIMIT": "9000000"}
    assert load_config(home=tmp_path, environ=env).gas_limit == 9_000_000
    assert load_config(home=tmp_path / "none", environ={}).gas_limit is None
    (tmp_path / "heitje.toml").write_text("[chain]\ngas_limit = 100\n")
    with pytest.raises(ConfigError, match="gas_limit must be a whole number of at least 21000"):
        load_config(home=tmp_path, environ={})


def test_account_allowlist_setting(tmp_path: Path) -> None:
    assert load_config(home=tmp_path, environ={}).account_allowlist is False
    (tmp_path / "heitje.toml").write_text("[chain]\naccount_allowlist = true\n")
    assert load_config(home=tmp_path, environ={}).account_allowlist is True
    off = {"HEITJE_ACCOUNT_ALLOWLIST": "off"}
    assert load_config(home=tmp_path, environ=off).account_allowlist is False
    with pytest.raises(ConfigError, match="HEITJE_ACCOUNT_ALLOWLIST must be true or false"):
        load_config(home=tmp_path, environ={"HEITJE_ACCOUNT_ALLOWLIST": "maybe"})
    (tmp_path / "heitje.toml").write_text("[chain]\naccount_allowlist = 'yes'\n")
    with pytest.raises(ConfigError, match="account_allowlist must be true or false"):
        load_config(home=tmp_path, environ={})
