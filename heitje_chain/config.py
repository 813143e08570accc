"""Configuration: where the chain is, which contract, where the keys are.

Read, in order (later wins): built-in defaults, the config file, the deployment record that
`heitje deploy` writes, environment variables.

- Home folder: `$HEITJE_HOME`, default `~/.heitje`. It holds the embedded chain's data
  (`chain/`), the keystores (`keystores/`) and the deployment record (`deployment.json`).
- Several municipalities, one installation: `--deployment NAME` (or HEITJE_DEPLOYMENT)
  selects the record `<home>/deployments/NAME.json` instead of `deployment.json`, and the
  role keys in `<keystores>/NAME/`; each municipality has its own contract, roles and
  merchants on the same chain. Without it, everything is as before.
- Config file: `$HEITJE_CONFIG`, default `<home>/heitje.toml` (optional). Example:

      [chain]
      rpc_urls = ["http://10.0.0.11:8545", "http://10.0.0.12:8545"]  # empty: embedded chain
      chain_id = 1337
      log_range = 5000          # most blocks per eth_getLogs (Besu's default limit)
      instant_finality = true   # QBFT, anvil: 'latest' is final; false: wait for confirmations
      confirmations = 12        # blocks behind the head read as final when not instant
      gas_limit = 8000000       # gas per transaction when the node cannot estimate (unset:
                                # estimates are required)
      gas_price = 0             # wei per gas on a chain without EIP-1559 whose nodes suggest
                                # a price although gas is free (geth Clique); unset: asked
      account_allowlist = false # true: nodes accept only listed senders (Besu local
                                # permissioning); new wallets are added on every node
      health_interval = 5       # seconds between checks of every rpc_urls node (0: off);
                                # a node cut off from the network is left, the first
                                # returned to when healthy (heitje_chain/rpc.py)
      stall_periods = 5         # block periods a node's head may stand still while
                                # another node is ahead before it counts as cut off
      block_period = 2          # seconds between blocks; unset: learnt from the chain
      return_lag = 2            # blocks the first node may be behind the best one and
                                # still be returned to

      [contract]
      address = "0x..."
      deployment_block = 0

      [embedded]
      port = 8545

      [keys]
      dir = "keystores"         # relative to the home folder
      job-office = "job-office" # keystore name per role (these are the defaults)

      [audit]                   # thresholds of `heitje audit`'s fraud signals (see
      cap_days = 60             # heitje_chain/audit/signals.py; options override them)
      quick_min_reward = "10.00"

- Environment: HEITJE_RPC_URL (comma-separated for several), HEITJE_CHAIN_ID,
  HEITJE_CONTRACT, HEITJE_DEPLOYMENT_BLOCK, HEITJE_KEYSTORE_DIR, HEITJE_EMBEDDED_PORT,
  HEITJE_DEPLOYMENT, HEITJE_GAS_LIMIT, HEITJE_GAS_PRICE, HEITJE_HEALTH_INTERVAL.
"""

from __future__ import annotations

import json
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from heitje_chain.errors import ConfigError
from heitje_chain.keys import check_address

#: The keys the municipality's staff use, by the name the CLI knows them under.
ROLE_KEYS = (
    "admin",
    "job-office",
    "partner",
    "merchant-manager",
    "treasurer",
    "pauser",
    "recovery",
)

_SECTIONS: dict[str, set[str]] = {
    "chain": {
        "rpc_urls",
        "chain_id",
        "log_range",
        "instant_finality",
        "confirmations",
        "timeout",
        "gas_limit",
        "gas_price",
        "account_allowlist",
        "health_interval",
        "stall_periods",
        "block_period",
        "return_lag",
    },
    "contract": {"address", "deployment_block"},
    "embedded": {"port", "host"},
    "keys": {"dir", *ROLE_KEYS},
    # the thresholds of the auditor's fraud signals (heitje_chain.audit.signals.SignalSettings)
    "audit": {
        "cap_fraction",
        "cap_days",
        "loop_count",
        "redeem_excess",
        "cluster_top",
        "cluster_share",
        "cluster_min_rewards",
        "inspector_min",
        "inspector_factor",
        "quick_minutes",
        "quick_min_reward",
    },
}


