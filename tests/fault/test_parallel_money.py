"""Payments and refunds of the real service under parallel clients, on SQLite and PostgreSQL:
bursts from one resident and from several, one request_id sent ten times at once, and a
shop's double taps on "refund" (different request_ids, full refunds, one request_id). Then
the database is reconciled with the chain event by event."""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

from support.fault import (
    Answer,
    DbReader,
    Recorder,
    Stack,
    World,
    contradictions,
    outcome,
    part,
    reconcile,
    rewards_settled,
    say,
    wait_until,
)

from heitje_chain.client import text_of

#: an unrelated read during a burst: the issue saw 15-29 s; the target (benchmark) is
#: p99 < 200 ms on an idle machine; this bound only catches a stalled service
READ_BOUND = 5.0


class Reader:
    """Another resident reading the job list while a burst runs."""

    def __init__(self, rec: Recorder, who: dict[str, str]) -> None:
        self.rec, self.who = rec, who
        self.seconds: list[float] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="unrelated-read")

    def _run(self) -> None:
        while not self._done.is_set():
            answer = self.rec.call("GET /jobs (unrelated)", "GET", "/jobs?limit=20", self.who)
            self.seconds.append(answer.seconds)
            self._done.wait(0.05)

    def __enter__(self) -> Reader:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(60)

    def figures(self) -> str:
        if not self.seconds:
            return "no read"
        q = (
            statistics.quantiles(self.seconds, n=100)
            if len(self.seconds) > 1
            else self.seconds * 99
        )
        return (
            f"{len(self.seconds)} reads, p50 {q[49] * 1000:.0f} ms, p99 {q[98] * 1000:.0f} ms, "
            f"max {max(self.seconds) * 1000:.0f} ms"
        )


def pay(
    rec: Recorder, who: dict[str, str], code: str, amount: str, receipt: str, request_id: str
) -> Answer:
    body = {"merchant_code": code, "amount": amount, "receipt": receipt, "request_id": request_id}
    return rec.call("pay", "POST", "/payments", who, key=request_id, json=body)


def refund(
    rec: Recorder, shop: dict[str, str], payment: int, amount: str | None, request_id: str
) -> Answer:
    body: dict[str, Any] = {"request_id": request_id}
    if amount is not None:
        body["amount"] = amount
    return rec.call(
        "refund", "POST", f"/payments/{payment}/refund", shop, key=request_id, json=body
    )


