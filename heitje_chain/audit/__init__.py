"""The auditor: verifies the whole Heitje ledger from the chain alone (an RPC endpoint and the
contract address) or from a ledger export, and reports on it.

    from heitje_chain.audit import audit, rpc_source
    report = audit(rpc_source(client), exports=Exports())
    report["passed"], report["checks"]

`checks.py` holds the rules (one streaming pass over the raw logs), `signals.py` the fraud
signals (patterns to look at, not failures), `report.py` the checks that
need the whole ledger and the report's forms, `html.py` the offline HTML report, `stream.py`
where the logs come from, `checkpoint.py` the incremental mode, `exports.py` the service's
CSV exports it reconciles against. The `heitje audit` command (cli.py) drives it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from heitje_chain.audit import checkpoint as checkpoints
from heitje_chain.audit.checks import Auditor, Check
from heitje_chain.audit.report import Exports, build_report, summary, write_report
from heitje_chain.audit.signals import SignalSettings
from heitje_chain.audit.stream import (
    AuditInputError,
    FileLogSource,
    LedgerWriter,
    LogSource,
    OnChain,
    RpcLogSource,
    block_header,
)
from heitje_chain.client import HeitjeClient


def rpc_source(
    client: HeitjeClient, at: int | None = None, *, max_range: int = 5000, confirmations: int = 0
) -> RpcLogSource:
    """The contract's logs from its node, up to block `at` (default: the last final block)."""
    return RpcLogSource(client.ledger(max_range, confirmations), client.chain_id, at)


def audit(
    source: LogSource,
    exports: Exports | None = None,
    *,
    checkpoint: Path | None = None,
    save_ledger: Path | None = None,
    balances: bool = True,
    progress: Callable[[int, int], None] | None = None,
    settings: SignalSettings | None = None,
) -> dict[str, Any]:
    """Audit the ledger of `source` and return the report (a JSON-ready dict).

    `checkpoint`: resume from this file when it exists (reading only the blocks after it) and
    save the state there at the end. `save_ledger`: also write the logs read to a ledger
    export for an offline audit. `balances`: compare every holder's balance with the node's
    (one batched call per 500 holders). `progress(events, block)` is called after each
    answer of the node. `settings`: the thresholds of the fraud signals (default:
    `SignalSettings()`).
    """
    head = source.head
    settings = settings or SignalSettings()
    auditor = Auditor(settings)
    resumed: int | None = None
    if checkpoint is not None and checkpoint.exists():
        if save_ledger is not None:
            raise AuditInputError(
                "a ledger export holds the whole ledger: write it without --checkpoint"
            )
        saved = checkpoints.load(checkpoint, settings)
        _check_resume(saved, source)
        auditor, resumed = saved.auditor, saved.block
    writer = LedgerWriter(save_ledger, head) if save_ledger is not None else None
    looked_up: dict[str, str] = {}

    def senders(hashes: Iterable[str]) -> dict[str, str]:
        found = source.senders(hashes)
        looked_up.update(found)
        return found

    try:
        for chunk in source.chunks(after=resumed):
            auditor.feed(chunk)
            if writer is not None:
                writer.write(chunk)
            if progress is not None:
                progress(auditor.events, auditor.block)
        auditor.end()
        auditor.resolve_senders(senders)
        accounts = list(auditor.balances) if balances else []
        on_chain = source.on_chain(accounts)
        if not balances:
            on_chain = OnChain(
                on_chain.total_supply,
                None,
                on_chain.note or "balances were not compared with the node's (--no-balance-check)",
            )
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    if writer is not None:
        writer.close(looked_up, on_chain.total_supply)
    if checkpoint is not None:
        checkpoints.save(checkpoint, head, auditor)
    return build_report(
        auditor,
        head,
        on_chain,
        exports or Exports(),
        origin=source.origin,
        resumed_from=resumed,
        settings=settings,
    )


def _check_resume(saved: checkpoints.Checkpoint, source: LogSource) -> None:
    head = source.head
    if (saved.chain_id, saved.contract) != (head.chain_id, head.contract):
        raise AuditInputError(
            f"the checkpoint is of contract {saved.contract} on chain {saved.chain_id}, not of "
            f"{head.contract} on chain {head.chain_id}"
        )
    if saved.block > head.block:
        raise AuditInputError(
            f"the checkpoint is at block {saved.block}, after the block to audit ({head.block});"
            " audit a later block, or without the checkpoint"
        )
    if isinstance(source, RpcLogSource):
        now = str(block_header(source.rpc, saved.block)["hash"])
        if now != saved.block_hash:
            raise AuditInputError(
                f"block {saved.block} of the checkpoint now has hash {now}, not "
                f"{saved.block_hash}: the chain was reorganised or reset. Audit from the "
                "start (remove the checkpoint file)"
            )


__all__ = [
    "AuditInputError",
    "Auditor",
    "Check",
    "Exports",
    "FileLogSource",
    "RpcLogSource",
    "SignalSettings",
    "audit",
    "rpc_source",
    "summary",
    "write_report",
]
