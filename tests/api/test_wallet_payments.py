"""Payments from residents' own wallets, learnt from the chain (api.payment_index): a plain
ERC-20 transfer to a shop is listed once, in the shop's list and the resident's history; a
pay() is never counted twice; a payment the chain forgets is reversed and not indexed again;
two processes indexing at once add each payment once. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from sqlalchemy import func, select
from support.service import People, Service, earn, open_shop, setup_people

from api.models import ChainCursor, Payment
from api.payment_index import PaymentIndex
from heitje_chain.client import job_id
from heitje_chain.keys import LocalSigner


def _own_resident(s: Service, pseudonym: str = "R-own") -> tuple[LocalSigner, dict[str, str]]:
    """A resident with their own wallet, signed in by signing the challenge, with EUR 30."""
    account = Account.create()
    wallet = LocalSigner(account)
    body = {"pseudonym": pseudonym, "neighbourhood": "Musschemig", "wallet": account.address}
    assert s.http.post("/residents", json=body).status_code == 201
    text = s.http.post("/auth/challenge", json={"wallet": account.address}).json()["text"]
    signature = account.sign_message(encode_defunct(text=text)).signature.hex()
    signed = {"message": text, "signature": "0x" + signature.removeprefix("0x")}
    answer = s.http.post("/auth/wallet", json=signed)
    assert answer.status_code == 200, answer.text
    chain = s.app.state.chain
    s.client.reward_job(chain.role_signer("job-office"), f"own-{pseudonym}", account.address, 30_00)
    return wallet, {"Authorization": f"Bearer {answer.json()['token']}"}


def _index(s: Service) -> PaymentIndex:
    index: PaymentIndex = s.app.state.worker.payment_index
    return index


def _rows(s: Service) -> list[tuple[Any, ...]]:
    with s.app.state.db.session() as session:
        return [
            (p.via, p.status, p.cents, p.receipt, p.tx_hash)
            for p in session.scalars(select(Payment).order_by(Payment.id))
        ]


def _world(s: Service) -> tuple[People, dict[str, Any], dict[str, str], LocalSigner, Any]:
    p = setup_people(s)
    earn(s, p, "20")
    shop, merchant = open_shop(s, p)
    wallet, token = _own_resident(s)
    return p, shop, merchant, wallet, token


def test_a_plain_transfer_is_listed_once_and_a_pay_is_not_doubled(service: Service) -> None:
    s = service
    p, shop, merchant, wallet, own = _world(s)
    c = s.client
    # The service's own payment (a kept wallet's pay()), a plain transfer, a transfer with a
    # receipt the wallet appended, and a pay() the own wallet sent itself.
    body = {
        "merchant_code": shop["code"],
        "amount": "4",
        "receipt": "BON-1",
        "request_id": "pay-0001",
    }
    kept = s.call("POST", "/payments", p.resident, 201, json=body)
    plain = c.transact(wallet, "transfer", shop["address"], 2_50)
    data = c.encode("transfer", shop["address"], 1_25) + b"TILL-7".hex()
    tagged = c.result(c.tx.send(wallet, c.address, data, gas=200_000))
    own_pay = c.pay(wallet, shop["address"], 3_00, "BON-OWN")
    spender = LocalSigner.create()  # e.g. a wallet's contract that spends an allowance
    c.transact(wallet, "approve", spender.address, 50)
    pulled = c.transact(spender, "transferFrom", wallet.address, shop["address"], 50)
    assert _index(s).run() == 4
    assert _index(s).run() == 0  # nothing new: nothing added
    assert _rows(s) == [
        ("app", "paid", 4_00, "BON-1", kept["tx_hash"]),
        ("wallet", "paid", 2_50, "", plain.tx_hash),
        ("wallet", "paid", 1_25, "TILL-7", tagged.tx_hash),
        ("wallet", "paid", 3_00, "BON-OWN", own_pay.tx_hash),
        ("wallet", "paid", 50, "", pulled.tx_hash),
    ]
    # The shop's list (and its CSV), newest first, each payment once.
    listed = s.call("GET", "/payments", merchant)
    assert listed["total"] == 5
    assert [(i["amount"]["cents"], i["via"], i["resident"]) for i in listed["items"]] == [
        (50, "wallet", "R-own"), (3_00, "wallet", "R-own"), (1_25, "wallet", "R-own"),
        (2_50, "wallet", "R-own"), (4_00, "app", "R-0001"),
    ]  # fmt: skip
    csv = s.http.get("/payments?format=csv", headers=merchant).text
    assert csv.count(plain.tx_hash) == 1 and csv.count(str(kept["tx_hash"])) == 1
    # The own-wallet resident's history and list: their four, nothing of the other's.
    history = s.call("GET", "/residents/me/history", own)["items"]
    payments = [i for i in history if i["kind"] == "payment"]
    assert sorted(i["amount"]["cents"] for i in payments) == [-3_00, -2_50, -1_25, -50]
    assert any(i["description"].endswith("no receipt, from your own wallet") for i in payments)
    assert s.call("GET", "/payments", own)["total"] == 4
    # What the shop received is what the lists say, each cent once.
    received = sum(i["amount"]["cents"] for i in listed["items"])
    assert c.balance(shop["address"]) == received
    # A wallet payment can be refunded like any other.
    wallet_payment = listed["items"][3]
    before = c.balance(wallet.address)
    s.call("POST", f"/payments/{wallet_payment['id']}/refund", merchant, json={"amount": "1"})
    assert c.balance(wallet.address) == before + 1_00
    # The reconciler confirms the indexed rows like any other.
    s.app.state.worker.reconciler.run()
    with s.app.state.db.session() as session:
        assert all(session.scalars(select(Payment.final)))


def test_a_payment_the_chain_forgets_is_reversed_and_not_indexed_again(service: Service) -> None:
    s = service
    _, shop, merchant, wallet, _ = _world(s)
    c, rpc = s.client, s.client.rpc
    kept = c.transact(wallet, "transfer", shop["address"], 1_00)
    assert _index(s).run() == 1
    reconciler = s.app.state.worker.reconciler
    reconciler.run()
    snapshot = rpc.call("evm_snapshot")
    lost = c.transact(wallet, "transfer", shop["address"], 5_00)
    assert _index(s).run() == 1
    reconciler.run()
    highest = rpc.block_number()
    assert rpc.call("evm_revert", [snapshot]) is True
    for _ in range(highest - rpc.block_number() + 2):
        rpc.call("evm_mine")  # past the old height: only the block hashes tell
    report = reconciler.run()
    assert report.forgot
    assert any("payment" in r and lost.tx_hash in r for r in report.repaired), report.repaired
    assert _index(s).run() == 0  # read again from the start: nothing new, nothing doubled
    rows = _rows(s)
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("wallet", "paid", 1_00),
        ("wallet", "reversed", 5_00),
    ]
    assert rows[0][4] == kept.tx_hash
    with s.app.state.db.session() as session:
        cursor = session.get(ChainCursor, "payments")
        assert cursor is not None and cursor.block_number == rpc.block_number()
    listed = s.call("GET", "/payments", merchant)["items"]
    assert [(i["status"], i["amount"]["cents"]) for i in listed] == [
        ("reversed", 5_00),
        ("paid", 1_00),
    ]
    # Paid again after the forgetting: a new transaction, indexed once.
    again = c.transact(wallet, "transfer", shop["address"], 5_00)
    assert _index(s).run() == 1
    assert _rows(s)[-1][4] == again.tx_hash
    assert c.balance(shop["address"]) == 6_00


def test_a_payment_mined_again_elsewhere_is_listed_once(service: Service) -> None:
    """The chain goes back and mines the very same transaction again, now second in its
    block, so its Transfer has another log index: the indexed row moves with it."""
    s = service
    _, shop, merchant, wallet, _ = _world(s)
    c, rpc = s.client, s.client.rpc
    reconciler = s.app.state.worker.reconciler
    snapshot = rpc.call("evm_snapshot")
    tx = c.tx.send(wallet, c.address, c.encode("transfer", shop["address"], 2_00), gas=200_000)
    first = c.result(tx)
    assert _index(s).run() == 1
    reconciler.run()
    highest = rpc.block_number()
    assert rpc.call("evm_revert", [snapshot]) is True
    # Mined again, after another transaction with logs in the same block (a reward, minted:
    # not a payment).
    rpc.call("evm_setAutomine", [False])
    try:
        office = s.app.state.chain.role_signer("job-office")
        other = c.submit(office, "rewardJob", job_id("remined"), wallet.address, 1_00)
        assert rpc.call("eth_sendRawTransaction", [tx.raw]) == first.tx_hash
        rpc.call("evm_mine")
    finally:
        rpc.call("evm_setAutomine", [True])
    receipt = rpc.call("eth_getTransactionReceipt", [first.tx_hash])
    moved = int(receipt["logs"][0]["logIndex"], 16)
    assert moved > 0 and rpc.call("eth_getTransactionReceipt", [other.hash]) is not None
    for _ in range(highest - rpc.block_number() + 2):
        rpc.call("evm_mine")  # past the old height: only the block hashes tell
    reconciler.run()
    assert _index(s).run() == 0
    with s.app.state.db.session() as session:
        rows = list(session.scalars(select(Payment).where(Payment.via == "wallet")))
        assert [(r.tx_hash, r.log_index, r.status) for r in rows] == [
            (first.tx_hash, moved, "paid")
        ]
        assert rows[0].block_number == int(receipt["blockNumber"], 16)
    assert s.call("GET", "/payments", merchant)["total"] == 1
    reconciler.run()
    with s.app.state.db.session() as session:
        assert session.scalar(select(Payment.final).where(Payment.via == "wallet")) is True


def test_two_processes_indexing_at_once_add_each_payment_once(service: Service) -> None:
    s = service
    _, shop, merchant, wallet, _ = _world(s)
    c = s.client
    sent = [c.transact(wallet, "transfer", shop["address"], 1_00 + i).tx_hash for i in range(6)]
    # Separate indexes, as two API processes have, each run from several threads at once.
    indexes = [PaymentIndex(s.app.state.db, s.app.state.chain) for _ in range(2)]
    added: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def run(index: PaymentIndex) -> None:
        start.wait()
        try:
            for _ in range(3):
                added.append(index.run())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(indexes[i % 2],)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(added) == 6
    with s.app.state.db.session() as session:
        hashes = list(session.scalars(select(Payment.tx_hash).where(Payment.via == "wallet")))
        assert sorted(hashes) == sorted(sent)
        assert session.scalar(select(func.count()).select_from(ChainCursor)) == 1
    assert s.call("GET", "/payments", merchant)["total"] == 6


def test_a_payment_from_an_unknown_wallet_is_counted_not_listed(service: Service) -> None:
    s = service
    _, shop, merchant, _, _ = _world(s)
    stranger = LocalSigner.create()
    chain = s.app.state.chain
    s.client.reward_job(chain.role_signer("job-office"), "stranger", stranger.address, 5_00)
    s.client.transact(stranger, "transfer", shop["address"], 2_00)
    index = _index(s)
    assert index.run() == 0 and index.unknown == 1
    assert s.call("GET", "/payments", merchant)["total"] == 0
    status = s.call("GET", "/status", s.login("admin", "development-admin"))
    assert status["wallet_payments_unlisted"] == 1
    assert status["wallet_payments_read_to"] == s.client.rpc.block_number()


def test_the_network_a_wallet_needs_is_public(service: Service) -> None:
    s = service
    answer = s.http.get("/wallet/network")
    assert answer.status_code == 200, answer.text
    network = answer.json()
    assert network["token"] == s.client.address
    assert network["chain_id"] == s.client.chain_id
    assert network["chain_id_hex"] == hex(s.client.chain_id)
    assert network["decimals"] == 2 and network["symbol"] == s.client.symbol()
    assert network["rpc_url"].startswith("http://127.0.0.1:")  # development: the chain used
    assert network["chain_name"] == "Heitje"
