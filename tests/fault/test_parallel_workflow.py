"""The job workflow, sign-ups and recoveries of the real service under parallel clients, on
SQLite and PostgreSQL: two inspectors approving the same claims at once, ten residents
claiming a job with three places, a resident near the yearly cap claiming six jobs at once,
ten sign-ups with one pseudonym, parallel recoveries of one wallet and a recovery onto a
wallet another resident already has. Then the database is reconciled with the chain."""

from __future__ import annotations

from support.fault import (
    DbReader,
    Recorder,
    Stack,
    World,
    orphan_wallets,
    outcome,
    part,
    reconcile,
    rewards_settled,
    say,
    wait_until,
)
from support.service import PASSWORD

from heitje_chain.keys import LocalSigner


def test_workflow_signups_and_recoveries_under_parallel_clients(
    stack: Stack, rec: Recorder, db: DbReader
) -> None:
    problems: list[str] = []
    world = World(rec)
    workers = [world.resident(f"W-{i}") for i in range(10)]

    # 1. Two inspectors approve the same ten claims at the same moment: one approval each.
    claims = [world.done_claim(w, world.job("5.00")) for w in workers]
    calls = [
        (
            lambda c=c, who=who: rec.call(
                "approve", "POST", f"/claims/{c}/approve", who, key=str(c), json={}
            )
        )
        for c in claims
        for who in world.inspectors
    ]
    answers = rec.parallel(calls)
    say(f"two inspectors approving 10 claims at once: {outcome(answers)}")
    for c in claims:
        mine = [a for a in answers if a.key == str(c)]
        if sorted(a.status or 0 for a in mine) != [200, 409]:
            problems.append(f"claim {c} approved by two inspectors at once: {outcome(mine)}")
    rewards = db.scalar("SELECT count(*) FROM rewards")
    if rewards != len(claims):
        problems.append(f"{len(claims)} claims approved, {rewards} reward rows")

    # 2. Ten residents claim a job with three places at once.
    job = world.job("2.00", places=3)
    answers = rec.parallel(
        [
            (
                lambda w=w: rec.call(
                    "claim full job", "POST", f"/jobs/{job}/claim", w.headers, key=w.name
                )
            )
            for w in workers
        ]
    )
    say(f"10 residents claiming a job with 3 places at once: {outcome(answers)}")
    if sum(a.status == 201 for a in answers) != 3:
        problems.append(f"a job with 3 places, 10 claims at once: {outcome(answers)}")

    # 3. A resident EUR 5.00 under the yearly cap (counting the pending reward) claims six
    #    jobs of EUR 2.00 at once: two fit.
    capped = world.resident("C-near-cap")
    cap = stack.client.yearly_cap()
    world.earn(capped, f"{(cap - 5_00) / 100:.2f}")
    jobs = [world.job("2.00") for _ in range(6)]
    answers = rec.parallel(
        [
            (
                lambda j=j: rec.call(
                    "claim near cap", "POST", f"/jobs/{j}/claim", capped.headers, key=str(j)
                )
            )
            for j in jobs
        ]
    )
    say(f"6 claims of EUR 2.00 at once, EUR 5.00 under the cap: {outcome(answers)}")
    if sum(a.status == 201 for a in answers) != 2:
        problems.append(f"EUR 5.00 under the cap, 6 claims of EUR 2.00 at once: {outcome(answers)}")

    # 4. Ten sign-ups with one pseudonym at once: one account, one wallet file.
    body = {"pseudonym": "F-same-name", "neighbourhood": "Palemig", "password": PASSWORD}
    answers = rec.parallel(
        [lambda: rec.call("sign-up", "POST", "/residents", None, key="F-same-name", json=body)] * 10
    )
    say(f"10 sign-ups with one pseudonym at once: {outcome(answers)}")
    if outcome(answers) != ["201"] + ["409 pseudonym_taken"] * 9:
        problems.append(f"10 sign-ups with one pseudonym at once: {outcome(answers)}")

    after_sign_ups = orphan_wallets(db, stack.wallet_dir, stack.client)
    if after_sign_ups:
        problems.append(
            f"10 sign-ups with one pseudonym left {len(after_sign_ups)} wallet files without "
            f"an account: {after_sign_ups[:3]}"
        )

    # 5. Parallel recoveries of one lost custodial wallet: one recovery on-chain, the same
    #    new wallet in every answer.
    lost = workers[0]
    recover = f"/residents/{lost.id}/recover"
    reason = {"reason": "Phone stolen; identity checked at the Stadsbalie."}
    answers = rec.parallel(
        [lambda: rec.call("recover", "POST", recover, world.admin, key=lost.name, json=reason)] * 5
    )
    say(f"5 recoveries of one wallet at once: {outcome(answers)}")
    moved = [
        e
        for e in stack.client.ledger(confirmations=0).events(names=["WalletRecovered"])
        if e.args["lost"] == lost.address
    ]
    new = {part(a, "address") for a in answers if a.status == 200}
    if len(moved) != 1 or any(a.status not in (200, 409) for a in answers) or len(new) != 1:
        problems.append(
            f"5 recoveries of one wallet at once: {outcome(answers)}, "
            f"{len(moved)} on-chain, new wallets in the answers {new}"
        )
    elif new != {moved[0].args["replacement"]}:
        problems.append(f"recovered onto {moved[0].args['replacement']} on-chain, answered {new}")

    # 6. A recovery onto a wallet another resident already has (one that holds nothing yet,
    #    so the chain itself would take it), and onto a shop's: refused with a clear 409
    #    before anything is sent, and again on a retry.
    own = world.resident("O-own-wallet", wallet=LocalSigner.create().address)
    fresh = world.resident("Q-fresh")
    shop = world.shop("Kapper Coriovallum")
    for target in (fresh.address, shop.address):
        for attempt in (1, 2):
            a = rec.call(
                "recover onto used",
                "POST",
                f"/residents/{own.id}/recover",
                world.admin,
                key=f"{own.name}->{target[:8]}",
                json={**reason, "new_wallet": target},
            )
            say(
                f"recovery onto another account's wallet, attempt {attempt}: {a.status} "
                f"{part(a, 'error')}"
            )
            if a.status != 409:
                problems.append(
                    f"recovery onto {target} (in use), attempt {attempt}: {a.status} {a.body}"
                )
    if stack.client.is_retired(own.address):
        problems.append(
            f"recovery onto a wallet in use was refused or failed, yet the chain "
            f"retired {own.address}"
        )

    # 7. The database against the chain, and no wallet file without its account.
    wait_until("the worker pays the rewards", lambda: rewards_settled(db), 60)
    check = reconcile(db, stack.client)
    say(str(check))
    problems += check.problems
    orphans = orphan_wallets(db, stack.wallet_dir, stack.client)
    later = [o for o in orphans if o not in after_sign_ups]
    say(f"wallet files without an account: {len(after_sign_ups)} after the sign-ups, "
        f"{len(later)} more after the recoveries")  # fmt: skip
    if later:
        problems.append(
            f"5 recoveries of one wallet at once (and the refused ones) left {len(later)} wallet "
            f"files without an account (a new wallet made for each request): {later[:3]}"
        )
    problems += rec.problems()
    say(f"answers: {rec.summary()}")
    assert not problems, "\n".join([f"{len(problems)} problems:", *problems])
