"""What a resident's own wallet needs (public, no sign-in): the municipality's network and the
Heitje token, so the app can add them to a wallet (EIP-3085 `wallet_addEthereumChain`, EIP-747
`wallet_watchAsset`) and the till can write an EIP-681 payment request a wallet pays."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ChainDep, SettingsDep
from api.schemas import WalletNetwork

router = APIRouter(prefix="/wallet", tags=["wallet"])

#: The token's decimals: one unit is one cent (fixed in the contract).
DECIMALS = 2


@router.get("/network", response_model=WalletNetwork)
def network(chain: ChainDep, settings: SettingsDep) -> WalletNetwork:
    """The network and the token, for residents' own wallets. `rpc_url` is the public
    JSON-RPC address (HEITJE_API_PUBLIC_RPC_URL; in development the service's own chain)."""
    client = chain.client
    chain_id = settings.chain.chain_id or client.chain_id
    name, symbol = chain.token_names()
    rpc = settings.public_rpc_url
    if rpc is None and settings.development:
        rpc = settings.chain.urls[0]
    return WalletNetwork(
        chain_id=chain_id,
        chain_id_hex=hex(chain_id),
        chain_name=settings.chain_name,
        rpc_url=rpc,
        token=client.address,
        symbol=symbol,
        name=name,
        decimals=DECIMALS,
    )