def test_payments_and_refunds_under_parallel_clients(
    stack: Stack, rec: Recorder, db: DbReader
) -> None:
    problems: list[str] = []
    world = World(rec)
    shops = [world.shop("Bakkerij Pelzer"), world.shop("Slagerij Hermans")]
    big = world.resident("F-big")
    several = [world.resident(f"F-{i}") for i in range(5)]
    reader = world.resident("F-reader")
    world.earn(big, "60.00")
    for person in several:
        world.earn(person, "30.00")
    wait_until("the worker pays the 6 rewards", lambda: rewards_settled(db), 60)

    # 1. 20 payments from one resident and 30 from five others, all at once (EUR 1.00 and
    #    1.50: every balance suffices, so every payment must be paid).
    calls = [
        (lambda i=i: pay(rec, big.headers, shops[i % 2].code, "1.00", f"B-{i}", f"big-pay-{i:03d}"))
        for i in range(20)
    ] + [
        (
            lambda i=i, p=p: pay(
                rec,
                p.headers,
                shops[i % 2].code,
                "1.50",
                f"S-{p.name}-{i}",
                f"several-{p.name}-{i}",
            )
        )
        for p in several
        for i in range(6)
    ]
    began = time.monotonic()
    with Reader(rec, reader.headers) as read:
        burst = rec.parallel(calls)
    seconds = time.monotonic() - began
    paid = [a for a in burst if a.status == 201 and a.body.get("status") == "paid"]
    say(
        f"50 parallel payments in {seconds:.1f} s: {len(paid)} paid, answers "
        f"{sorted(set(outcome(burst)))}; "
        f"unrelated GET /jobs meanwhile: {read.figures()}"
    )
    for a in burst:
        if not (a.status == 201 and a.body.get("status") in ("paid", "sending")):
            problems.append(f"payment {a.key} with enough balance: {a.status} {a.body}")
    if read.seconds and max(read.seconds) > READ_BOUND:
        problems.append(f"an unrelated GET /jobs took {max(read.seconds):.1f} s during the burst")

    # 2. One request_id sent ten times at once: one payment, the same answer ten times.
    same = "same-request-0001"
    tenfold = rec.parallel(
        [lambda: pay(rec, several[0].headers, shops[0].code, "2.00", "ONE-TAP", same)] * 10
    )
    ids = {a.body.get("id") for a in tenfold if isinstance(a.body, dict)}
    say(f"10 parallel payments with one request_id: answers {outcome(tenfold)}")
    for a in tenfold:
        if not (a.status in (200, 201) and a.body.get("status") == "paid"):
            problems.append(f"payment {same} sent 10 times at once answered {a.status} {a.body}")
    if len(ids) != 1:
        problems.append(f"payment {same} sent 10 times at once answered {len(ids)} payments: {ids}")
    on_chain = [
        e
        for e in stack.client.ledger(confirmations=0).events(names=["Payment"])
        if text_of(e.args["receipt"]) == "ONE-TAP"
    ]
    if len(on_chain) != 1:
        problems.append(f"payment {same} sent 10 times at once is {len(on_chain)} times on-chain")

    # 3. A shop's double taps on "refund" of EUR 3.00 payments.
    targets = []
    for i in range(3):
        a = pay(rec, big.headers, shops[0].code, "3.00", f"REFUND-{i}", f"to-refund-{i}")
        assert a.status == 201 and a.body["status"] == "paid", a.body
        targets.append(a.body["id"])
    shop = shops[0].headers
    partial = rec.parallel(
        [lambda i=i: refund(rec, shop, targets[0], "1.00", f"part-refund-{i}") for i in range(10)]
    )
    full = rec.parallel(
        [lambda i=i: refund(rec, shop, targets[1], None, f"full-refund-{i}") for i in range(10)]
    )
    shared = rec.parallel([lambda: refund(rec, shop, targets[2], "1.00", "shared-refund")] * 10)
    for label, answers, most in (
        ("10 x EUR 1.00", partial, 300),
        ("10 full", full, 300),
        ("10 x one request_id", shared, 100),
    ):
        ok = [a for a in answers if a.status == 200]
        say(
            f"refunds {label} on a EUR 3.00 payment at once: {len(ok)} x 200, others "
            f"{[x for x in outcome(answers) if not x.startswith('200')]}"
        )
        for a in answers:
            if a.status != 200 and not (a.status in (409, 422) and isinstance(a.body, dict)):
                problems.append(f"refund {a.key}: {a.status} {a.body}")
        refunded = {a.body["refunded"]["cents"] for a in ok if isinstance(a.body, dict)}
        if any(c > most for c in refunded):
            problems.append(
                f"refunds {label}: an answer says EUR {max(refunded) / 100:.2f} "
                "refunded of a EUR 3.00 payment"
            )
    if sum(a.status == 200 for a in full) != 1:
        problems.append(f"10 parallel full refunds: {sum(a.status == 200 for a in full)} succeeded")
    shared_ids = {tuple(r["id"] for r in a.body["refunds"]) for a in shared if a.status == 200}
    if len(shared_ids) != 1 or any(a.status != 200 for a in shared):
        problems.append(
            f"a refund sent 10 times at once answered {[a.status for a in shared]} "
            f"with refunds {shared_ids}"
        )
    refunds_on_chain: dict[int, int] = {}
    rows = {x["reference"]: x for x in db.rows("SELECT * FROM refunds")}
    for e in stack.client.ledger(confirmations=0).events(names=["Refund"]):
        row = rows.get(text_of(e.args["receipt"]))
        if row is not None:
            pid = row["payment_id"]
            refunds_on_chain[pid] = refunds_on_chain.get(pid, 0) + int(e.args["amount"])
    say(
        f"refunded on-chain per EUR 3.00 payment: "
        f"{[refunds_on_chain.get(t, 0) / 100 for t in targets]} (partial, full, shared)"
    )
    if refunds_on_chain.get(targets[2], 0) != 100:
        problems.append(
            f"a refund of EUR 1.00 sent 10 times at once: EUR "
            f"{refunds_on_chain.get(targets[2], 0) / 100:.2f} refunded on-chain"
        )

    # 4. ASSUMED (the fixes of issue 12): POST /redemptions takes a request_id. The shop's
    #    double tap on "redeem": one redemption on-chain, the same answer five times.
    body = {"amount": "2.00", "request_id": "redeem-once-0001"}
    redeemed = rec.parallel(
        [lambda: rec.call("redeem", "POST", "/redemptions", shop, key="redeem-once", json=body)] * 5
    )
    say(f"5 parallel redemptions with one request_id: {outcome(redeemed)}")
    ids = {part(a, "id") for a in redeemed}
    on_chain = [
        e
        for e in stack.client.ledger(confirmations=0).events(names=["RedemptionRequested"])
        if e.args["merchant"] == shops[0].address
    ]
    if any(a.status not in (200, 201) for a in redeemed) or len(ids) != 1 or len(on_chain) != 1:
        problems.append(
            f"a redemption sent 5 times at once: {outcome(redeemed)}, ids {ids}, "
            f"{len(on_chain)} on-chain"
        )

    # 5. The database against the chain, and every answer against the final state.
    wait_until("the worker pays the rewards", lambda: rewards_settled(db), 30)
    check = reconcile(db, stack.client)
    say(str(check))
    problems += check.problems
    problems += contradictions(rec, db)
    problems += rec.problems()
    say(f"answers: {rec.summary()}")
    assert not problems, "\n".join([f"{len(problems)} problems:", *problems])
