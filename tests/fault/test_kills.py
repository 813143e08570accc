"""The real service killed in the middle of the work, on SQLite and PostgreSQL:

- the API process gets SIGKILL in the middle of a burst of payments and is started again;
  the clients retry with their request_ids as an app does;
- the embedded chain (anvil) gets SIGKILL in the middle of approvals (the worker minting)
  and payments, just after one of its periodic state writes, so it comes back from that
  state file without the blocks mined since: the service must notice and repair (payments
  it lost `reversed`, rewards back to pending and paid again).

Then the database is reconciled with the chain event by event, and every answer a client
heard is checked against the final state.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

from support.fault import (
    Answer,
    DbReader,
    Recorder,
    Stack,
    World,
    block_hash_problems,
    charge_until_answered,
    contradictions,
    index_problems,
    kill_chain,
    reconcile,
    rewards_settled,
    say,
    wait_for_state_write,
    wait_until,
    with_api_killed,
)

FINAL = ("paid", "failed", "refused", "reversed")
CARD_PIN = "4071"
#: seconds after which the chain test starts no new payment or refund
BURST = 30


def pay_until_answered(
    rec: Recorder,
    who: dict[str, str],
    code: str,
    receipt: str,
    request_id: str,
    timeout: float = 30,
) -> list[Answer]:
    """Pay as an app does: again with the same request_id while there is no answer, a 503
    or a payment still `sending`, until a final answer (bounded)."""
    body = {"merchant_code": code, "amount": "1.00", "receipt": receipt, "request_id": request_id}
    heard = []
    deadline = time.monotonic() + timeout
    while True:
        a = rec.call("pay", "POST", "/payments", who, key=request_id, json=body)
        heard.append(a)
        status = a.body.get("status") if isinstance(a.body, dict) else None
        if a.status is not None and a.status < 500 and status not in (None, "sending"):
            return heard
        if a.status == 409:  # refused: final
            return heard
        if time.monotonic() > deadline:
            return heard
        time.sleep(0.3)


def last_word(heard: list[Answer]) -> Any:
    a = heard[-1]
    if not isinstance(a.body, dict):
        return None
    return a.body.get("status") or a.body.get("error")


def seed(world: World, db: DbReader, residents: int, reward: str) -> tuple[Any, list[Any]]:
    shop = world.shop("Bakkerij Pelzer")
    people = [world.resident(f"K-{i}") for i in range(residents)]
    for person in people:
        world.earn(person, reward)
    wait_until("the worker pays the seed rewards", lambda: rewards_settled(db), 60)
    return shop, people


def test_api_killed_in_a_payment_burst(stack: Stack, rec: Recorder, db: DbReader) -> None:
    problems: list[str] = []
    world = World(rec)
    shop, people = seed(world, db, 5, "30.00")
    heard: dict[str, list[Answer]] = {}
    lock = threading.Lock()

    def client(person: Any, i: int) -> Answer:
        rid = f"kill-api-{person.name}-{i}"
        answers = pay_until_answered(rec, person.headers, shop.code, f"{person.name}-{i}", rid)
        with lock:
            heard[rid] = answers
        return answers[-1]

    calls = [lambda p=p, i=i: client(p, i) for p in people for i in range(5)]
    began = time.monotonic()
    killed = with_api_killed(stack, rec, calls, "pay", after=4, deadline=10)
    say(
        f"25 payments on 10 clients, API killed (SIGKILL) after {killed.get('after')} answers, "
        f"started again in {killed.get('restart', 0):.1f} s; all answered within "
        f"{time.monotonic() - began:.1f} s"
    )
    retried = sum(len(h) > 1 for h in heard.values())
    final = {
        x["request_id"]: x["status"] for x in db.rows("SELECT request_id, status FROM payments")
    }
    say(
        f"{retried} clients asked again; last answers "
        f"{sorted(str(last_word(h)) for h in heard.values())}"
    )
    for rid, answers in heard.items():
        word = last_word(answers)
        if word not in (*FINAL, "payment_refused"):
            problems.append(
                f"payment {rid}: no final answer, last {answers[-1].status} {answers[-1].body}"
            )
        elif word == "paid" and final.get(rid) != "paid":
            problems.append(f"payment {rid}: answered paid, it is {final.get(rid)}")
    wait_until("the worker pays the rewards", lambda: rewards_settled(db), 30)
    check = reconcile(db, stack.client)
    say(str(check))
    problems += check.problems + contradictions(rec, db) + rec.problems()
    say(f"answers: {rec.summary()}")
    assert not problems, "\n".join([f"{len(problems)} problems:", *problems])


#: GET /status (the fixes of issue 12): the chain's head, the highest block the database has
#: seen, whether the chain forgot blocks, and what the reconciler repaired.
STATUS_KEYS = ("chain_head", "highest_block_seen", "chain_forgot", "repaired", "sending")


def status_problems(status: Answer, lost: int) -> list[str]:
    """GET /status must say the chain forgot blocks, or what was repaired, when it did;
    and at the end nothing is still being sent."""
    if status.status != 200 or not isinstance(status.body, dict):
        return [f"GET /status: {status.status} {str(status.body)[:200]}"]
    missing = [k for k in STATUS_KEYS if k not in status.body]
    if missing:
        return [f"GET /status has no {missing}: {status.body}"]
    found = []
    if lost and not (status.body["chain_forgot"] or status.body["repaired"]):
        found.append(f"GET /status says nothing of the {lost} rows the chain forgot: {status.body}")
    if any(status.body["sending"].values()):
        found.append(f"GET /status: still sending at the end: {status.body['sending']}")
    return found


def test_chain_killed_in_approvals_and_payments(stack: Stack, rec: Recorder, db: DbReader) -> None:
    problems: list[str] = []
    world = World(rec)
    # Besides the app's residents: one who pays by card at the shop's till, and two with
    # wallets of their own who pay the shop on-chain, signing themselves (the service only
    # learns of those from the chain, through its payment index).
    carder = world.resident("K-card")
    owners = [world.own_wallet_resident(f"K-own-{i}") for i in range(2)]
    for person in (carder, *owners):
        world.earn(person, "20.00")
    world.issue_card(carder, CARD_PIN)
    shop, people = seed(world, db, 6, "40.00")
    claims = [world.done_claim(p, world.job("3.00")) for p in people for _ in range(2)]
    heard: dict[str, list[Answer]] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def approvals() -> Answer:
        a = None
        for c in claims:  # one approval every 0.4 s: the worker mints while the chain dies
            a = rec.call(
                "approve", "POST", f"/claims/{c}/approve", world.inspectors[0], key=str(c), json={}
            )
            time.sleep(0.4)
        assert a is not None
        return a

    def payer(person: Any) -> Answer:
        i = 0
        while not stop.is_set() and i < 16:
            rid = f"kill-chain-{person.name}-{i}"
            answers = pay_until_answered(rec, person.headers, shop.code, f"{person.name}-{i}", rid)
            with lock:
                heard[rid] = answers
            i += 1
            time.sleep(0.15)
        return answers[-1]

    def refunder() -> Answer:
        """The shop gives EUR 0.50 back on payments as they are paid, with a request_id,
        asking again while there is no answer or a 503 (as an app does)."""
        a = None
        done: set[int] = set()
        while not stop.is_set() and len(done) < 12:
            with lock:
                paid = [h[-1].body["id"] for h in heard.values() if last_word(h) == "paid"]
            for pid in [x for x in paid if x not in done][:1]:
                done.add(pid)
                deadline = time.monotonic() + 30
                while True:
                    a = rec.call(
                        "refund",
                        "POST",
                        f"/payments/{pid}/refund",
                        shop.headers,
                        key=f"kill-chain-refund-{pid}",
                        json={"amount": "0.50", "request_id": f"kill-chain-refund-{pid}"},
                    )
                    if (a.status is not None and a.status < 500) or time.monotonic() > deadline:
                        break
                    time.sleep(0.3)
            time.sleep(0.3)
        assert a is not None, "nothing was refunded"
        return a

    def card_payer() -> Answer:
        i = 0
        while not stop.is_set() and i < 16:
            rid = f"kill-chain-card-{i}"
            answers = charge_until_answered(rec, shop, carder, rid, "1.00", CARD_PIN, 30)
            with lock:
                heard[rid] = answers
            i += 1
            time.sleep(0.15)
        return answers[-1]

    own_sent: Counter[str] = Counter()
    own_mined: list[str] = []  # transactions of own wallets that had a receipt

    def own_pay(person: Any, i: int) -> str | None:
        """Pays the shop EUR 0.50 from the own wallet, straight to the chain: a plain ERC-20
        transfer for even `i`, a pay() with a receipt for odd; the transaction, or None when
        the send failed (the chain down or forgetting: what it has is checked after)."""
        try:
            c = stack.client  # connected again after the chain's restart
            if i % 2:
                done = c.pay(person.signer, shop.address, 50, f"OWN-{person.name}-{i}", timeout=5)
            else:
                data = c.encode("transfer", shop.address, 50)
                done = c.result(c.tx.send(person.signer, c.address, data, gas=200_000), 5)
        except Exception as exc:
            own_sent[type(exc).__name__] += 1
            return None
        own_sent["mined"] += 1
        with lock:
            own_mined.append(done.tx_hash)
        return done.tx_hash

    def own_payer(person: Any) -> Answer:
        i = 0
        while not stop.is_set() and i < 24:
            if own_pay(person, i) is None:
                time.sleep(0.3)
            i += 1
            time.sleep(0.2)
        return rec.call("own-wallet", "GET", "/payments", person.headers)

    info: dict[str, Any] = {}

    def killer() -> None:
        time.sleep(0.3)  # the burst is under way
        wait_for_state_write(stack.chain)
        # before the next write (every state_interval s): most of an interval of blocks lost
        time.sleep(0.8 * stack.chain.state_interval)
        info["head"] = stack.head()
        with rec.window("chain-down"):
            info["pid"] = kill_chain(stack.chain)
            stack.chain_kills += 1
            time.sleep(1.0)
            # What the database holds as paid now was all mined before the kill.
            info["paid"] = {  # table: {transaction: row}
                t: {
                    x["tx_hash"]: x["id"]
                    for x in db.rows(f"SELECT id, tx_hash FROM {t} WHERE status = 'paid'")
                }
                for t in ("payments", "refunds", "rewards")
            }
            cursor = db.rows("SELECT block_number FROM chain_cursors WHERE name = 'payments'")
            info["cursor"] = cursor[0]["block_number"] if cursor else -1
            info["restart"] = stack.restart_chain()
        info["head_after"] = stack.head()
        # Own wallets pay at once, so the new chain has their payments in blocks the
        # payment index had read on the old one: only its rewind finds them.
        info["first_after"] = [own_pay(o, 100 + k) for k, o in enumerate(owners)]

    began = time.monotonic()
    thread = threading.Thread(target=killer)
    thread.start()
    # New payments and refunds stop after BURST seconds (a stalled service must not hold
    # the stage up); those under way finish or give up on their own deadline.
    timer = threading.Timer(BURST, stop.set)
    timer.start()
    rec.parallel(
        [
            approvals,
            refunder,
            card_payer,
            *[lambda p=p: payer(p) for p in people],
            *[lambda p=p: own_payer(p) for p in owners],
        ]
    )
    stop.set()
    timer.cancel()
    thread.join(60)
    assert "head_after" in info, "the chain was not killed and started again"
    say(
        f"approvals, payments and refunds for {time.monotonic() - began:.1f} s; anvil (pid "
        f"{info['pid']}) killed at block {info['head']}, back at block {info['head_after']} "
        f"after {info['restart']:.1f} s"
    )
    # The test's own premise: the chain forgot blocks (else it tested nothing).
    assert info["head_after"] < info["head"], "the SIGKILL lost no blocks: nothing to repair"
    known = {e.tx_hash for e in stack.client.ledger(confirmations=0).events()}
    own_lost = [h for h in own_mined if h not in known]
    indexed_lost = [h for h in own_lost if h in info["paid"]["payments"]]
    say(
        f"own wallets paid the shop directly: {dict(own_sent)}; the chain forgot "
        f"{len(own_lost)} of those mined, {len(indexed_lost)} of them indexed by then"
    )
    again = [
        int(r["blockNumber"], 16)
        for h in info["first_after"]
        if h and (r := stack.client.rpc.call("eth_getTransactionReceipt", [h]))
    ]
    say(
        f"the payment index had read to block {info['cursor']} when the chain died; own "
        f"wallets paid again right after the restart, in blocks {again}"
    )
    # The premise of the index's part: the chain forgot payments from own wallets.
    assert own_lost, "the chain forgot no own-wallet payment: the index's rewind is not tested"

    lost = {
        t: {h: i for h, i in rows.items() if h not in known} for t, rows in info["paid"].items()
    }
    say(
        f"the chain forgot {len(lost['payments'])} paid payments, {len(lost['refunds'])} paid "
        f"refunds and {len(lost['rewards'])} paid rewards"
    )

    def agrees() -> bool:  # and every reward the chain forgot is paid again
        client = stack.client
        return (
            rewards_settled(db)
            and not reconcile(db, client).problems
            and not block_hash_problems(db, client)
            and not index_problems(db, client).problems
        )

    try:
        waited = wait_until("the service repairs what the chain forgot", agrees, 15, every=1.0)
        say(f"the database agreed with the chain {waited:.1f} s after the burst")
    except AssertionError as exc:
        say(str(exc))
    check = reconcile(db, stack.client)
    say(str(check))
    problems += check.problems
    pending = db.scalar("SELECT count(*) FROM rewards WHERE status = 'pending'")
    if pending:
        problems.append(f"{pending} approved rewards are still not paid at the end")
    # What the chain forgot: payments and refunds `reversed` (unless the very same
    # transaction was mined again), rewards paid again (a re-sent reward with the same nonce
    # may even have the same hash).
    now_known = {e.tx_hash for e in stack.client.ledger(confirmations=0).events()}
    for table in ("payments", "refunds"):
        rows = {x["id"]: x for x in db.rows(f"SELECT id, tx_hash, status FROM {table}")}
        for tx, rid in lost[table].items():
            row = rows[rid]
            want = "paid" if tx in now_known else "reversed"
            if row["status"] != want:
                problems.append(
                    f"{table} #{rid}: the chain forgot its transaction {tx}; the row is "
                    f"{row['status']}, not {want}"
                )
    rewards = {x["reference"]: x for x in db.rows("SELECT * FROM rewards")}
    repaid = [x for x in rewards.values() if x["status"] == "paid" and x["tx_hash"] in now_known]
    reversed_ = {
        t: db.scalar(f"SELECT count(*) FROM {t} WHERE status = 'reversed'")
        for t in ("payments", "refunds")
    }
    say(
        f"repaired: {reversed_['payments']} payments and {reversed_['refunds']} refunds "
        f"reversed; {len(repaid)} of {len(rewards)} rewards paid on-chain now"
    )
    problems += block_hash_problems(db, stack.client)
    index = index_problems(db, stack.client)
    say(index.summary)
    problems += index.problems
    status = rec.call("status", "GET", "/status", world.admin)
    say(f"GET /status: {status.status} {str(status.body)[:400]}")
    problems += status_problems(status, sum(len(x) for x in lost.values()))
    problems += contradictions(rec, db, chain_killed=True) + rec.problems()
    say(f"answers: {rec.summary()}")
    assert not problems, "\n".join([f"{len(problems)} problems:", *problems])
