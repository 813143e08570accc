"""Benchmark: the auditor on large ledgers, next to a naive baseline, in one run.

    python benchmarks/ledger_gen.py --events 100000     (once; builds .bench/ledger-100000)
    python benchmarks/ledger_gen.py --events 1000000    (once; a long while)
    python benchmarks/audit.py                          (`make bench-audit`)
    python benchmarks/audit.py --ledger .bench/ledger-100000   (one ledger)

For each ledger, the embedded chain it was built on is started again and audited, each run
in a fresh Python process (so its peak memory, `ru_maxrss`, is its own):

- heitje audit: `heitje_chain.audit` over JSON-RPC: raw logs streamed in adaptive ranges and
  read ahead in a thread, decoded by topic and hex slices, every check, every holder's balance
  compared with the node's;
- audit + export: the same, also writing the ledger export (JSONL) for offline audits;
- offline: the same checks on that export, no node;
- incremental: resumed from a checkpoint at the head (nothing new: the cost of checking in);
- naive: web3.py's event filters (`contract.events.X.get_logs`) over the whole range, all
  logs loaded and decoded by web3's ABI machinery, then only supply and balances summed up.
  It is cut off after --naive-timeout seconds.

Prints events, seconds, events/s and peak memory per run. Targets (issue 5): cost linear in
the events, flat memory, 1,000,000 events in under 2 minutes on a 2-core machine.

Measured on the 2-core development machine (anvil 1.7.1, other work running beside it), with
ledgers from `ledger_gen.py` (seed 7):

    ledger             run                          seconds   events/s  peak MB
    103,275 events     heitje audit (RPC)               2.1     49,316      112
    103,275 events     naive: web3 event filters       40.9      1,902      245
    1,005,776 events   heitje audit (RPC)              15.4     65,138      177
    1,005,776 events   audit + ledger export           21.8     46,085      191
    1,005,776 events   offline, from export             9.5    105,596      131
    1,005,776 events   incremental, nothing new         1.9          -      245
    1,005,776 events   naive: web3 event filters      511.0      1,484     1523

Memory grows with what the rules must remember (every job id ever rewarded, every account's
balance and status), not with the events read: 10x the events, 1.6x the memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from heitje_chain.node import EmbeddedChain, free_port  # noqa: E402

# ------------------------------------------------------------------ one run (child process)


def child(mode: str, url: str, address: str, first: int, work: Path) -> dict[str, Any]:
    from heitje_chain.audit import FileLogSource, audit, rpc_source
    from heitje_chain.client import HeitjeClient
    from heitje_chain.rpc import Rpc

    started = time.perf_counter()
    if mode == "naive":
        events = naive(url, address, first)
        passed = None
    else:
        export = work / "ledger.jsonl"
        checkpoint = work / "checkpoint.json.gz"
        if mode == "file":
            source: Any = FileLogSource(export)
        else:
            client = HeitjeClient(Rpc(url, timeout=120), address, deployment_block=first)
            source = rpc_source(client)
        if mode == "incremental":
            checkpoint.unlink(missing_ok=True)
            audit(source, checkpoint=checkpoint, balances=False)  # untimed: build the checkpoint
            source = rpc_source(client)
            started = time.perf_counter()
        report = audit(
            source,
            checkpoint=checkpoint if mode == "incremental" else None,
            save_ledger=export if mode == "save" else None,
        )
        events, passed = report["events"], report["passed"]
    seconds = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    return {"mode": mode, "events": events, "seconds": seconds, "rss_mb": rss, "passed": passed}


def naive(url: str, address: str, first: int) -> int:
    """web3's event filters over the whole range: every log in memory, decoded by web3."""
    from web3 import HTTPProvider, Web3

    from heitje_chain.artifacts import load_artifact

    w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 3600}))
    contract = w3.eth.contract(address=Web3.to_checksum_address(address), abi=load_artifact().abi)
    head = w3.eth.block_number
    balances: dict[str, int] = {}
    supply = rewards = redemptions = events = 0
    for name in ("Transfer", "JobRewarded", "RedemptionRequested"):
        logs = getattr(contract.events, name)().get_logs(from_block=first, to_block=head)
        events += len(logs)
        for log in logs:
            args = log["args"]
            if name == "Transfer":
                if args["from"] != "0x0000000000000000000000000000000000000000":
                    balances[args["from"]] = balances.get(args["from"], 0) - args["value"]
                else:
                    supply += args["value"]
                if args["to"] != "0x0000000000000000000000000000000000000000":
                    balances[args["to"]] = balances.get(args["to"], 0) + args["value"]
                else:
                    supply -= args["value"]
            elif name == "JobRewarded":
                rewards += args["amount"]
            else:
                redemptions += args["amount"]
    assert supply == sum(balances.values()) == rewards - redemptions
    return events


