"""The service on the real network: two API processes (`python -m api`), each on its own geth
Clique validator of four, sharing one PostgreSQL database and one home folder (role keys,
wallets, deployment record). The token is deployed and its roles granted; residents earn
rewards (approved through both services, paid in batches by the workers of both services,
which sign with the same job office key on different nodes), pay shops (some residents
through A and B at the same moment, their one key signed by two processes on two nodes),
get refunds; shops redeem and the treasurer records a payout, each through
service A or service B, so on different nodes. While payments are in flight through both,
service A's validator is killed (SIGKILL) and the service fails over; later service B's
validator is cut off from the others with a payment sent through B to it alone (Clique: its
own block, a fork), and healed (a reorg of that unconfirmed block).

Afterwards: nothing lost or doubled (every answer against the final database, the database
against the chain event by event with the fault stage's `reconcile`), every node at the same
head hash, and the auditor's report the same on each node at that hash."""

from __future__ import annotations

import copy
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from support import pg
from support.fault import (
    SERVICE_SETTINGS,
    Answer,
    ApiProcess,
    DbReader,
    Person,
    Recorder,
    World,
    block_hash_problems,
    contradictions,
    reconcile,
    rewards_settled,
    wait_until,
)

from heitje_chain.audit import audit, rpc_source
from heitje_chain.config import load_config, write_deployment
from heitje_chain.connect import connect, connect_rpc
from heitje_chain.deploy import deploy, grant_roles
from heitje_chain.keys import KeyStore
from heitje_chain.localnet import LocalNetwork, free_port

PASSWORD = "heitje-network-test-keys"
ROLE_KEYS = ("admin", "job-office", "partner", "merchant-manager", "treasurer", "recovery")
RESIDENTS = 4  # per service
PAYMENTS = 3  # per resident, while a validator is killed
PAYMENT = "2.50"


def say(text: str) -> None:
    print(f"[service] {text}", flush=True)


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    with pg.running_postgres() as server:
        yield server.create_database("heitje_network")


def deployed_home(net: LocalNetwork, home: Path) -> None:
    """The role keys and the deployment record, as `heitje deploy --create-keys` leaves them."""
    keys = KeyStore(home / "keystores", kdf="pbkdf2", iterations=1000)
    signers = {k: keys.create(k, PASSWORD) for k in ROLE_KEYS}
    config = load_config(home=home, config_file=net.config_file, environ={})
    client, record = deploy(connect_rpc(config), signers["admin"], name="Heitje op het netwerk")
    net.wait_height(record.block)
    client = connect(config.with_deployment(record))
    grant_roles(client, signers["admin"], {k: s.address for k, s in signers.items()})
    client.set_mint_allowance(signers["admin"], signers["job-office"].address, 10_000_00)
    write_deployment(home / "deployment.json", record)


def service(net: LocalNetwork, home: Path, database: str, order: list[int], log: Path,
            **extra: str) -> ApiProcess:  # fmt: skip
    """`python -m api` with the nodes in `order`: the first its endpoint, the others its
    failover, in that order (with the node checks on, it returns to the first once that one
    is healthy again)."""
    urls = [net.urls[i] for i in order]
    env = {
        **os.environ,
        "HEITJE_HOME": str(home),
        "HEITJE_CONFIG": str(net.config_file),
        "HEITJE_RPC_URL": ",".join(urls),
        "HEITJE_PASSWORD": PASSWORD,
        "HEITJE_API_DATABASE_URL": database,
        **SERVICE_SETTINGS,
        # A request waits for its receipt past the library's re-send of a transaction a dead
        # node took with it (15 s); rows left `sending` are settled well after that.
        "HEITJE_API_RECEIPT_WAIT": "30",
        "HEITJE_API_SETTLE_AFTER": "60",
        "HEITJE_API_PASSWORD_MEMORY_KIB": "1024",
        "HEITJE_API_PASSWORD_TIME_COST": "1",
        "HEITJE_API_LIMIT_SIGNUPS": "1000/3600",
        **extra,
    }
    for name in ("HEITJE_DEPLOYMENT", "HEITJE_API_ENV"):
        env.pop(name, None)
    return ApiProcess(env, free_port(), log)