@dataclass(frozen=True)
class Deployment:
    """Where the token lives: written by `heitje deploy`, read by everything else."""

    chain_id: int
    address: str
    block: int
    name: str = ""
    symbol: str = ""
    tx_hash: str = ""

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=2) + "\n"


@dataclass(frozen=True)
class Config:
    home: Path
    rpc_urls: tuple[str, ...] = ()
    chain_id: int | None = None
    contract: str | None = None
    deployment_block: int = 0
    log_range: int = 5000
    instant_finality: bool = True
    confirmations: int = 12
    timeout: float = 10.0
    embedded_host: str = "127.0.0.1"
    embedded_port: int = 8545
    keystore_dir: Path = Path()
    key_names: dict[str, str] = field(default_factory=dict)
    source: str = "defaults"
    deployment: str = ""  # the selected deployment's name; "" for the single deployment.json
    gas_limit: int | None = None  # gas per transaction where the node cannot estimate
    gas_price: int | None = None  # wei per gas without EIP-1559; None: the node's suggestion
    account_allowlist: bool = False  # nodes accept only listed senders: list new wallets
    # The checks of the configured nodes (heitje_chain.health.HealthSettings, heitje_chain.rpc)
    health_interval: float = 5.0  # seconds between checks; 0: off
    stall_periods: int = 5  # block periods a head may stand still while another is ahead
    block_period: float | None = None  # seconds between blocks; None: learnt from the chain
    return_lag: int = 2  # blocks the first node may trail the best and be returned to
    audit: dict[str, Any] = field(default_factory=dict)  # [audit]: the fraud signals' settings

    @property
    def embedded(self) -> bool:
        """True when no RPC URL is configured: the local anvil in the home folder is used."""
        return not self.rpc_urls

    @property
    def chain_dir(self) -> Path:
        return self.home / "chain"

    @property
    def deployment_file(self) -> Path:
        if self.deployment:
            return self.home / "deployments" / f"{self.deployment}.json"
        return self.home / "deployment.json"

    @property
    def instance_dir(self) -> Path:
        """A folder of this deployment's own (the home folder without a deployment name)."""
        if self.deployment:
            return self.home / "deployments" / self.deployment
        return self.home

    @property
    def urls(self) -> tuple[str, ...]:
        if self.rpc_urls:
            return self.rpc_urls
        return (f"http://{self.embedded_host}:{self.embedded_port}",)

    @property
    def final_depth(self) -> int:
        """Blocks behind the head that the ledger treats as final: 0 on a chain with instant
        finality (QBFT, the embedded chain), else `confirmations`."""
        return 0 if self.instant_finality else self.confirmations

    def key_name(self, role: str) -> str:
        return self.key_names.get(role, role)

    def require_contract(self) -> str:
        if not self.contract and self.deployment:
            known = ", ".join(list_deployments(self.home)) or "none"
            raise ConfigError(
                f"there is no deployment named {self.deployment!r} in {self.home / 'deployments'}"
                f" (deployments there: {known}); create it with "
                f"`heitje --deployment {self.deployment} deploy`"
            )
        if not self.contract:
            raise ConfigError(
                "no Heitje contract is configured: deploy one with `heitje deploy`, or set "
                "[contract] address in the config file or HEITJE_CONTRACT"
            )
        return self.contract

    def with_deployment(self, deployment: Deployment) -> Config:
        return replace(
            self,
            contract=deployment.address,
            deployment_block=deployment.block,
            chain_id=deployment.chain_id,
        )


