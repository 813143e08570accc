"""Deploy the Heitje token and give every role to its own account.

    brownie run scripts/deploy.py --network <network>

On the embedded chain (a development network: brownie launches anvil) the roles go to the
local unlocked accounts[0..6]. On a live network every role comes from one of brownie's
encrypted keystores (`brownie accounts new <name>`), named by an environment variable:

    HEITJE_ADMIN_ACCOUNT             default admin (the municipality)
    HEITJE_JOB_OFFICE_ACCOUNT        minter: the municipality's job office
    HEITJE_PARTNER_ACCOUNT           minter: a partner organisation
    HEITJE_MERCHANT_MANAGER_ACCOUNT  merchant whitelist
    HEITJE_TREASURER_ACCOUNT         euro payouts of redemptions
    HEITJE_PAUSER_ACCOUNT            pause / unpause
    HEITJE_RECOVERY_ACCOUNT          lost-wallet recovery

brownie asks for each keystore's password. No private key is ever printed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import TypeAlias

from brownie import Heitje, accounts, network, rpc
from brownie.network.account import Account, LocalAccount
from brownie.network.contract import ProjectContract

Signer: TypeAlias = Account | LocalAccount

#: Seconds a default-admin handover must wait before the new admin can accept it.
DEFAULT_ADMIN_DELAY = 2 * 24 * 60 * 60


@dataclass(frozen=True)
class HeitjeRoles:
    """The accounts that hold Heitje's roles; each a different key."""

    admin: Signer  # default admin: grants roles, sets budgets and the yearly cap
    job_office: Signer  # MINTER_ROLE: the municipality's job office
    partner: Signer  # MINTER_ROLE: a partner organisation, with its own budget
    merchant_manager: Signer  # MERCHANT_MANAGER_ROLE
    treasurer: Signer  # TREASURER_ROLE
    pauser: Signer  # PAUSER_ROLE
    recovery: Signer  # RECOVERY_ROLE

    def items(self) -> Iterator[tuple[str, Signer]]:
        for field in fields(self):
            yield field.name, getattr(self, field.name)

    def check_distinct(self) -> None:
        seen: dict[str, str] = {}
        for name, account in self.items():
            address = str(account.address)
            if address in seen:
                raise ValueError(
                    f"roles {seen[address]!r} and {name!r} share account {address}; "
                    "every role must have its own key"
                )
            seen[address] = name


#: role field -> (environment variable naming the keystore, on-chain role constant or None
#: for the default admin, plain description)
ROLE_INFO: dict[str, tuple[str, str | None, str]] = {
    "admin": ("HEITJE_ADMIN_ACCOUNT", None, "default admin (municipality)"),
    "job_office": ("HEITJE_JOB_OFFICE_ACCOUNT", "MINTER_ROLE", "minter: municipal job office"),
    "partner": ("HEITJE_PARTNER_ACCOUNT", "MINTER_ROLE", "minter: partner organisation"),
    "merchant_manager": (
        "HEITJE_MERCHANT_MANAGER_ACCOUNT",
        "MERCHANT_MANAGER_ROLE",
        "merchant manager",
    ),
    "treasurer": ("HEITJE_TREASURER_ACCOUNT", "TREASURER_ROLE", "treasurer"),
    "pauser": ("HEITJE_PAUSER_ACCOUNT", "PAUSER_ROLE", "pauser"),
    "recovery": ("HEITJE_RECOVERY_ACCOUNT", "RECOVERY_ROLE", "wallet recovery"),
}


class MissingRoleAccountError(RuntimeError):
    """A live deployment lacks the keystore name (or the keystore) for a role."""


def is_embedded_chain() -> bool:
    """True on a development network (a local chain brownie launched or attached to)."""
    return rpc.is_active()


def local_roles() -> HeitjeRoles:
    """The roles on the embedded chain: the local unlocked accounts[0..6]."""
    needed = len(ROLE_INFO)
    if len(accounts) < needed:
        raise MissingRoleAccountError(
            f"the local chain has {len(accounts)} unlocked accounts; {needed} are needed"
        )
    return HeitjeRoles(*(accounts[i] for i in range(needed)))


