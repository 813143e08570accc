"""Keys (keystore files, signers that never show their key, address checks), configuration
(TOML, environment, deployment record) and connecting to the configured contract."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from heitje_chain.client import HeitjeClient
from heitje_chain.config import Config, Deployment, load_config, read_deployment, write_deployment
from heitje_chain.connect import connect, connect_rpc
from heitje_chain.errors import (
    ChainUnavailable,
    ConfigError,
    HeitjeError,
    InvalidAddress,
    KeystoreError,
    TransactionFailed,
)
from heitje_chain.keys import KeyStore, LocalSigner, Signer, check_address

World = Any  # conftest.World

CHECKSUMMED = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
PASSWORD = "correct horse battery"


def fast_store(folder: Path) -> KeyStore:
    return KeyStore(folder, kdf="pbkdf2", iterations=1000)


def secret_of(signer: LocalSigner) -> list[str]:
    key = bytes(signer._account.key).hex()
    return [key, key.upper(), "0x" + key]


def assert_no_secret(text: str, signer: LocalSigner) -> None:
    for form in secret_of(signer):
        assert form not in text


# ====================================================================== keystore


def test_keystore_create_and_load(tmp_path: Path) -> None:
    store = fast_store(tmp_path / "keys")
    created = store.create("job-office", PASSWORD)
    assert created.name == "job-office"
    loaded = store.load("job-office", PASSWORD)
    assert loaded.address == created.address
    assert loaded.name == "job-office"
    assert store.address("job-office") == created.address  # without the password
    assert store.exists("job-office") and not store.exists("partner")
    tx = {
        "chainId": 1,
        "nonce": 0,
        "gas": 21000,
        "to": CHECKSUMMED,
        "value": 0,
        "data": "0x",
        "maxFeePerGas": 0,
        "maxPriorityFeePerGas": 0,
    }
    assert (
        loaded.sign_transaction(tx).raw_transaction == created.sign_transaction(tx).raw_transaction
    )
    assert isinstance(loaded, Signer)


def test_keystore_file_is_private_and_encrypted(tmp_path: Path) -> None:
    store = fast_store(tmp_path / "keys")
    signer = store.create("treasurer", PASSWORD)
    path = tmp_path / "keys" / "treasurer.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not stat.S_IMODE((tmp_path / "keys").stat().st_mode) & 0o077
    text = path.read_text()
    assert_no_secret(text, signer)
    assert PASSWORD not in text
    data = json.loads(text)
    assert data["crypto"]["kdf"] == "pbkdf2"
    assert "0x" + data["address"].lower().removeprefix("0x") == signer.address.lower()
    assert list((tmp_path / "keys").iterdir()) == [path]  # no temporary file left


def test_keystore_wrong_password(tmp_path: Path) -> None:
    store = fast_store(tmp_path)
    store.create("admin", PASSWORD)
    with pytest.raises(KeystoreError, match="wrong password for key 'admin'") as exc:
        store.load("admin", "not the password")
    assert isinstance(exc.value, ValueError)
    assert "not the password" not in str(exc.value)
    assert exc.value.__cause__ is None and exc.value.__suppress_context__


def test_keystore_missing_key_names_the_others(tmp_path: Path) -> None:
    store = fast_store(tmp_path)
    with pytest.raises(KeystoreError, match="keys there: none"):
        store.load("admin", PASSWORD)
    store.create("pauser", PASSWORD)
    store.create("admin", PASSWORD)
    with pytest.raises(KeystoreError, match=r"no key named 'recovery'.*keys there: admin, pauser"):
        store.load("recovery", PASSWORD)
    with pytest.raises(KeystoreError):
        store.address("recovery")


def test_keystore_refuses_to_overwrite(tmp_path: Path) -> None:
    store = fast_store(tmp_path)
    first = store.create("admin", PASSWORD)
    before = (tmp_path / "admin.json").read_bytes()
    with pytest.raises(KeystoreError, match="exists already"):
        store.create("admin", PASSWORD)
    with pytest.raises(KeystoreError, match="exists already"):
        store.store("admin", LocalSigner.create(), PASSWORD)
    assert (tmp_path / "admin.json").read_bytes() == before
    assert store.load("admin", PASSWORD).address == first.address


def test_keystore_store_existing_signer(tmp_path: Path) -> None:
    store = fast_store(tmp_path)
    signer = LocalSigner.create()
    stored = store.store("resident-7", signer, PASSWORD)
    assert stored.address == signer.address and stored.name == "resident-7"
    assert store.load("resident-7", PASSWORD).address == signer.address


def test_keystore_names(tmp_path: Path) -> None:
    store = fast_store(tmp_path / "not-yet")
    assert store.names() == []
    for name in ("treasurer", "admin", "job-office", "shop_1.v2"):
        store.create(name, PASSWORD)
    (tmp_path / "not-yet" / "notes.txt").write_text("not a key")
    assert store.names() == ["admin", "job-office", "shop_1.v2", "treasurer"]


@pytest.mark.parametrize("name", ["", "../admin", "a/b", ".hidden", "-x", "x" * 65, "a b", "é"])
def test_keystore_refuses_bad_names(tmp_path: Path, name: str) -> None:
    store = fast_store(tmp_path)
    with pytest.raises(KeystoreError, match="not a usable key name"):
        store.create(name, PASSWORD)
    assert list(tmp_path.iterdir()) == []


def test_keystore_refuses_short_password(tmp_path: Path) -> None:
    with pytest.raises(KeystoreError, match="at least 8 characters"):
        fast_store(tmp_path).create("admin", "short")
    assert not (tmp_path / "admin.json").exists()


def test_keystore_damaged_files(tmp_path: Path) -> None:
    store = fast_store(tmp_path)
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "noaddr.json").write_text("{}")
    with pytest.raises(KeystoreError, match="not JSON"):
        store.load("broken", PASSWORD)
    with pytest.raises(KeystoreError, match="not a keystore file"):
        store.load("list", PASSWORD)
    with pytest.raises(KeystoreError, match="does not record its address"):
        store.address("noaddr")


def test_keystore_default_kdf_is_scrypt(tmp_path: Path) -> None:
    assert KeyStore(tmp_path).kdf == "scrypt"


# ====================================================================== signers keep secrets


def test_signer_shows_only_its_address() -> None:
    signer = LocalSigner.create("job-office")
    for text in (repr(signer), str(signer), f"{signer}", f"{signer!r}", repr([signer])):
        assert_no_secret(text, signer)
        assert signer.address in text
    assert repr(signer) == f"<LocalSigner job-office {signer.address}>"
    assert repr(LocalSigner.create()).startswith("<LocalSigner 0x")


def test_from_mnemonic_follows_bip44() -> None:
    # The public BIP-39 test vector that anvil and hardhat use for their dev accounts.
    words = "test test test test test test test test test test test junk"
    assert (
        LocalSigner.from_mnemonic(words, 0).address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    )
    assert (
        LocalSigner.from_mnemonic(words, 1).address == "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    )


def test_no_exception_shows_the_key(heitje: World, tmp_path: Path) -> None:
    c, resident = heitje.client, heitje.residents[0]
    heitje.fund(resident, 100)
    caught: list[BaseException] = []
    attempts: list[Callable[[], object]] = [
        lambda: c.pay(resident, heitje.residents[1].address, 1, "R"),  # refused by the contract
        lambda: c.pay(resident, heitje.merchants[0].address, 1.5, "R"),  # bad amount
        lambda: c.pay(resident, "0x1234", 1, "R"),  # bad address
        lambda: c.submit(
            resident, "pay", heitje.merchants[0].address, 1, bytes(32), gas=40_000_000
        ),
        lambda: c.redeem(resident, 1),
        lambda: c.grant_role(resident, "admin", resident.address),
    ]
    for attempt in attempts:
        with pytest.raises(HeitjeError) as exc:
            attempt()
        caught.append(exc.value)
    assert any(isinstance(e, TransactionFailed) for e in caught)
    for error in caught:
        assert_no_secret(str(error), resident)
        assert_no_secret(repr(error), resident)
        assert_no_secret(repr(getattr(error, "values", "")), resident)
    tx = c.submit_pay(resident, heitje.merchants[0].address, 1, "R")
    assert_no_secret(repr(tx), resident)
    store = fast_store(tmp_path)
    store.store("resident", resident, PASSWORD)
    with pytest.raises(KeystoreError) as exc2:
        store.load("resident", "wrong password!")
    assert_no_secret(str(exc2.value), resident)


# ====================================================================== addresses


def test_check_address_accepts_and_checksums() -> None:
    assert check_address(CHECKSUMMED) == CHECKSUMMED
    assert check_address(CHECKSUMMED.lower()) == CHECKSUMMED
    assert check_address("0x" + CHECKSUMMED[2:].upper()) == CHECKSUMMED


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "wrong checksum"),
        ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "wrong checksum"),
        ("0x" + "00" * 20, "zero address"),
        ("0x1234", "not an Ethereum address"),
        ("0x" + "g" * 40, "not an Ethereum address"),
        (CHECKSUMMED[2:] + "0000", "not an Ethereum address"),
        ("", "not an Ethereum address"),
        (None, "not an Ethereum address"),
        (12345, "not an Ethereum address"),
        (bytes(20), "not an Ethereum address"),
    ],
)
def test_check_address_refuses(value: object, match: str) -> None:
    with pytest.raises(InvalidAddress, match=match) as exc:
        check_address(value, "merchant")
    assert str(exc.value).startswith("merchant")
    assert isinstance(exc.value, ValueError)


# ====================================================================== configuration

TOML = """
[chain]
rpc_urls = ["http://10.0.0.11:8545", "https://node2.example.org/rpc"]
chain_id = 1337
log_range = 1000
instant_finality = false
timeout = 3.5