def pay(rec: Recorder, who: Person, shop: Person, receipt: str, amount: str = PAYMENT,
        timeout: float = 90) -> list[Answer]:  # fmt: skip
    """Pay as the app does: again with the same request_id while there is no answer, a 5xx
    or a payment still `sending`, until a final answer (bounded)."""
    body = {"merchant_code": shop.code, "amount": amount, "receipt": receipt,
            "request_id": f"req-{receipt}"}  # fmt: skip
    heard = []
    deadline = time.monotonic() + timeout
    while True:
        a = rec.call("pay", "POST", "/payments", who.headers, key=body["request_id"], json=body)
        heard.append(a)
        status = a.body.get("status") if isinstance(a.body, dict) else None
        if a.status is not None and a.status < 500 and status not in (None, "sending"):
            return heard
        if time.monotonic() > deadline:
            return heard
        time.sleep(0.5)


def last(heard: list[Answer]) -> Any:
    body = heard[-1].body
    return body.get("status") or body.get("error") if isinstance(body, dict) else body


def test_two_services_on_four_validators(
    shared_clique: LocalNetwork, database: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    net = shared_clique
    v = net.validators
    home = tmp_path / "home"
    deployed_home(net, home)
    # Both run the worker (rewards, reconciliation, settling, payouts), signing rewards with
    # the same job office key on different nodes: when both take a nonce, the loser's batch
    # is signed again and its job ids keep every reward paid once (heitje_chain.tx).
    # A fails over to validator3 when validator1 is killed (and returns to validator1 once it
    # is restarted and caught up), so that later, with validator2 (B's) cut off, A and its
    # reconciler read the majority's chain.
    api_a = service(net, home, database, [0, 2, 3, 1], tmp_path / "api-a.log")
    # B runs without the node checks (HEITJE_HEALTH_INTERVAL=0): the cut-off part below is
    # the window before a check notices (a payment sent to the cut-off validator all the
    # same); leaving such a node is tested in test_partition.py.
    api_b = service(net, home, database, [1, 2, 3, 0], tmp_path / "api-b.log",
                    HEITJE_HEALTH_INTERVAL="0")  # fmt: skip
    recs: list[Recorder] = []
    db = DbReader(database)
    try:
        api_a.start()
        api_b.start()  # after A: A has run the migrations
        rec_a, rec_b = Recorder(api_a.base, timeout=60), Recorder(api_b.base, timeout=60)
        recs += [rec_a, rec_b]
        say(f"service A ({api_a.base}) on {v[0].name} (failover {v[2].name}, ...), service B "
            f"({api_b.base}) on {v[1].name}; one PostgreSQL database; heights "
            f"{net.heights()}")  # fmt: skip
        _scenario(net, home, rec_a, rec_b, db, started, [api_a.log, api_b.log])
        say(f"a nonce taken by the other service: {_nonces_taken([api_a.log, api_b.log])}")
    finally:
        for rec in recs:
            rec.close()
        for api in (api_a, api_b):
            api.stop()
        db.close()


def _scenario(
    net: LocalNetwork,
    home: Path,
    rec_a: Recorder,
    rec_b: Recorder,
    db: DbReader,
    started: float,
    logs: list[Path],
) -> None:
    v = net.validators
    world_a = World(rec_a)
    world_b = copy.copy(world_a)  # the same staff, signed in; their requests go to B
    world_b.rec = rec_b
    shops = [world_a.shop("Bakkerij Op de Kamp"), world_b.shop("Slagerij Palemig")]
    treasurer = {"username": "penning", "password": "correct horse battery staple",
                 "role": "treasurer"}  # fmt: skip
    rec_a.expect("setup", "POST", "/staff", world_a.admin, 201, json=treasurer)
    pays = world_a.login("penning")
    people_a = [world_a.resident(f"NA-{i}") for i in range(RESIDENTS)]
    people_b = [world_b.resident(f"NB-{i}") for i in range(RESIDENTS)]
    say(f"2 shops admitted (through A and B), {2 * RESIDENTS} residents signed up "
        f"({RESIDENTS} through each service)")  # fmt: skip

    # --- rewards: approved through both services, paid in batches by both workers ---------
    for person in people_a:
        world_a.earn(person, "20.00")
    for person in people_b:
        world_b.earn(person, "20.00")
    wait_until("the workers pay the rewards", lambda: rewards_settled(db), 90)
    rewards = db.rows("SELECT status, tx_hash FROM rewards")
    assert [r["status"] for r in rewards] == ["paid"] * 2 * RESIDENTS, rewards
    batches = len({r["tx_hash"] for r in rewards})
    say(f"{len(rewards)} rewards approved through A and B, paid by the workers in {batches} "
        "transaction(s)")  # fmt: skip

    # --- every resident pays through A and through B at the same moment -------------------
    # Each key is signed by both processes on two nodes; when both take the same nonce, one
    # of the two transactions is mined and the other signed again (heitje_chain.tx). Until
    # that happened (the services are not always within the few milliseconds it takes),
    # at most 3 rounds. (The workers may have taken the job office's nonces already.)
    before = sum(_nonces_taken(logs).values())
    for round_ in range(3):
        began = time.monotonic()
        both = [
            (rec, person, f"{person.name}-same{round_}-{k}")
            for person in people_a + people_b
            for k, rec in enumerate((rec_a, rec_b))
        ]
        heard_both = rec_a.parallel(
            [lambda r=r, p=p, x=x: pay(r, p, shops[int(x[-1])], x, "1.00") for r, p, x in both],
            threads=len(both),
        )
        said = sorted({str(last(h)) for h in heard_both})
        taken = _nonces_taken(logs)
        say(f"{len(both)} payments, every resident through A and B at the same moment: "
            f"{said} in {time.monotonic() - began:.1f} s; a nonce taken by the other service "
            f"so far: {taken}")  # fmt: skip
        assert said == ["paid"], [[a.body for a in h] for h in heard_both]
        if sum(taken.values()) > before:
            break
    # --- payments through both services; A's validator killed while they are in flight -----
    heard: dict[str, list[Answer]] = {}
    lock = threading.Lock()

    def client(rec: Recorder, person: Person, i: int) -> Answer:
        answers = pay(rec, person, shops[i % 2], f"{person.name}-{i}")
        with lock:
            heard[f"{person.name}-{i}"] = answers
        return answers[-1]

    calls = [lambda p=p, i=i: client(rec_a, p, i) for p in people_a for i in range(PAYMENTS)]
    calls += [lambda p=p, i=i: client(rec_b, p, i) for p in people_b for i in range(PAYMENTS)]
    killed: dict[str, int] = {}

    def killer() -> None:
        deadline = time.monotonic() + 60
        while sum(a.op == "pay" and a.status is not None for a in rec_a.answers) < 3:
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        net.kill(v[0].name)
        killed["answers"] = sum(a.op == "pay" and a.status is not None for a in rec_a.answers)
        killed["height"] = max(net.heights().values())

    thread = threading.Thread(target=killer)
    began = time.monotonic()
    thread.start()
    # One person's payments one after another (an app waits for its answer), people at once.
    per_person: list[Any] = []
    for start in range(0, len(calls), PAYMENTS):
        group = calls[start : start + PAYMENTS]
        per_person.append(lambda group=group: [c() for c in group][-1])
    rec_a.parallel(per_person, threads=len(per_person))
    thread.join(60)
    outcomes = sorted({str(last(h)) for h in heard.values()})
    say(f"{len(heard)} payments through A and B at once; {v[0].name} (A's node) killed after "
        f"{killed.get('answers')} of A's answers at #{killed.get('height')}; all answered in "
        f"{time.monotonic() - began:.1f} s: {outcomes}")  # fmt: skip
    assert outcomes == ["paid"], {k: [x.body for x in h] for k, h in heard.items()}

    # --- refunds through B, redemptions through A, a payout through B ----------------------
    paid = db.rows("SELECT id, receipt FROM payments WHERE status = 'paid' ORDER BY id")
    for x in paid[:4]:
        shop = shops[int(x["receipt"].rsplit("-", 1)[1]) % 2]
        body = {"amount": "1.00", "request_id": f"refund-{x['id']}"}
        answer = rec_b.expect("refund", "POST", f"/payments/{x['id']}/refund", shop.headers,
                              json=body)  # fmt: skip
        assert [r["status"] for r in answer["refunds"]] == ["paid"], answer
    redeemed = [
        rec_a.expect("redeem", "POST", "/redemptions", shop.headers, 201,
                     json={"amount": "5.00", "request_id": f"redeem-{shop.code}"})
        for shop in shops
    ]  # fmt: skip
    paid_out = rec_b.expect("payout", "POST", f"/redemptions/{redeemed[0]['id']}/payout", pays,
                            json={"bank_reference": "SEPA-NET-0001"})  # fmt: skip
    assert paid_out["paid"] is True, paid_out
    say(f"4 refunds (B), redemptions {[r['id'] for r in redeemed]} (A, failed over to "
        f"{v[2].name}), payout of #{redeemed[0]['id']} (B)")  # fmt: skip
    net.start_node(v[0].name)
    say(f"{v[0].name} restarted with its data: heights {net.heights()}")

    # --- B's validator cut off, a payment through B to it alone; healed --------------------
    lone, others = v[1], [x for x in v if x is not v[1]]
    lone.rpc().call("miner_stop")
    wait_until(f"{lone.name} out of Clique's recent signers", lambda: not _recent(lone), 30)
    net.cut_off(lone.name)
    cut_at = net.heights()
    # The payment through B reaches the cut-off validator's pool before it seals again, so
    # that its own next block carries it.
    pooled = _pooled(lone)
    sent: dict[str, list[Answer]] = {}
    through_b = threading.Thread(
        target=lambda: sent.update(alone=pay(rec_b, people_b[0], shops[0], "NB-0-partition",
                                             timeout=20))
    )  # fmt: skip
    through_b.start()
    wait_until(f"the payment in {lone.name}'s pool", lambda: _pooled(lone) > pooled, 30)
    lone.rpc().call("miner_start")
    during = pay(rec_a, people_a[0], shops[1], "NA-0-partition")
    through_b.join(60)
    alone = sent["alone"]
    lone_head = lone.rpc().call("eth_getBlockByNumber", ["latest", False])
    fork_block = int(lone_head["number"], 16)
    theirs = others[0].rpc().call("eth_getBlockByNumber", [hex(fork_block), False])
    forked = theirs is not None and theirs["hash"] != lone_head["hash"]
    row = db.rows("SELECT * FROM payments WHERE receipt = 'NB-0-partition'")[0]
    say(
        f"{lone.name} cut off at {cut_at}; B answered {last(alone)} for a payment sent to it "
        f"alone (row block #{row['block_number']}), A answered {last(during)} on the majority; "
        f"{lone.name}'s head #{fork_block} {lone_head['hash'][:18]}"
        + (f" where the majority has {theirs['hash'][:18]}: a fork" if forked else "")
    )
    assert forked, f"{lone.name} sealed no block of its own"
    assert last(during) == "paid"
    time.sleep(3)  # A's reconciler looks at B's payment meanwhile (every second)
    assert db.scalar("SELECT status FROM payments WHERE id = :i", i=row["id"]) != "reversed", (
        "the reconciler reversed a payment a cut-off validator still holds"
    )
    net.heal(lone.name)
    if last(alone) != "paid":  # B's wait ended before the chain had it: the app asks again
        alone = pay(rec_b, people_b[0], shops[0], "NB-0-partition")
    assert last(alone) == "paid", [a.body for a in alone]

    # --- everything settled: final, nothing sending, the same head everywhere ---------------
    def settled() -> bool:
        open_rows = sum(
            db.scalar(f"SELECT count(*) FROM {table} WHERE status = :s AND NOT final", s=s)
            for table, s in (("payments", "paid"), ("refunds", "paid"), ("rewards", "paid"))
        )
        sending = db.scalar("SELECT count(*) FROM payments WHERE status = 'sending'")
        return not open_rows and not sending and rewards_settled(db)

    wait_until("every row final on the chain", settled, 90)
    row = db.rows("SELECT * FROM payments WHERE receipt = 'NB-0-partition'")[0]
    say(f"healed: the payment sent to {lone.name} alone is {row['status']}, final in block "
        f"#{row['block_number']} {str(row['block_hash'])[:18]}"
        + (f" (it was in {lone.name}'s own block #{fork_block}, taken back by the reorg)"
           if row["block_hash"] != lone_head["hash"] else ""))  # fmt: skip

    config = load_config(home=home, config_file=net.config_file, environ={})
    with net.sealing_paused() as heads:
        assert len(set(heads.values())) == 1, f"the nodes disagree: {heads}"
        height, head_hash = next(iter(heads.values()))
        reports = {}
        for node in net.nodes.values():
            reader = connect(replace(config, rpc_urls=(node.url,)))
            source = rpc_source(reader, at=height)
            assert source.head.block_hash == head_hash
            reports[node.name] = audit(source)
        client = connect(replace(config, rpc_urls=(v[0].url,)))
        check = reconcile(db, client)
        hashes = block_hash_problems(db, client)
    say("every node at #{} {}: {}".format(height, head_hash, ", ".join(
        f"{n} #{h} {x[:18]}" for n, (h, x) in heads.items())))  # fmt: skip
    for report in reports.values():
        report.pop("source")
        report.pop("generated_at")
    baseline = reports[v[0].name]
    assert all(r == baseline for r in reports.values()), "the audits differ between nodes"
    assert baseline["passed"] is True, baseline
    say(f"heitje audit at #{height} on {len(reports)} nodes: the same report, passed")
    say(str(check))
    problems = check.problems + hashes
    for rec in (rec_a, rec_b):
        problems += contradictions(rec, db) + rec.problems()
    say(f"answers A: {rec_a.summary()}")
    say(f"answers B: {rec_b.summary()}")
    assert not problems, "\n".join([f"{len(problems)} problems:", *problems])
    supply = client.total_supply()
    assert supply == 2 * RESIDENTS * 20_00 - 2 * 5_00, supply
    say(f"nothing lost or doubled: supply EUR {supply / 100:.2f}; "
        f"{time.monotonic() - started:.0f} s")  # fmt: skip


def _nonces_taken(logs: list[Path]) -> dict[str, int]:
    """How often the services' logs say a nonce was taken by another process: refused by
    the node at sending (its pool held the other's), or mined for the other while waiting."""
    text = "".join(log.read_text(errors="replace") for log in logs)
    return {
        "at sending": text.count("was spent elsewhere"),
        "while waiting": text.count("was used by another transaction"),
    }


def _pooled(node: Any) -> int:
    """How many transactions wait in `node`'s pool to be mined."""
    return int(node.rpc().call("txpool_status")["pending"], 16)


def _recent(node: Any) -> bool:
    """True while `node`'s signer is among Clique's recent signers at its own head (it may
    not seal the next block)."""
    recents = node.rpc().call("clique_getSnapshot", ["latest"])["recents"]
    return (node.signer or "").lower() in {str(a).lower() for a in recents.values()}
