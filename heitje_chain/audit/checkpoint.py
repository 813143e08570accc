"""Incremental audits: the auditor's state after the last block it read, saved to a file, so
the next audit reads only the blocks after it.

The file is gzip-compressed JSON (never pickle: a checkpoint handed over by someone else must
not be able to run code). It names the chain, the contract, the block and that block's hash;
an audit resumed from it first checks that the node still has the same block there, so a
reorganised chain, another chain or another contract is refused rather than mixed in.
"""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from heitje_chain.audit.checks import Auditor
from heitje_chain.audit.signals import SignalSettings
from heitje_chain.audit.stream import AuditInputError, Head

CHECKPOINT_FORMAT = 1


@dataclass(frozen=True)
class Checkpoint:
    chain_id: int
    contract: str
    block: int
    block_hash: str
    auditor: Auditor


def save(path: Path, head: Head, auditor: Auditor) -> None:
    """Write the auditor's state at `head` (atomically: a crash leaves the old file)."""
    data = {
        "heitje_audit_checkpoint": CHECKPOINT_FORMAT,
        "chain_id": head.chain_id,
        "contract": head.contract,
        "block": head.block,
        "block_hash": head.block_hash,
        "state": auditor.state(),
    }
    tmp = path.with_name(path.name + ".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=3) as handle:
        json.dump(data, handle, separators=(",", ":"))
    os.replace(tmp, path)


def load(path: Path, settings: SignalSettings | None = None) -> Checkpoint:
    """The checkpoint in `path`; the audit resumed from it must use the same settings of the
    signals it judges while reading (`SignalSettings.STREAM`)."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            data: dict[str, Any] = json.load(handle)
    except (OSError, EOFError, ValueError) as exc:
        raise AuditInputError(f"{path} cannot be read as an audit checkpoint: {exc}") from None
    if not isinstance(data, dict) or data.get("heitje_audit_checkpoint") != CHECKPOINT_FORMAT:
        raise AuditInputError(f"{path} is not a Heitje audit checkpoint")
    state = data.get("state")
    if isinstance(state, dict) and "checks" in state and "signals" not in state:
        raise AuditInputError(
            f"{path} was written by an auditor without the fraud signals: audit from the start "
            "once (without the checkpoint, or remove it)"
        )
    saved = (state or {}).get("signals", {}).get("settings")
    wanted = (settings or SignalSettings()).stream()
    if isinstance(saved, dict) and saved != wanted:
        raise AuditInputError(
            f"{path} was made with other signal settings ("
            + ", ".join(f"{k} = {v}" for k, v in saved.items())
            + "): audit with those, or from the start (without the checkpoint)"
        )
    try:
        return Checkpoint(
            chain_id=int(data["chain_id"]),
            contract=str(data["contract"]).lower(),
            block=int(data["block"]),
            block_hash=str(data["block_hash"]),
            auditor=Auditor.from_state(data["state"], settings),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise AuditInputError(f"{path} is damaged ({exc}); audit from the start") from None