[contract]
address = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
deployment_block = 42

[embedded]
port = 18545
host = "127.0.0.2"

[keys]
dir = "my-keys"
job-office = "office-2024"
"""


def test_load_config_defaults(tmp_path: Path) -> None:
    cfg = load_config(home=tmp_path, environ={})
    assert cfg.home == tmp_path
    assert cfg.embedded and cfg.rpc_urls == ()
    assert cfg.urls == ("http://127.0.0.1:8545",)
    assert cfg.chain_id is None and cfg.contract is None
    assert cfg.log_range == 5000 and cfg.timeout == 10.0
    assert cfg.instant_finality and cfg.final_depth == 0
    assert cfg.keystore_dir == tmp_path / "keystores"
    assert cfg.deployment_file == tmp_path / "deployment.json"
    assert cfg.chain_dir == tmp_path / "chain"
    assert cfg.key_name("job-office") == "job-office"
    assert cfg.source == "defaults"
    with pytest.raises(ConfigError, match="no Heitje contract is configured"):
        cfg.require_contract()


def test_load_config_from_toml(tmp_path: Path) -> None:
    (tmp_path / "heitje.toml").write_text(TOML)
    cfg = load_config(home=tmp_path, environ={})
    assert cfg.rpc_urls == ("http://10.0.0.11:8545", "https://node2.example.org/rpc")
    assert not cfg.embedded and cfg.urls == cfg.rpc_urls
    assert cfg.chain_id == 1337
    assert cfg.log_range == 1000
    assert cfg.instant_finality is False
    assert cfg.final_depth == cfg.confirmations == 12
    assert cfg.timeout == 3.5
    assert cfg.contract == CHECKSUMMED and cfg.require_contract() == CHECKSUMMED
    assert cfg.deployment_block == 42
    assert (cfg.embedded_host, cfg.embedded_port) == ("127.0.0.2", 18545)
    assert cfg.keystore_dir == tmp_path / "my-keys"
    assert cfg.key_name("job-office") == "office-2024"
    assert cfg.key_name("partner") == "partner"
    assert str(tmp_path / "heitje.toml") in cfg.source


def test_load_config_file_from_environment(tmp_path: Path) -> None:
    other = tmp_path / "elsewhere.toml"
    other.write_text("[chain]\nchain_id = 7\n")
    env = {"HEITJE_HOME": str(tmp_path / "home"), "HEITJE_CONFIG": str(other)}
    cfg = load_config(environ=env)
    assert cfg.home == tmp_path / "home" and cfg.chain_id == 7


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    (tmp_path / "heitje.toml").write_text(TOML)
    address = LocalSigner.create().address
    env = {
        "HEITJE_RPC_URL": "http://a:1, http://b:2",
        "HEITJE_CHAIN_ID": "0x7a69",
        "HEITJE_CONTRACT": address.lower(),
        "HEITJE_DEPLOYMENT_BLOCK": "99",
        "HEITJE_KEYSTORE_DIR": str(tmp_path / "env-keys"),
        "HEITJE_EMBEDDED_PORT": "19000",
    }
    cfg = load_config(home=tmp_path, environ=env)
    assert cfg.rpc_urls == ("http://a:1", "http://b:2")
    assert cfg.chain_id == 31337
    assert cfg.contract == address
    assert cfg.deployment_block == 99
    assert cfg.keystore_dir == tmp_path / "env-keys"
    assert cfg.embedded_port == 19000
    assert cfg.source.endswith("environment")


@pytest.mark.parametrize(
    ("toml", "match"),
    [
        ("[chains]\nrpc_urls = []\n", r"unknown section \[chains\]"),
        ("[chain]\nrpc_url = 'http://x'\n", r"unknown setting\(s\) rpc_url in \[chain\]"),
        ("[keys]\nminter = 'x'\n", r"unknown setting\(s\) minter in \[keys\]"),
        ("chain = 5\n", r"\[chain\] must be a table"),
        ("[chain]\nrpc_urls = ['ftp://node:21']\n", "not an http"),
        ("[chain]\nrpc_urls = ['localhost:8545']\n", "not an http"),
        ("[chain]\nrpc_urls = 5\n", "must be a list of URLs"),
        ("[chain]\nchain_id = 'abc'\n", "chain_id must be a whole number"),
        ("[chain]\nchain_id = -1\n", "chain_id must be a whole number of at least 0"),
        ("[chain]\nlog_range = 0\n", "log_range must be a whole number of at least 1"),
        ("[chain]\ninstant_finality = 'yes'\n", "must be true or false"),
        ("[embedded]\nport = true\n", "port must be a whole number"),
        ("[contract]\naddress = '0x1234'\n", "not an Ethereum address"),
        ("[contract]\naddress = '0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed'\n", "checksum"),
        ("[chain\n", "not valid TOML"),
    ],
)
def test_bad_config_file_refused(tmp_path: Path, toml: str, match: str) -> None:
    (tmp_path / "heitje.toml").write_text(toml)
    with pytest.raises(ConfigError, match=match):
        load_config(home=tmp_path, environ={})


@pytest.mark.parametrize(
    ("env", "match"),
    [
        ({"HEITJE_RPC_URL": "node:8545"}, "HEITJE_RPC_URL"),
        ({"HEITJE_CHAIN_ID": "one"}, "HEITJE_CHAIN_ID"),
        ({"HEITJE_CONTRACT": "0xdead"}, "HEITJE_CONTRACT"),
        ({"HEITJE_DEPLOYMENT_BLOCK": "-5"}, "HEITJE_DEPLOYMENT_BLOCK"),
        ({"HEITJE_EMBEDDED_PORT": "x"}, "HEITJE_EMBEDDED_PORT"),
        ({"HEITJE_CONFIG": "/nonexistent/heitje.toml"}, "does not exist"),
    ],
)
def test_bad_environment_refused(tmp_path: Path, env: dict[str, str], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_config(home=tmp_path, environ=env)


def test_missing_explicit_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(home=tmp_path, config_file=tmp_path / "nope.toml", environ={})


def test_deployment_record(tmp_path: Path) -> None:
    address = LocalSigner.create().address
    record = Deployment(chain_id=31337, address=address, block=12, name="N", symbol="S")
    write_deployment(tmp_path / "deployment.json", record)
    assert read_deployment(tmp_path / "deployment.json") == record
    assert read_deployment(tmp_path / "missing.json") is None
    cfg = load_config(home=tmp_path, environ={})
    assert (cfg.contract, cfg.chain_id, cfg.deployment_block) == (address, 31337, 12)
    assert str(tmp_path / "deployment.json") in cfg.source
    # the config file's [contract] wins over the record, the environment over both
    (tmp_path / "heitje.toml").write_text(TOML)
    assert load_config(home=tmp_path, environ={}).contract == CHECKSUMMED
    other = LocalSigner.create().address
    assert load_config(home=tmp_path, environ={"HEITJE_CONTRACT": other}).contract == other


@pytest.mark.parametrize(
    "text",
    [
        "{",
        "{}",
        '{"chain_id": 1, "address": "0x1234", "block": 1}',
        '{"chain_id": "x", "address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "block": 1}',
    ],
)
def test_damaged_deployment_record(tmp_path: Path, text: str) -> None:
    (tmp_path / "deployment.json").write_text(text)
    with pytest.raises(ConfigError, match="is damaged"):
        load_config(home=tmp_path, environ={})


# ====================================================================== connecting


def config_for(world: World, **changes: Any) -> Config:
    values: dict[str, Any] = {
        "home": Path("/nonexistent"),
        "rpc_urls": (world.rpc.url,),
        "chain_id": world.deployment.chain_id,
        "contract": world.deployment.address,
        "deployment_block": world.deployment.block,
    }
    return Config(**(values | changes))


def test_connect(heitje: World) -> None:
    heitje.fund(heitje.residents[0], 77)
    client = connect(config_for(heitje))
    assert client.address == heitje.deployment.address
    assert client.deployment_block == heitje.deployment.block
    assert client.balance(heitje.residents[0].address) == 77


def test_connect_through_load_config(heitje: World, tmp_path: Path) -> None:
    write_deployment(tmp_path / "deployment.json", heitje.deployment)
    cfg = load_config(home=tmp_path, environ={"HEITJE_RPC_URL": heitje.rpc.url})
    assert connect(cfg).symbol() == "HEITJE"


def test_connect_wrong_chain_id(heitje: World) -> None:
    with pytest.raises(ConfigError, match="serves chain 31337, but chain 1 is configured"):
        connect(config_for(heitje, chain_id=1))
    with pytest.raises(ConfigError, match="chain 1 is configured"):
        connect_rpc(config_for(heitje, chain_id=1))
    with pytest.raises(ConfigError, match="chain 5 is configured"):
        HeitjeClient(heitje.rpc, heitje.deployment.address, chain_id=5)


def test_connect_without_contract(heitje: World) -> None:
    with pytest.raises(ConfigError, match="no Heitje contract"):
        connect(config_for(heitje, contract=None))


def test_connect_to_an_address_without_code(heitje: World) -> None:
    empty = LocalSigner.create().address
    with pytest.raises(ConfigError, match="there is no contract at"):
        connect(config_for(heitje, contract=empty))


def test_connect_to_a_contract_that_reverts_everything(heitje: World) -> None:
    other = heitje.deploy_code("60006000fd")  # REVERT(0, 0)
    with pytest.raises(ConfigError, match="is not a Heitje token"):
        connect(config_for(heitje, contract=other))


def test_connect_to_an_erc20_like_heitje_address_on_another_deployment(heitje: World) -> None:
    """A Heitje token is a Heitje token: a second deployment is accepted (it is the
    deployment record's job to say which one)."""
    from heitje_chain.deploy import deploy

    second, _ = deploy(heitje.rpc, heitje.admin, admin_delay=0)
    assert connect(config_for(heitje, contract=second.address)).address == second.address


def test_connect_to_a_contract_that_answers_nothing(heitje: World) -> None:
    other = heitje.deploy_code("00")  # STOP: every call succeeds with no data
    with pytest.raises(ConfigError, match="is not a Heitje token"):
        connect(config_for(heitje, contract=other))


def test_connect_to_a_contract_that_answers_zero_to_everything(heitje: World) -> None:
    other = heitje.deploy_code("60206000f3")  # RETURN(0, 32): a zero word for every call
    with pytest.raises(ConfigError, match="is not a Heitje token"):
        connect(config_for(heitje, contract=other))


def test_connect_to_a_dead_endpoint(heitje: World, dead_url: str) -> None:
    with pytest.raises(ChainUnavailable):
        connect(config_for(heitje, rpc_urls=(dead_url,)))
    port = int(dead_url.rsplit(":", 1)[1])
    embedded = config_for(heitje, rpc_urls=(), embedded_port=port)
    with pytest.raises(ChainUnavailable, match="heitje chain up"):
        connect_rpc(embedded)


def test_connect_fails_over(heitje: World, dead_url: str) -> None:
    client = connect(config_for(heitje, rpc_urls=(dead_url, heitje.rpc.url)))
    assert client.rpc.url == heitje.rpc.url
    assert client.name() == "Heerlens Heitje"
