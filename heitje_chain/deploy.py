"""Deploying the Heitje token and handing out its roles."""

from __future__ import annotations

from collections.abc import Mapping

from eth_abi import encode as abi_encode

from heitje_chain.artifacts import Artifact, load_artifact
from heitje_chain.client import HeitjeClient
from heitje_chain.config import Deployment
from heitje_chain.errors import ConfigError, ErrorDecoder
from heitje_chain.keys import Signer, check_address
from heitje_chain.rpc import Rpc
from heitje_chain.tx import Transactor

#: Seconds a default-admin handover must wait before the new admin can accept it.
DEFAULT_ADMIN_DELAY = 2 * 24 * 60 * 60

#: Which on-chain role each of the municipality's keys gets at deployment.
ROLE_OF_KEY = {
    "job-office": "minter",
    "partner": "minter",
    "merchant-manager": "merchant-manager",
    "treasurer": "treasurer",
    "pauser": "pauser",
    "recovery": "recovery",
}


def deploy(
    rpc: Rpc,
    admin: Signer,
    *,
    name: str = "Heerlens Heitje",
    symbol: str = "HEITJE",
    admin_delay: int = DEFAULT_ADMIN_DELAY,
    artifact: Artifact | None = None,
    transactor: Transactor | None = None,
) -> tuple[HeitjeClient, Deployment]:
    """Deploy the token with `admin` as its default admin; returns the client and the record
    to save (chain id, address, deployment block)."""
    if not name.strip() or not symbol.strip():
        raise ConfigError("the token needs a name and a symbol")
    if not 0 <= admin_delay < 2**48:
        raise ConfigError("the admin handover delay must be 0 or more seconds")
    artifact = artifact or load_artifact()
    chain_id = rpc.chain_id()
    tx = transactor or Transactor(rpc, chain_id, ErrorDecoder(artifact.abi))
    args = abi_encode(
        ["string", "string", "uint48", "address"], [name, symbol, admin_delay, admin.address]
    )
    pending = tx.send(admin, None, artifact.bytecode + args.hex(), description="deploy Heitje")
    receipt = tx.wait(pending)
    raw = rpc.call("eth_getTransactionReceipt", [receipt.tx_hash])
    address = check_address(raw["contractAddress"], "deployed contract")
    deployment = Deployment(
        chain_id=chain_id,
        address=address,
        block=receipt.block_number,
        name=name,
        symbol=symbol,
        tx_hash=receipt.tx_hash,
    )
    client = HeitjeClient(
        rpc, address, artifact=artifact, transactor=tx, deployment_block=receipt.block_number
    )
    return client, deployment


def check_role_holders(holders: Mapping[str, str]) -> None:
    """Every role's key must be its own: refuse two roles on one address (before deploying)."""
    seen: dict[str, str] = {}
    for key, address in holders.items():
        checked = check_address(address, key)
        if checked in seen:
            raise ConfigError(
                f"the keys {seen[checked]!r} and {key!r} are the same account ({checked}); "
                "every role must have its own key"
            )
        seen[checked] = key


def grant_roles(client: HeitjeClient, admin: Signer, holders: Mapping[str, str]) -> dict[str, str]:
    """Grant each key its role (`ROLE_OF_KEY`); `holders` maps key name -> address. Returns
    key name -> role granted. Keys that already hold their role are left alone."""
    check_role_holders(holders)
    granted: dict[str, str] = {}
    for key, address in holders.items():
        role = ROLE_OF_KEY.get(key)
        if role is None:
            continue
        if not client.has_role(role, address):
            client.grant_role(admin, role, address)
        granted[key] = role
    return granted