def load_config(
    home: Path | str | None = None,
    config_file: Path | str | None = None,
    environ: Mapping[str, str] | None = None,
    deployment: str | None = None,
) -> Config:
    """The configuration from defaults, the config file, the deployment record and the
    environment; `ConfigError` naming the setting for anything missing or malformed.
    `deployment` (else HEITJE_DEPLOYMENT) selects one of several deployments by name."""
    env = os.environ if environ is None else environ
    selected = (deployment or env.get("HEITJE_DEPLOYMENT") or "").strip()
    if selected and not DEPLOYMENT_NAME.match(selected):
        raise ConfigError(
            f"{selected!r} is not a deployment name: use lowercase letters, digits and '-', "
            "e.g. heerlen or sittard-geleen"
        )
    home_path = Path(home or env.get("HEITJE_HOME") or Path.home() / ".heitje").expanduser()
    file_path = Path(config_file or env.get("HEITJE_CONFIG") or home_path / "heitje.toml")
    raw: dict[str, Any] = {}
    sources = ["defaults"]
    if file_path.exists():
        try:
            raw = tomllib.loads(file_path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file_path} is not valid TOML: {exc}") from None
        sources.append(str(file_path))
        _check_keys(raw, file_path)
    elif config_file or env.get("HEITJE_CONFIG"):
        raise ConfigError(f"the config file {file_path} does not exist")

    chain = raw.get("chain", {})
    contract = raw.get("contract", {})
    embedded = raw.get("embedded", {})
    keys = raw.get("keys", {})
    cfg = Config(
        home=home_path,
        rpc_urls=tuple(_urls(chain.get("rpc_urls", []), "[chain] rpc_urls")),
        chain_id=_int(chain.get("chain_id"), "[chain] chain_id"),
        log_range=_int(chain.get("log_range", 5000), "[chain] log_range", low=1) or 5000,
        instant_finality=_bool(chain.get("instant_finality", True), "[chain] instant_finality"),
        confirmations=_int(chain.get("confirmations", 12), "[chain] confirmations") or 0,
        timeout=float(chain.get("timeout", 10.0)),
        gas_limit=_int(chain.get("gas_limit"), "[chain] gas_limit", low=21_000),
        gas_price=_int(chain.get("gas_price"), "[chain] gas_price"),
        account_allowlist=_bool(chain.get("account_allowlist", False), "[chain] account_allowlist"),
        health_interval=_seconds(
            chain.get("health_interval", 5.0), "[chain] health_interval", zero=True
        ),
        stall_periods=_int(chain.get("stall_periods", 5), "[chain] stall_periods", low=1) or 5,
        block_period=(
            None
            if chain.get("block_period") is None
            else _seconds(chain["block_period"], "[chain] block_period", zero=False)
        ),
        return_lag=_int(chain.get("return_lag", 2), "[chain] return_lag") or 0,
        embedded_host=str(embedded.get("host", "127.0.0.1")),
        embedded_port=_int(embedded.get("port", 8545), "[embedded] port", low=1) or 8545,
        keystore_dir=home_path / str(keys.get("dir", "keystores")) / selected,
        key_names={k: str(v) for k, v in keys.items() if k in ROLE_KEYS},
        deployment=selected,
        audit=dict(raw.get("audit", {})),
    )

    record = read_deployment(cfg.deployment_file)
    if record is not None:
        cfg = cfg.with_deployment(record)
        sources.append(str(cfg.deployment_file))
    if contract:
        cfg = replace(
            cfg,
            contract=_address(contract.get("address"), "[contract] address"),
            deployment_block=_int(contract.get("deployment_block", 0), "[contract] block") or 0,
        )

    overrides: dict[str, Any] = {}
    if env.get("HEITJE_RPC_URL"):
        overrides["rpc_urls"] = tuple(_urls(env["HEITJE_RPC_URL"].split(","), "HEITJE_RPC_URL"))
    if env.get("HEITJE_CHAIN_ID"):
        overrides["chain_id"] = _int(env["HEITJE_CHAIN_ID"], "HEITJE_CHAIN_ID")
    if env.get("HEITJE_CONTRACT"):
        overrides["contract"] = _address(env["HEITJE_CONTRACT"], "HEITJE_CONTRACT")
    if env.get("HEITJE_DEPLOYMENT_BLOCK"):
        overrides["deployment_block"] = _int(
            env["HEITJE_DEPLOYMENT_BLOCK"], "HEITJE_DEPLOYMENT_BLOCK"
        )
    if env.get("HEITJE_KEYSTORE_DIR"):
        overrides["keystore_dir"] = Path(env["HEITJE_KEYSTORE_DIR"]).expanduser()
    if env.get("HEITJE_EMBEDDED_PORT"):
        overrides["embedded_port"] = _int(env["HEITJE_EMBEDDED_PORT"], "HEITJE_EMBEDDED_PORT")
    if env.get("HEITJE_GAS_LIMIT"):
        overrides["gas_limit"] = _int(env["HEITJE_GAS_LIMIT"], "HEITJE_GAS_LIMIT", low=21_000)
    if env.get("HEITJE_GAS_PRICE"):
        overrides["gas_price"] = _int(env["HEITJE_GAS_PRICE"], "HEITJE_GAS_PRICE")
    if env.get("HEITJE_ACCOUNT_ALLOWLIST"):
        overrides["account_allowlist"] = _env_bool(
            env["HEITJE_ACCOUNT_ALLOWLIST"], "HEITJE_ACCOUNT_ALLOWLIST"
        )
    if env.get("HEITJE_HEALTH_INTERVAL"):
        overrides["health_interval"] = _seconds(
            env["HEITJE_HEALTH_INTERVAL"], "HEITJE_HEALTH_INTERVAL", zero=True
        )
    if overrides:
        sources.append("environment")
    return replace(cfg, **overrides, source=" + ".join(sources))


