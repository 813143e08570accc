"""A ledger that keeps every rule, written through the real contract and heitje_chain: every
check passes, the figures add up, and the report's forms are written."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from audit_ledgers import World, check, failed, run_audit

from heitje_chain.audit import summary, write_report
from heitje_chain.client import RewardRow
from heitje_chain.keys import LocalSigner
from heitje_chain.rpc import Rpc


def busy_day(w: World) -> dict[str, Any]:
    """Rewards in a batch and alone, payments, a refund, a merchant removed who still refunds
    and redeems, two redemptions (one paid), a recovery that carries earnings, a cap change,
    a pause and a role revoked."""
    c = w.client
    r = w.residents
    shop, shop2, shop3 = w.merchants
    rows = [RewardRow(f"clean-{i}", r[i % 4].address, 10_00 + i) for i in range(12)]
    results = c.reward_jobs(w.job_office, rows, batch_size=5)
    assert all(x.status == "paid" for x in results)
    c.reward_job(w.partner, "clean-partner", r[0].address, 25_00)
    c.pay(r[0], shop.address, 20_00, "R-1")
    c.pay(r[1], shop2.address, 5_00, "R-2")
    c.pay(r[2], shop3.address, 7_50, "R-3")
    c.refund(shop, r[0].address, 2_50, "R-1 back")
    c.remove_merchant(w.merchant_manager, shop3.address)
    c.refund(shop3, r[2].address, 1_00, "R-3 part")
    first = c.redeem(shop, 10_00)
    c.redeem(shop3, 6_50)
    c.confirm_payout(w.treasurer, first.id, "SEPA NL-0001")
    c.recover_wallet(w.recovery, r[3].address, r[4].address)
    c.set_yearly_cap(w.admin, 1_400_00)
    c.pause(w.pauser)
    c.unpause(w.pauser)
    c.revoke_role(w.admin, "minter", w.partner.address)
    return {"first_redemption": first.id}


def test_clean_ledger_passes_every_check(world: World, tmp_path: Path) -> None:
    busy_day(world)
    report = world.audit()
    assert failed(report) == set(), summary(report)
    assert report["passed"] is True
    names = [c["name"] for c in report["checks"]]
    assert names == [
        "supply",
        "mints",
        "yearly_cap",
        "recoveries",
        "payments",
        "redemptions",
        "roles",
        "reconcile_jobs",
        "reconcile_payouts",
    ]
    assert check(report, "reconcile_jobs")["status"] == "skipped"
    c = world.client
    f = report["figures"]
    assert f["supply"] == c.total_supply()
    rewards = sum(10_00 + i for i in range(12)) + 25_00
    assert f["rewards"] == rewards
    assert f["redemptions"] == 16_50
    assert f["supply"] == rewards - 16_50
    assert f["liability"] == {
        "circulating": f["supply"],
        "unpaid_redemptions": 6_50,
        "total": f["supply"] + 6_50,
    }
    summary_ = f["redemption_summary"]
    assert (summary_["paid"], summary_["unpaid"]) == (1, 1)
    assert summary_["oldest_unpaid"]["id"] == 2
    assert f["recoveries"] == 1
    assert f["refunds"] == {"count": 2, "amount": 3_50}
    paid_to = {m["merchant"]: m["amount"] for m in f["payments_by_merchant"]}
    assert paid_to == {
        world.merchants[0].address: 20_00,
        world.merchants[1].address: 5_00,
        world.merchants[2].address: 7_50,
    }
    assert "balances compared with the node's" in " ".join(check(report, "supply")["notes"])
    # The report names the block and its hash, as the node has them.
    header = c.rpc.call("eth_getBlockByNumber", [hex(report["block"]), False])
    assert report["block_hash"] == header["hash"]
    assert report["block"] == c.rpc.block_number()
    # Role history: the partner's minter role has an end; the job office's has not.
    history = {(h["role"], h["account"]): h for h in report["tables"]["role_history"]}
    assert history[("minter", world.partner.address)]["revoked_block"] is not None
    assert history[("minter", world.job_office.address)]["revoked_block"] is None
    actions = [a["action"] for a in report["tables"]["admin_actions"]]
    for expected in (
        "role granted",
        "minter allowance set",
        "merchant added",
        "merchant removed",
        "payout recorded",
        "wallet recovered",
        "yearly cap set",
        "paused",
        "unpaused",
        "role revoked",
    ):
        assert expected in actions
    blocks = [(a["block"], a["log_index"]) for a in report["tables"]["admin_actions"]]
    assert blocks == sorted(blocks)
    assert all(a["by"] for a in report["tables"]["admin_actions"])

    # No fraud signal on a clean ledger (those from exports are skipped: none given).
    signals = {sig["name"]: sig["status"] for sig in report["signals"]}
    assert signals == {
        "fast_cap": "quiet",
        "refund_loops": "quiet",
        "shop_overredeem": "quiet",
        "minter_cluster": "quiet",
        "inspector_favours": "skipped",
        "quick_approval": "skipped",
        "own_job_approved": "skipped",
    }
    written = write_report(report, tmp_path / "out", "en")
    names = {p.name for p in written}
    assert {
        "report.json",
        "report.html",
        "check-mints.csv",
        "role-history.csv",
        "admin-actions.csv",
        "redemption-list.csv",
    } <= names
    html = (tmp_path / "out" / "report.html").read_text()
    assert "<svg" in html and "<script" not in html and "http" not in html.split("Source")[0]
    assert report["block_hash"] in html
    assert json.loads((tmp_path / "out" / "report.json").read_text())["passed"] is True
    assert "Every check passed." in html and "<html lang='en'>" in html
    assert "signal-fast-cap.csv" not in names and "signal-fast_cap.csv" in names
    # Dutch by default.
    write_report(report, tmp_path / "nl")
    dutch = (tmp_path / "nl" / "report.html").read_text()
    assert "<html lang='nl'>" in dutch and "Alle controles in orde." in dutch
    assert "Signalen" in dutch and "Plafond snel bereikt bij één uitgever" in dutch
    assert "Every check passed." not in dutch and report["block_hash"] in dutch
    assert "overgeslagen: geen claims-export gegeven (--claims BESTAND)" in dutch
    text = summary(report)
    assert "all 7 checks passed" in text


def test_audit_at_an_earlier_block(world: World) -> None:
    """`--at`: the identities hold at a past block, against the node's state there, and what
    happened later is not in the report."""
    c = world.client
    r = world.residents
    c.reward_job(world.job_office, "early", r[0].address, 30_00)
    c.pay(r[0], world.merchants[0].address, 10_00, "R-1")
    at = c.rpc.block_number()
    c.reward_job(world.job_office, "late", r[1].address, 40_00)
    report = world.audit(at=at)
    assert report["passed"], summary(report)
    assert report["block"] == at
    assert report["figures"]["supply"] == 30_00 == c.total_supply(block=at)
    assert report["figures"]["rewards"] == 30_00
    notes = " ".join(check(report, "supply")["notes"])
    assert "balances compared with the node's" in notes
    assert world.audit()["figures"]["supply"] == 70_00


class NoTimestampsRpc(Rpc):
    """A node like Besu or older geth: its logs carry no `blockTimestamp`."""

    stripped = 0

    def call(self, method: str, params: Sequence[Any] = ()) -> Any:
        answer = super().call(method, params)
        if method == "eth_getLogs":
            for entry in answer:
                self.stripped += entry.pop("blockTimestamp", None) is not None
        return answer


def test_a_node_without_log_timestamps_gives_the_same_report(world: World) -> None:
    """The auditor then reads the blocks' times from their headers (batched)."""
    busy_day(world)
    plain = world.audit()
    rpc = NoTimestampsRpc(world.client.rpc.url)
    headers = run_audit(rpc, world.client.address, world.block)
    assert rpc.stripped > 20  # the audit really read logs without times
    assert headers["passed"] and headers["figures"] == plain["figures"]
    assert [c["records"] for c in headers["checks"]] == [c["records"] for c in plain["checks"]]


