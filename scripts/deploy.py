"""Deploy the Heitje token and give every role to its own account.

    brownie run scripts/deploy.py --network <network>

A thin brownie front end to the runtime library: the deployment, the role grants and the
budgets are `heitje_chain.deploy.deploy`, `grant_roles` and `HeitjeClient.set_mint_allowance`,
sent over brownie's active network (`Rpc(web3.provider.endpoint_uri)`). The contract deployed
is the one brownie compiled from `contracts/`.

On the embedded chain (a development network: brownie launches or attaches to anvil) the roles
go to fresh keys made for this run and kept in memory only (gas is free there, so they need no
ETH; no key is stored in the repository). On a live network every role comes from one of
brownie's encrypted keystores (`brownie accounts new <name>`), named by an environment variable:

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
from dataclasses import dataclass, fields, replace

from brownie import Heitje, accounts, chain, network, rpc, web3
from brownie.network.contract import ProjectContract
from eth_account import Account as EthAccount

from heitje_chain.artifacts import Artifact, artifact_from_build, load_artifact
from heitje_chain.client import ROLES, HeitjeClient
from heitje_chain.deploy import DEFAULT_ADMIN_DELAY, ROLE_OF_KEY, deploy, grant_roles
from heitje_chain.keys import LocalSigner, Signer
from heitje_chain.rpc import Rpc

__all__ = ["DEFAULT_ADMIN_DELAY", "HeitjeRoles", "Signer", "deploy_heitje", "heitje_client"]


@dataclass(frozen=True)
class HeitjeRoles:
    """The heitje_chain signers that hold Heitje's roles; each a different key."""

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

    def holders(self) -> dict[str, str]:
        """heitje_chain key name ('job-office', ...) -> address, as `grant_roles` takes it."""
        return {key_name(role): str(signer.address) for role, signer in self.items()}

    def check_distinct(self) -> None:
        """Before anything is deployed: every role has its own key."""
        seen: dict[str, str] = {}
        for name, signer in self.items():
            address = str(signer.address)
            if address in seen:
                raise ValueError(
                    f"roles {seen[address]!r} and {name!r} share account {address}; "
                    "every role must have its own key"
                )
            seen[address] = name


#: role field -> (environment variable naming the brownie keystore, plain description)
ROLE_INFO: dict[str, tuple[str, str]] = {
    "admin": ("HEITJE_ADMIN_ACCOUNT", "default admin (municipality)"),
    "job_office": ("HEITJE_JOB_OFFICE_ACCOUNT", "minter: municipal job office"),
    "partner": ("HEITJE_PARTNER_ACCOUNT", "minter: partner organisation"),
    "merchant_manager": ("HEITJE_MERCHANT_MANAGER_ACCOUNT", "merchant manager"),
    "treasurer": ("HEITJE_TREASURER_ACCOUNT", "treasurer"),
    "pauser": ("HEITJE_PAUSER_ACCOUNT", "pauser"),
    "recovery": ("HEITJE_RECOVERY_ACCOUNT", "wallet recovery"),
}


def key_name(role: str) -> str:
    """The heitje_chain key name of a role field: 'job_office' -> 'job-office'."""
    return role.replace("_", "-")


class MissingRoleAccountError(RuntimeError):
    """A live deployment lacks the keystore name (or the keystore) for a role."""


def is_embedded_chain() -> bool:
    """True on a development network (a local chain brownie launched or attached to)."""
    return rpc.is_active()


def connect_rpc() -> Rpc:
    """heitje_chain's RPC on brownie's active network."""
    return Rpc(web3.provider.endpoint_uri)


def dev_signer(name: str = "") -> LocalSigner:
    """A fresh key for the embedded chain, kept in memory for this run only."""
    return LocalSigner.create(name)


def local_roles() -> HeitjeRoles:
    """The roles on the embedded chain: a fresh key per role, for this run."""
    return HeitjeRoles(*(dev_signer(role) for role in ROLE_INFO))


def keystore_roles(environ: dict[str, str] | None = None) -> HeitjeRoles:
    """The roles on a live network: brownie keystores named by HEITJE_*_ACCOUNT variables,
    as heitje_chain signers (the decrypted key stays in memory; it is never shown)."""
    env = dict(os.environ if environ is None else environ)
    missing = [var for var, _ in ROLE_INFO.values() if not env.get(var, "").strip()]
    if missing:
        lines = "\n".join(
            f"  {var:<33} {desc}" for var, desc in ROLE_INFO.values() if var in missing
        )
        raise MissingRoleAccountError(
            "On a live network every role needs its own brownie keystore "
            "(create one with `brownie accounts new <name>`).\n"
            f"Set these environment variables to the keystore names:\n{lines}"
        )
    loaded: dict[str, Signer] = {}
    for role, (var, _) in ROLE_INFO.items():
        name = env[var].strip()
        try:
            account = accounts.load(name)
        except FileNotFoundError as exc:
            raise MissingRoleAccountError(
                f"{var}={name!r}: no brownie keystore of that name ({exc})"
            ) from None
        loaded[role] = LocalSigner(EthAccount.from_key(account.private_key), key_name(role))
    return HeitjeRoles(**loaded)