#: A deployment's name: a municipality, in lowercase (`heerlen`, `sittard-geleen`).
DEPLOYMENT_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def list_deployments(home: Path) -> list[str]:
    """The names of the deployments recorded under `<home>/deployments/`, sorted."""
    folder = home / "deployments"
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.json") if DEPLOYMENT_NAME.match(p.stem))


def read_deployment(path: Path) -> Deployment | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        return Deployment(
            chain_id=int(data["chain_id"]),
            address=check_address(data["address"], "deployment address"),
            block=int(data["block"]),
            name=str(data.get("name", "")),
            symbol=str(data.get("symbol", "")),
            tx_hash=str(data.get("tx_hash", "")),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path} is damaged ({exc}); restore it or deploy again") from None


def write_deployment(path: Path, deployment: Deployment) -> None:
    """Write the deployment record atomically (a crash leaves the old or the new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(deployment.to_json())
    os.replace(tmp, path)


def _check_keys(raw: dict[str, Any], path: Path) -> None:
    for section, values in raw.items():
        if section not in _SECTIONS:
            raise ConfigError(
                f"{path}: unknown section [{section}]; known: {', '.join(sorted(_SECTIONS))}"
            )
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: [{section}] must be a table")
        unknown = set(values) - _SECTIONS[section]
        if unknown:
            raise ConfigError(
                f"{path}: unknown setting(s) {', '.join(sorted(unknown))} in [{section}]; "
                f"known: {', '.join(sorted(_SECTIONS[section]))}"
            )


def _urls(values: Any, what: str) -> list[str]:
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list):
        raise ConfigError(f"{what} must be a list of URLs")
    urls = [str(v).strip() for v in values if str(v).strip()]
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"{what}: {url!r} is not an http(s) URL")
    return urls


def _int(value: Any, what: str, low: int = 0) -> int | None:
    if value is None:
        return None
    try:
        number = int(str(value).strip(), 0) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a whole number, not {value!r}") from None
    if isinstance(value, bool) or number < low:
        raise ConfigError(f"{what} must be a whole number of at least {low}, not {value!r}")
    return number


def _seconds(value: Any, what: str, zero: bool) -> float:
    """A number of seconds (a whole or decimal number); more than 0, or 0 too if `zero`."""
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value.strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number < 0 or (number == 0 and not zero):
        least = "0 (off) or more" if zero else "more than 0"
        raise ConfigError(f"{what} must be a number of seconds, {least}, not {value!r}")
    return number


def _bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{what} must be true or false, not {value!r}")
    return value


def _env_bool(value: str, what: str) -> bool:
    word = value.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{what} must be true or false, not {value!r}")


def _address(value: Any, what: str) -> str:
    try:
        return check_address(value, what)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
