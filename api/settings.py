"""The service's settings, from environment variables (names start with HEITJE_API_).

Outside development (HEITJE_API_ENV=production) the service refuses to start with a default
or missing secret: the token key, the custodial-wallet password and the first admin's
password must all be set, and long enough.

Sign-in and accounts (api/limits.py, api/security.py, api/routes/auth.py, accounts.py):

- HEITJE_API_LIMIT_LOGIN_ACCOUNT (default 5/900): sign-in attempts per user name in a window
  of seconds; more wait till the window ends (a good sign-in clears the count).
- HEITJE_API_LIMIT_LOGIN_ADDRESS (30/900): failed sign-ins (password or wallet) per client
  address.
- HEITJE_API_LIMIT_CHALLENGES (30/600): wallet challenges per client address.
- HEITJE_API_LIMIT_SIGNUPS (30/3600): sign-ups (residents and shop applications) per client
  address. The demo raises it; a desk that registers many people from one address may too.
- HEITJE_API_LIMIT_RESETS (10/900): attempts to use a reset code per client address.
- HEITJE_API_LIMIT_VERIFY (120/600): checks of annual statements on the public page per
  client address (each may compute a statement from the chain).
- HEITJE_API_RESET_CODE_HOURS (72) and HEITJE_API_RESET_CODE_TRIES (5): how long a desk's
  reset code is valid, and how many wrong tries void it.
- HEITJE_API_PASSWORD_MEMORY_KIB (19456) and HEITJE_API_PASSWORD_TIME_COST (2): argon2id's
  cost. Production refuses anything below OWASP's advice; tests use cheaper values.
- HEITJE_API_DEVICE_SESSION_DAYS (90): how long "stay signed in on this device" lasts since
  the device was last used (api/devices.py); 0 switches the option off.
- HEITJE_API_PUBLIC_URL: the address people open the web app at (e.g.
  https://heitje.heerlen.nl); wallet sign-in messages name its host, so a wallet can warn
  when another site shows them. Without it, the host the request was sent to is used.

Own wallets (api/routes/wallet.py, api/payment_index.py):

- HEITJE_API_PUBLIC_RPC_URL: the JSON-RPC address of the municipality's network that
  residents' own wallets (MetaMask, Rainbow, ...) use, e.g. https://rpc.heitje.heerlen.nl;
  the app offers to add the network to a wallet with it (EIP-3085). It must be reachable from
  people's phones, so it is usually not the service's own node address. In development it
  defaults to the chain the service uses; in production, unset, the app offers no "add the
  network" button and says to ask the municipality.
- HEITJE_API_CHAIN_NAME ("Heitje"): the network's name a wallet shows.
The Heitje card (api/routes/cards.py):

- HEITJE_API_CARD_DAILY_LIMIT (default 50.00): how much a resident may pay with the card per
  day (Amsterdam time), in euros; payments in the app do not count.
- HEITJE_API_CARD_PIN_TRIES (3): wrong PINs in a row after which a card is locked until the
  desk unlocks it.
- HEITJE_API_LIMIT_CARD_TILL (20/900): card payments tried (with a wrong PIN or an unknown
  card number) per shop's till in a window of seconds; a right PIN is not counted.

Money and the chain (api/routes/payments.py, api/payouts.py, api/settle.py, api/reconcile.py):

- HEITJE_API_RECEIPT_WAIT (10): seconds a payment, refund or exchange waits for the chain to
  mine it; after that the answer is `sending` (not confirmed yet) and the app asks again with
  the same request_id.
- HEITJE_API_SETTLE_AFTER (120): seconds after which a payment or refund still `sending` is
  settled from the chain; failed (nothing moved) only from then on, when no request can still
  be sending it. Keep it well above HEITJE_API_RECEIPT_WAIT.
- HEITJE_API_RECONCILE_INTERVAL (15): seconds between two checks of the paid records
  against the chain (whether it lost blocks the service has seen).

The public pages (api/public.py, api/routes/public.py):

- HEITJE_API_PUBLIC_CACHE_SECONDS (60): the public ledger page's figures are computed (an
  audit of the whole chain) at most once per this many seconds, and after that only when the
  chain has a new final block.
The web app's look (api/brand.py):

- HEITJE_API_MUNICIPALITY_NAME (Gemeente Heerlen): shown in the app's header and the
  installed app's name.
- HEITJE_API_BRAND_COLOUR (#0b4f8a): the header's and buttons' colour, under white text; a
  colour with less than 4.5:1 contrast with white (WCAG AA) is refused at start-up.
- HEITJE_API_BRAND_LOGO: a PNG or SVG file (at most 256 KB) shown in the header instead of
  the Heitje icon.

Also read here:

- HEITJE_API_WRITE_CONCURRENCY (4): how many requests that change something (payments,
  approvals, sign-ups, ...) do their work at once; the others wait their turn, and a request
  waiting for the chain gives its turn up meanwhile. Reads never wait for it. More is not
  faster: the service is one Python process, and a burst of writers in line for the
  interpreter slowed every read (`api.gate`). 0 switches the limit off.
- HEITJE_API_MAX_BODY_BYTES: the largest request body, in bytes (default 1048576, 1 MB); a
  photo upload has its own limit (8 MB and the form around it). See `api.middleware`.
- HEITJE_API_BEHIND_TLS: `yes` when the service is reached over HTTPS only (directly or
  through a proxy that ends TLS): every answer then carries HSTS
  (`Strict-Transport-Security`), so browsers never use plain HTTP for it again. Default `no`
  (a plain-HTTP service on 127.0.0.1, as in `make demo`, must not send it).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.brand import (
    DEFAULT_COLOUR,
    DEFAULT_NAME,
    Brand,
    brand_colour_problem,
    parse_colour,
    read_logo,
)
from api.limits import Limit
from heitje_chain.amounts import parse_eur
from heitje_chain.config import Config, load_config
from heitje_chain.errors import ConfigError

# Development defaults, refused in production (`load_settings`).
DEV_SECRET = "development-only-secret-do-not-use-in-production"  # noqa: S105
DEV_WALLET_PASSWORD = "development-only-wallet-password"  # noqa: S105
DEV_ADMIN_PASSWORD = "development-admin"  # noqa: S105


# Default limits (see the module's docstring).
LOGIN_ACCOUNT = Limit(5, 900)
LOGIN_ADDRESS = Limit(30, 900)
CHALLENGES = Limit(30, 600)
SIGNUPS = Limit(30, 3600)
RESETS = Limit(10, 900)
CARD_TILL = Limit(20, 900)
VERIFY = Limit(120, 600)


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
    #: seconds a payment, refund or exchange waits for the chain to mine it (without
    #: progress) before the answer says it is still being sent (the app asks again)
    receipt_wait: float = 10.0
    limit_login_account: Limit = LOGIN_ACCOUNT
    limit_login_address: Limit = LOGIN_ADDRESS
    limit_challenges: Limit = CHALLENGES
    limit_signups: Limit = SIGNUPS
    limit_resets: Limit = RESETS
    limit_verify: Limit = VERIFY
    reset_code_hours: int = 72
    reset_code_tries: int = 5
    password_memory_kib: int = 19456
    password_time_cost: int = 2
    public_url: str | None = None
    #: the JSON-RPC address people's own wallets use for the municipality's network
    public_rpc_url: str | None = None
    #: the network's name a wallet shows
    chain_name: str = "Heitje"
    #: what a resident may pay with the Heitje card per day, in cents
    card_daily_limit: int = 50_00
    #: writing requests at work at once (api.gate); 0: no limit
    write_concurrency: int = 4
    #: wrong PINs in a row that lock a card
    card_pin_tries: int = 3
    limit_card_till: Limit = CARD_TILL
    #: the largest request body in bytes (a photo upload has its own, larger limit)
    max_body_bytes: int = 1024 * 1024
    #: reached over HTTPS only: send HSTS
    behind_tls: bool = False
    #: seconds the public ledger page's figures are kept before the chain is asked again
    public_cache_seconds: float = 60.0
    #: days a "stay signed in on this device" session lasts since its last use (0: off)
    device_session_days: int = 90
    brand: Brand = dataclasses.field(default_factory=Brand)

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

    try:
        max_body = int(env.get("HEITJE_API_MAX_BODY_BYTES", str(1024 * 1024)))
    except ValueError:
        raise ConfigError("HEITJE_API_MAX_BODY_BYTES must be a whole number of bytes") from None
    if max_body < 1024:
        raise ConfigError("HEITJE_API_MAX_BODY_BYTES must be at least 1024 bytes")
    tls = env.get("HEITJE_API_BEHIND_TLS", "no").strip().lower()
    if tls not in ("yes", "no", "on", "off", "1", "0", "true", "false"):
        raise ConfigError("HEITJE_API_BEHIND_TLS must be yes or no")
    iterations = env.get("HEITJE_API_WALLET_KDF_ITERATIONS")
    hoods = [n.strip() for n in env.get("HEITJE_API_NEIGHBOURHOODS", "").split(",") if n.strip()]
    if any(len(n) > 64 for n in hoods):
        raise ConfigError(
            "HEITJE_API_NEIGHBOURHOODS: a neighbourhood's name is at most 64 characters"
        )
    accounts = _account_settings(env, development)
    days = env.get("HEITJE_API_DEVICE_SESSION_DAYS", "90").strip()
    if not (days.isdigit() and int(days) <= 3650):
        raise ConfigError("HEITJE_API_DEVICE_SESSION_DAYS must be a whole number of days (0-3650)")
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
        receipt_wait=seconds("HEITJE_API_RECEIPT_WAIT", 10.0),
        public_cache_seconds=seconds("HEITJE_API_PUBLIC_CACHE_SECONDS", 60.0),
        **accounts,
        max_body_bytes=max_body,
        behind_tls=tls in ("yes", "on", "1", "true"),
        device_session_days=int(days),
        brand=_brand(env),
    )


def _brand(env: Mapping[str, str]) -> Brand:
    name = " ".join(env.get("HEITJE_API_MUNICIPALITY_NAME", "").split()) or DEFAULT_NAME
    if len(name) > 60 or any(not c.isprintable() for c in name):
        raise ConfigError(
            "HEITJE_API_MUNICIPALITY_NAME: at most 60 characters, without control characters"
        )
    try:
        colour = parse_colour(env.get("HEITJE_API_BRAND_COLOUR", "") or DEFAULT_COLOUR)
    except ValueError as exc:
        raise ConfigError(f"HEITJE_API_BRAND_COLOUR: {exc}") from None
    problem = brand_colour_problem(colour)
    if problem:
        raise ConfigError(f"HEITJE_API_BRAND_COLOUR: {problem}")
    logo_path = env.get("HEITJE_API_BRAND_LOGO", "").strip()
    try:
        logo = read_logo(Path(logo_path).expanduser()) if logo_path else None
    except ValueError as exc:
        raise ConfigError(f"HEITJE_API_BRAND_LOGO: {exc}") from None
    return Brand(municipality=name, colour=colour, logo=logo)


_LIMITS = {
    "limit_login_account": ("HEITJE_API_LIMIT_LOGIN_ACCOUNT", LOGIN_ACCOUNT),
    "limit_login_address": ("HEITJE_API_LIMIT_LOGIN_ADDRESS", LOGIN_ADDRESS),
    "limit_challenges": ("HEITJE_API_LIMIT_CHALLENGES", CHALLENGES),
    "limit_signups": ("HEITJE_API_LIMIT_SIGNUPS", SIGNUPS),
    "limit_resets": ("HEITJE_API_LIMIT_RESETS", RESETS),
    "limit_card_till": ("HEITJE_API_LIMIT_CARD_TILL", CARD_TILL),
    "limit_verify": ("HEITJE_API_LIMIT_VERIFY", VERIFY),
}


def _account_settings(env: Mapping[str, str], development: bool) -> dict[str, Any]:
    from api.security import strong_enough

    values: dict[str, Any] = {}
    for field, (name, default) in _LIMITS.items():
        try:
            values[field] = Limit.parse(env[name]) if env.get(name) else default
        except ValueError as exc:
            raise ConfigError(f"{name}: {exc}") from None
    numbers = {
        "reset_code_hours": ("HEITJE_API_RESET_CODE_HOURS", 72),
        "reset_code_tries": ("HEITJE_API_RESET_CODE_TRIES", 5),
        "password_memory_kib": ("HEITJE_API_PASSWORD_MEMORY_KIB", 19456),
        "password_time_cost": ("HEITJE_API_PASSWORD_TIME_COST", 2),
        "card_pin_tries": ("HEITJE_API_CARD_PIN_TRIES", 3),
    }
    for field, (name, fallback) in numbers.items():
        raw = env.get(name, "")
        if raw and not (raw.strip().isdigit() and int(raw) >= 1):
            raise ConfigError(f"{name} must be a whole number of 1 or more")
        values[field] = int(raw) if raw else fallback
    if values["password_memory_kib"] < 8:
        raise ConfigError("HEITJE_API_PASSWORD_MEMORY_KIB must be at least 8")
    if not development and not strong_enough(
        values["password_memory_kib"], values["password_time_cost"]
    ):
        raise ConfigError(
            "HEITJE_API_PASSWORD_MEMORY_KIB and HEITJE_API_PASSWORD_TIME_COST are below "
            "OWASP's advice for argon2id (e.g. 19456 KiB and 2 passes): cheaper values are "
            "for tests only"
        )
    raw = env.get("HEITJE_API_WRITE_CONCURRENCY", "").strip()
    if raw and not raw.isdigit():
        raise ConfigError("HEITJE_API_WRITE_CONCURRENCY must be a whole number (0: no limit)")
    values["write_concurrency"] = int(raw) if raw else 4
    limit = env.get("HEITJE_API_CARD_DAILY_LIMIT", "").strip()
    try:
        values["card_daily_limit"] = parse_eur(limit) if limit else 50_00
    except ValueError as exc:
        raise ConfigError(f"HEITJE_API_CARD_DAILY_LIMIT: {exc}") from None
    public = env.get("HEITJE_API_PUBLIC_URL", "").strip().rstrip("/")
    if public and not public.startswith(("https://", "http://")):
        raise ConfigError("HEITJE_API_PUBLIC_URL must start with https:// (or http://)")
    values["public_url"] = public or None
    rpc = env.get("HEITJE_API_PUBLIC_RPC_URL", "").strip()
    if rpc and not rpc.startswith(("https://", "http://")):
        raise ConfigError("HEITJE_API_PUBLIC_RPC_URL must start with https:// (or http://)")
    values["public_rpc_url"] = rpc or None
    name = env.get("HEITJE_API_CHAIN_NAME", "Heitje").strip()
    if not 1 <= len(name) <= 64 or not name.isprintable():
        raise ConfigError("HEITJE_API_CHAIN_NAME must be 1 to 64 printable characters")
    values["chain_name"] = name
    return values