def default_roles() -> HeitjeRoles:
    return local_roles() if is_embedded_chain() else keystore_roles()


def project_artifact() -> Artifact:
    """The contract as brownie compiled it from `contracts/` rather than the copy shipped in
    heitje_chain/data, so scripts and the gas benchmark run the current source. (Only the ABI
    and the bytecode are replaced: the rest of the record is informational.)"""
    build = artifact_from_build(Heitje._build)
    return replace(load_artifact(), abi=build["abi"], bytecode=build["bytecode"])


def heitje_client(token: ProjectContract) -> HeitjeClient:
    """A heitje_chain client for a Heitje that brownie knows, on brownie's active network."""
    block = token.tx.block_number if token.tx is not None else 0
    return HeitjeClient(
        connect_rpc(), token.address, artifact=project_artifact(), deployment_block=block
    )


def deploy_heitje(
    name: str = "Heerlens Heitje",
    symbol: str = "HEITJE",
    admin_delay: int = DEFAULT_ADMIN_DELAY,
    roles: HeitjeRoles | None = None,
    job_office_budget: int | None = None,
    partner_budget: int | None = None,
    silent: bool = False,
) -> tuple[ProjectContract, HeitjeRoles]:
    """Deploy Heitje from the admin key, grant every other role to its own key and set the
    budgets (mint allowances, in cents) that are given, all through heitje_chain.

    Returns brownie's contract object (on a live network brownie records the deployment) and
    the role signers; `heitje_client(token)` gives the heitje_chain client for it."""
    roles = roles if roles is not None else default_roles()
    roles.check_distinct()
    say = (lambda text: None) if silent else print
    client, deployment = deploy(
        connect_rpc(),
        roles.admin,
        name=name,
        symbol=symbol,
        admin_delay=admin_delay,
        artifact=project_artifact(),
    )
    say(f"Heitje deployed at {deployment.address} (block {deployment.block})")
    for key, role in grant_roles(client, roles.admin, roles.holders()).items():
        say(f"  role {role} held by {key}")
    for minter, budget in ((roles.job_office, job_office_budget), (roles.partner, partner_budget)):
        if budget is not None:
            client.set_mint_allowance(roles.admin, str(minter.address), budget)
            say(f"  budget of {minter.address}: {budget} cents")
    token = Heitje.at(deployment.address, tx=chain.get_transaction(deployment.tx_hash))
    return token, roles


def describe_roles(client: HeitjeClient, roles: HeitjeRoles) -> list[str]:
    """One line per role, read back from the chain: who holds it, and that it is held."""
    lines = []
    for role, signer in roles.items():
        address = str(signer.address)
        desc = ROLE_INFO[role][1]
        chain_role = ROLE_OF_KEY.get(key_name(role))
        if chain_role is None:  # the default admin, set in the constructor
            held = client.default_admin() == address
            label = ROLES["admin"]
        else:
            held = client.has_role(chain_role, address)
            label = ROLES[chain_role]
        status = "ok" if held else "NOT HELD"
        lines.append(f"  {label:<22} {desc:<30} {address}  [{status}]")
    return lines


def main() -> None:
    token, roles = deploy_heitje()
    client = heitje_client(token)
    print()
    print(f"Heitje deployed on network {network.show_active()!r} at {client.address}")
    print(f"  token: {client.name()} ({client.symbol()}), {client.decimals()} decimals")
    print(f"  default-admin handover delay: {client.read('defaultAdminDelay')} s")
    print(f"  yearly earnings cap per resident: {client.yearly_cap()} cents")
    print("Roles:")
    lines = describe_roles(client, roles)
    for line in lines:
        print(line)
    print(
        "For the heitje CLI (scripts/heitje.py): "
        f"HEITJE_CONTRACT={client.address} HEITJE_DEPLOYMENT_BLOCK={client.deployment_block}"
    )
    if any(line.endswith("[NOT HELD]") for line in lines):
        raise RuntimeError("a role was not granted as intended")