def test_plain_wallet_transfers_pass_and_count_as_payments(world: World) -> None:
    """Residents paying from their own wallets (plain `transfer`, and `approve` +
    `transferFrom` by a spender), a refund by plain transfer, dust refunded to a new shop's
    wallet that is then listed, and a recovery that carries nothing: every check passes, and
    each plain transfer to a merchant is one payment, next to the `pay()`s, none twice."""
    c = world.client
    r = world.residents
    shop, shop2, _ = world.merchants
    c.reward_job(world.job_office, "plain-1", r[0].address, 40_00)
    c.reward_job(world.job_office, "plain-2", r[1].address, 30_00)
    c.pay(r[0], shop.address, 5_00, "R-1")  # a pay(): Transfer + Payment, one payment
    c.transact(r[0], "transfer", shop.address, 3_00)  # a wallet's payment: Transfer only
    c.transact(r[1], "approve", r[2].address, 10_00)
    c.transact(r[2], "transferFrom", r[1].address, shop2.address, 4_00)  # spent by a spender
    c.transact(shop, "transfer", r[0].address, 1_00)  # a refund by plain transfer
    new_shop = LocalSigner.create("new-shop")
    c.refund(shop2, new_shop.address, 1, "dust")  # can no longer block its listing
    c.add_merchant(world.merchant_manager, new_shop.address)
    c.transact(r[1], "transfer", new_shop.address, 2_00)
    c.recover_wallet(world.recovery, r[3].address, r[4].address)  # nothing to carry
    report = world.audit()
    assert failed(report) == set(), summary(report)
    f = report["figures"]
    paid_to = {m["merchant"]: (m["count"], m["amount"]) for m in f["payments_by_merchant"]}
    assert paid_to == {
        shop.address: (2, 8_00),
        shop2.address: (1, 4_00),
        new_shop.address: (1, 2_00),
    }
    assert f["refunds"] == {"count": 2, "amount": 1_01}
    assert f["supply"] == c.total_supply() == 70_00