def keystore_roles(environ: dict[str, str] | None = None) -> HeitjeRoles:
    """The roles on a live network: brownie keystores named by HEITJE_*_ACCOUNT variables."""
    env = dict(os.environ if environ is None else environ)
    missing = [var for var, _, _ in ROLE_INFO.values() if not env.get(var, "").strip()]
    if missing:
        lines = "\n".join(
            f"  {var:<33} {desc}" for var, _, desc in ROLE_INFO.values() if var in missing
        )
        raise MissingRoleAccountError(
            "On a live network every role needs its own brownie keystore "
            "(create one with `brownie accounts new <name>`).\n"
            f"Set these environment variables to the keystore names:\n{lines}"
        )
    loaded: dict[str, Signer] = {}
    for role, (var, _, _) in ROLE_INFO.items():
        name = env[var].strip()
        try:
            loaded[role] = accounts.load(name)
        except FileNotFoundError as exc:
            raise MissingRoleAccountError(
                f"{var}={name!r}: no brownie keystore of that name ({exc})"
            ) from None
    return HeitjeRoles(**loaded)


def default_roles() -> HeitjeRoles:
    return local_roles() if is_embedded_chain() else keystore_roles()


def deploy_heitje(
    name: str = "Heerlens Heitje",
    symbol: str = "HEITJE",
    admin_delay: int = DEFAULT_ADMIN_DELAY,
    roles: HeitjeRoles | None = None,
    job_office_budget: int | None = None,
    partner_budget: int | None = None,
    silent: bool = False,
) -> tuple[ProjectContract, HeitjeRoles]:
    """Deploy Heitje from the admin account and grant every other role to its own account.

    Budgets (mint allowances) are in cents and are set only when given.
    Returns the deployed contract and the role accounts.
    """
    roles = roles if roles is not None else default_roles()
    roles.check_distinct()
    admin = roles.admin
    tx = {"from": admin}

    token: ProjectContract = Heitje.deploy(name, symbol, admin_delay, admin, tx, silent=silent)
    for role, (_, constant, _) in ROLE_INFO.items():
        if constant is None:
            continue  # the default admin was set in the constructor
        role_id = getattr(token, constant)()
        token.grantRole(role_id, getattr(roles, role), tx, silent=silent)
    if job_office_budget is not None:
        token.setMintAllowance(roles.job_office, job_office_budget, tx, silent=silent)
    if partner_budget is not None:
        token.setMintAllowance(roles.partner, partner_budget, tx, silent=silent)
    return token, roles


def describe_roles(token: ProjectContract, roles: HeitjeRoles) -> list[str]:
    """One line per role, read back from the chain: who holds it, and that it is held."""
    lines = []
    for role, (_, constant, desc) in ROLE_INFO.items():
        account = getattr(roles, role)
        if constant is None:
            held = token.defaultAdmin() == account.address
            label = "DEFAULT_ADMIN_ROLE"
        else:
            held = token.hasRole(getattr(token, constant)(), account)
            label = constant
        status = "ok" if held else "NOT HELD"
        lines.append(f"  {label:<22} {desc:<30} {account.address}  [{status}]")
    return lines


def main() -> None:
    token, roles = deploy_heitje()
    print()
    print(f"Heitje deployed on network {network.show_active()!r} at {token.address}")
    print(f"  token: {token.name()} ({token.symbol()}), {token.decimals()} decimals")
    print(f"  default-admin handover delay: {token.defaultAdminDelay()} s")
    print(f"  yearly earnings cap per resident: {token.yearlyCap()} cents")
    print("Roles:")
    lines = describe_roles(token, roles)
    for line in lines:
        print(line)
    if any(line.endswith("[NOT HELD]") for line in lines):
        raise RuntimeError("a role was not granted as intended")
