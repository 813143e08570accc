"""The service refuses to start in production with default, missing or short secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.settings import DEV_SECRET, load_settings
from heitje_chain.errors import ConfigError

GOOD = {
    "HEITJE_API_SECRET": "s" * 40,
    "HEITJE_WALLET_PASSWORD": "w" * 16,
    "HEITJE_API_ADMIN_PASSWORD": "a" * 16,
}


def test_development_takes_defaults(tmp_path: Path) -> None:
    settings = load_settings({"HEITJE_HOME": str(tmp_path)})
    assert settings.development and settings.secret_key == DEV_SECRET
    assert settings.database_url == f"sqlite:///{tmp_path / 'heitje.db'}"


@pytest.mark.parametrize("missing", sorted(GOOD))
def test_production_refuses_a_missing_secret(tmp_path: Path, missing: str) -> None:
    env = {"HEITJE_HOME": str(tmp_path), "HEITJE_API_ENV": "production", **GOOD}
    del env[missing]
    with pytest.raises(ConfigError, match=missing):
        load_settings(env)


@pytest.mark.parametrize("weak", ["short", DEV_SECRET])
def test_production_refuses_a_short_or_default_secret(tmp_path: Path, weak: str) -> None:
    env = {"HEITJE_HOME": str(tmp_path), "HEITJE_API_ENV": "production", **GOOD}
    env["HEITJE_API_SECRET"] = weak
    with pytest.raises(ConfigError, match="HEITJE_API_SECRET"):
        load_settings(env)


def test_production_with_real_secrets_starts(tmp_path: Path) -> None:
    env = {"HEITJE_HOME": str(tmp_path), "HEITJE_API_ENV": "production", **GOOD}
    settings = load_settings(env)
    assert not settings.development and settings.secret_key == "s" * 40
    with pytest.raises(ConfigError, match="HEITJE_API_ENV"):
        load_settings({**env, "HEITJE_API_ENV": "staging"})


def test_the_public_rpc_url_for_own_wallets(tmp_path: Path) -> None:
    env = {"HEITJE_HOME": str(tmp_path)}
    assert load_settings(env).public_rpc_url is None
    rpc = "https://rpc.heitje.example"
    settings = load_settings({**env, "HEITJE_API_PUBLIC_RPC_URL": rpc})
    assert settings.public_rpc_url == rpc and settings.chain_name == "Heitje"
    with pytest.raises(ConfigError, match="HEITJE_API_PUBLIC_RPC_URL"):
        load_settings({**env, "HEITJE_API_PUBLIC_RPC_URL": "rpc.heitje.example"})
    with pytest.raises(ConfigError, match="HEITJE_API_CHAIN_NAME"):
        load_settings({**env, "HEITJE_API_CHAIN_NAME": "x" * 65})


def test_the_write_concurrency(tmp_path: Path) -> None:
    env = {"HEITJE_HOME": str(tmp_path)}
    assert load_settings(env).write_concurrency == 4
    assert load_settings({**env, "HEITJE_API_WRITE_CONCURRENCY": "0"}).write_concurrency == 0
    for bad in ("-1", "four", "2.5"):
        with pytest.raises(ConfigError, match="HEITJE_API_WRITE_CONCURRENCY"):
            load_settings({**env, "HEITJE_API_WRITE_CONCURRENCY": bad})