# ------------------------------------------------------------------ the table


def run_child(
    mode: str, url: str, info: dict[str, Any], work: Path, timeout: float
) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--child",
        mode,
        url,
        info["address"],
        str(info["deployment_block"]),
        str(work),
    ]
    try:
        done = subprocess.run(  # noqa: S603 (this script with fixed arguments)
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {
            "mode": mode,
            "events": None,
            "seconds": timeout,
            "rss_mb": None,
            "passed": None,
            "note": f"cut off after {timeout:.0f} s",
        }
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {
            "mode": mode,
            "events": None,
            "seconds": None,
            "rss_mb": None,
            "passed": None,
            "note": f"failed: {tail}",
        }
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def bench(folder: Path, naive_timeout: float) -> list[dict[str, Any]]:
    info = json.loads((folder / "ledger.json").read_text())
    chain = EmbeddedChain(folder / "chain", port=free_port(), state_interval=3600)
    chain.start()
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="heitje-bench-") as tmp:
            work = Path(tmp)
            for mode in ("rpc", "save", "file", "incremental", "naive"):
                print(f"  {folder.name}: {mode} ...", file=sys.stderr, flush=True)
                timeout = naive_timeout if mode == "naive" else 3600
                row = run_child(mode, chain.url, info, work, timeout)
                row["ledger"] = f"{info['events']:,} events"
                rows.append(row)
    finally:
        chain.stop()
    return rows


LABELS = {
    "rpc": "heitje audit (RPC)",
    "save": "audit + ledger export",
    "file": "offline, from export",
    "incremental": "incremental, nothing new",
    "naive": "naive: web3 event filters",
}


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        f"{'ledger':<18} {'run':<27} {'events':>10} {'seconds':>9} {'events/s':>10} "
        f"{'peak MB':>8}  result",
        "-" * 98,
    ]
    for r in rows:
        rate = f"{r['events'] / r['seconds']:,.0f}" if r.get("events") and r.get("seconds") else "-"
        events = f"{r['events']:,}" if r.get("events") is not None else "-"
        seconds = f"{r['seconds']:.1f}" if r.get("seconds") is not None else "-"
        rss = str(r["rss_mb"]) if r.get("rss_mb") is not None else "-"
        result = (
            r.get("note")
            or {True: "all checks pass", False: "CHECKS FAIL", None: "supply sums agree"}[
                r["passed"]
            ]
        )
        lines.append(
            f"{r['ledger']:<18} {LABELS[r['mode']]:<27} {events:>10} {seconds:>9} "
            f"{rate:>10} {rss:>8}  {result}"
        )
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        mode, url, address, first, work = sys.argv[2:7]
        print(json.dumps(child(mode, url, address, int(first), Path(work))))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--ledger",
        type=Path,
        action="append",
        help="a folder written by ledger_gen.py (repeatable; default: "
        ".bench/ledger-100000 and .bench/ledger-1000000)",
    )
    parser.add_argument("--naive-timeout", type=float, default=600)
    args = parser.parse_args()
    folders = args.ledger or [ROOT / ".bench" / "ledger-100000", ROOT / ".bench" / "ledger-1000000"]
    missing = [f for f in folders if not (f / "ledger.json").exists()]
    if missing:
        sys.exit(
            f"no ledger in {', '.join(map(str, missing))}: build it first with "
            "`python benchmarks/ledger_gen.py --events N` (make ledger-gen)"
        )
    rows: list[dict[str, Any]] = []
    for folder in folders:
        rows += bench(folder, args.naive_timeout)
    print(table(rows))


if __name__ == "__main__":
    main()
