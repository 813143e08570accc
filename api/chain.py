"""The service's access to the chain: the Heitje client, the municipality's role keys and
the custodial wallets of residents and merchants who do not bring their own."""

from __future__ import annotations

import threading
from collections.abc import Callable

from api.settings import Settings
from heitje_chain.client import HeitjeClient
from heitje_chain.connect import connect
from heitje_chain.errors import ConfigError
from heitje_chain.keys import KeyStore, LocalSigner, env_password, password_variable
from heitje_chain.network import allow_on_nodes


class ChainAccess:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.keys = KeyStore(settings.chain.keystore_dir)
        self.wallets = KeyStore(
            settings.wallet_dir,
            kdf="scrypt" if settings.wallet_kdf_iterations is None else "pbkdf2",
            iterations=settings.wallet_kdf_iterations,
        )
        self._client: HeitjeClient | None = None
        self._signers: dict[str, LocalSigner] = {}
        self._token: tuple[str, str, str] | None = None  # contract address, name, symbol
        self._lock = threading.Lock()  # guards the two dicts and the client; held briefly
        self._opening: dict[str, threading.Lock] = {}  # one decryption per key at a time
        # A keystore opens with scrypt (256 MB of memory each, about a second of CPU) or
        # PBKDF2: at most two at once, and never under self._lock, so one resident's first
        # payment does not hold up every other request that needs the chain.
        self._decrypts = threading.BoundedSemaphore(2)

    @property
    def client(self) -> HeitjeClient:
        """The contract client, connected on first use (and again after a failure)."""
        with self._lock:
            if self._client is None:
                self._client = connect(self.settings.chain)
            return self._client

    def token_names(self) -> tuple[str, str]:
        """The token's name and symbol, read from the contract once."""
        client = self.client
        known = self._token
        if known is None or known[0] != client.address:
            known = self._token = (client.address, client.name(), client.symbol())
        return known[1], known[2]

    def role_signer(self, key: str) -> LocalSigner:
        """One of the municipality's role keys (job office, merchant manager, treasurer,
        recovery, a partner's minter key), decrypted once and kept in memory."""
        name = self.settings.chain.key_name(key)

        def load() -> LocalSigner:
            password = env_password(name)
            if password is None:
                raise ConfigError(
                    f"the service needs the password of key {name!r}: set "
                    f"{password_variable(name)} (or HEITJE_PASSWORD)"
                )
            return self.keys.load(name, password)

        return self._signer(name, load)

    def _signer(self, name: str, load: Callable[[], LocalSigner]) -> LocalSigner:
        """The signer `name` from memory, or `load()`ed once: parallel requests for the same
        key wait for one decryption; requests for other keys (and for the client) do not."""
        with self._lock:
            signer = self._signers.get(name)
            if signer is not None:
                return signer
            opening = self._opening.setdefault(name, threading.Lock())
        with opening:
            with self._lock:
                signer = self._signers.get(name)
            if signer is None:
                with self._decrypts:
                    signer = load()
                with self._lock:
                    self._signers[name] = signer
                    self._opening.pop(name, None)
            return signer

    def new_wallet(self) -> str:
        """A new custodial wallet, stored encrypted under its own address; its address. On a
        network whose nodes accept only listed senders it is listed on every node first."""
        signer = LocalSigner.create()
        if self.settings.chain.account_allowlist:
            allow_on_nodes(self.settings.chain.urls, [signer.address], self.settings.chain.timeout)
        self.wallets.store(signer.address, signer, self.settings.wallet_password)
        with self._lock:
            self._signers[signer.address] = signer
        return signer.address

    def wallet(self, address: str) -> LocalSigner:
        """The signer of a custodial wallet (decrypted once, then kept in memory)."""
        return self._signer(
            address, lambda: self.wallets.load(address, self.settings.wallet_password)
        )
