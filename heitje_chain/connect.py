"""From configuration to a working client: reach the chain, check it, find the contract."""

from __future__ import annotations

from heitje_chain.client import HeitjeClient
from heitje_chain.config import Config
from heitje_chain.errors import ChainUnavailable, ConfigError
from heitje_chain.health import HealthSettings
from heitje_chain.rpc import Rpc


def connect_rpc(config: Config) -> Rpc:
    """The chain's RPC, checked: it answers, and it is the configured chain. With several
    endpoints, their health is checked in the background (`[chain] health_interval`)."""
    health = HealthSettings(
        interval=config.health_interval,
        stall_periods=config.stall_periods,
        block_period=config.block_period,
        return_lag=config.return_lag,
    )
    rpc = Rpc(config.urls, timeout=config.timeout, health=health)
    try:
        chain_id = rpc.chain_id()
    except ChainUnavailable:
        if config.embedded:
            raise ChainUnavailable(
                f"the embedded chain is not running at {config.urls[0]}: start it with "
                "`heitje chain up`"
            ) from None
        raise
    if config.chain_id is not None and chain_id != config.chain_id:
        raise ConfigError(
            f"the RPC endpoint {rpc.url} serves chain {chain_id}, but chain {config.chain_id} is "
            "configured: wrong endpoint, or the deployment record belongs to another chain"
        )
    rpc.gas_price = config.gas_price
    return rpc


def connect(config: Config) -> HeitjeClient:
    """A client for the configured contract, after checking chain and contract."""
    address = config.require_contract()
    rpc = connect_rpc(config)
    client = HeitjeClient(
        rpc, address, chain_id=config.chain_id, deployment_block=config.deployment_block
    )
    client.tx.fallback_gas = config.gas_limit
    client.log_range = config.log_range
    client.confirmations = config.final_depth
    # A transaction whose nonce another process took is signed again once that one is final.
    client.tx.final_depth = config.final_depth
    return client
