"""The service's settings, from environment variables (names start with HEITJE_API_).

Outside development (HEITJE_API_ENV=production) the service refuses to start with a default
or missing secret: the token key, the custodial-wallet password and the first admin's
password must all be set, and long enough.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from heitje_chain.config import Config, load_config
from heitje_chain.errors import ConfigError

# Development defaults, refused in production (`load_settings`).
DEV_SECRET = "development-only-secret-do-not-use-in-production"  # noqa: S105
DEV_WALLET_PASSWORD = "development-only-wallet-password"  # noqa: S105
DEV_ADMIN_PASSWORD = "development-admin"  # noqa: S105


@dataclass(frozen=True)
class Settings:
    environment: str
    database_url: str
    secret_key: str
    wallet_password: str
    admin_password: str
    token_hours: int
    chain: Config
    run_worker: bool = True
    worker_interval: float = 1.0
    wallet_kdf_iterations: int | None = None
    #: the municipality's neighbourhoods; when set, residents, shops and jobs must use one
    neighbourhoods: tuple[str, ...] = ()
    #: seconds after which a payment or refund still `sending` is settled from the chain
    #: (longer than any request can take to send it)
    settle_after: float = 120.0
    #: seconds between two checks of the database's paid rows against the chain
    reconcile_interval: float = 15.0

    @property
    def development(self) -> bool:
        return self.environment == "development"

    @property
    def wallet_dir(self) -> Path:
        """The custodial wallets: per deployment, so two municipalities never share one."""
        return self.chain.instance_dir / "wallets"


def load_settings(
    environ: Mapping[str, str] | None = None, chain: Config | None = None
) -> Settings:
    env = os.environ if environ is None else environ
    environment = env.get("HEITJE_API_ENV", "development").strip().lower()
    if environment not in ("development", "production"):
        raise ConfigError("HEITJE_API_ENV must be development or production")
    chain_config = chain or load_config(environ=env)
    development = environment == "development"

    def secret(name: str, default: str, minimum: int) -> str:
        value = env.get(name, "")
        if not value:
            if development:
                return default
            raise ConfigError(f"{name} must be set in production (at least {minimum} characters)")
        if not development and (len(value) < minimum or value == default):
            raise ConfigError(f"{name} is too short or a default: use {minimum} characters or more")
        return value

    database = env.get("HEITJE_API_DATABASE_URL") or (
        f"sqlite:///{chain_config.instance_dir / 'heitje.db'}"
    )
    try:
        hours = int(env.get("HEITJE_API_TOKEN_HOURS", "12"))
    except ValueError:
        raise ConfigError("HEITJE_API_TOKEN_HOURS must be a whole number") from None

    def seconds(name: str, default: float) -> float:
        try:
            value = float(env.get(name, default))
        except ValueError:
            raise ConfigError(f"{name} must be a number of seconds") from None
        if not 0 < value < 86400:
            raise ConfigError(f"{name} must be between 0 and 86400 seconds")
        return value

    iterations = env.get("HEITJE_API_WALLET_KDF_ITERATIONS")
    hoods = [n.strip() for n in env.get("HEITJE_API_NEIGHBOURHOODS", "").split(",") if n.strip()]
    if any(len(n) > 64 for n in hoods):
        raise ConfigError(
            "HEITJE_API_NEIGHBOURHOODS: a neighbourhood's name is at most 64 characters"
        )
    return Settings(
        environment=environment,
        database_url=database,
        secret_key=secret("HEITJE_API_SECRET", DEV_SECRET, 32),
        wallet_password=secret("HEITJE_WALLET_PASSWORD", DEV_WALLET_PASSWORD, 12),
        admin_password=secret("HEITJE_API_ADMIN_PASSWORD", DEV_ADMIN_PASSWORD, 12),
        token_hours=max(1, hours),
        chain=chain_config,
        run_worker=env.get("HEITJE_API_WORKER", "on").lower() not in ("off", "0", "no"),
        wallet_kdf_iterations=int(iterations) if iterations else None,
        neighbourhoods=tuple(dict.fromkeys(hoods)),
        settle_after=seconds("HEITJE_API_SETTLE_AFTER", 120.0),
        reconcile_interval=seconds("HEITJE_API_RECONCILE_INTERVAL", 15.0),
    )
