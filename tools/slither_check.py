"""Run slither on contracts/Heitje.sol and hold every High/Medium finding to a written triage.

Usage: .venv/bin/python tools/slither_check.py   (or `make slither`)

How slither is run here: there is no native solc, only tools/solc-wrapper.js (installed by
tools/setup.sh as .venv/solcx/solc-v<version>), which speaks `--standard-json` only. So slither
gets a standard-JSON input file (crytic-compile's "solc-json" platform) built from the compiler
settings in brownie-config.yaml, and the wrapper as `--solc`. Brownie's build artifacts are not
used: they leave out imported sources that add no bytecode (OpenZeppelin's Math.sol, Panic.sol),
and slither needs every imported file's AST.

Only findings that touch contracts/Heitje.sol are reported (OpenZeppelin and the test-only
PlainToken are not analysed as targets). Inline `slither-disable` comments and slither.db.json
are ignored on purpose: tools/slither-triage.json is the one place where findings are accepted.

Exit status: 0 when every High/Medium finding is explained by the triage file and every triage
entry still matches a finding; 1 when a High/Medium finding is unexplained or a triage entry is
stale; 2 when slither (or this set-up) fails to run.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML (a brownie dependency), no stubs here

ROOT = Path(__file__).resolve().parent.parent
TARGET = "contracts/Heitje.sol"
TRIAGE_FILE = ROOT / "tools" / "slither-triage.json"
FAILING_IMPACTS = ("High", "Medium")
IMPACT_ORDER = ("High", "Medium", "Low", "Informational", "Optimization")
SLITHER_TIMEOUT = 900  # seconds; a run takes about 10 s

# " (contracts/Heitje.sol#269)" or " (node_modules/.../ERC20.sol#106-108)" in descriptions:
# removed before matching, so triage entries never depend on line numbers.
_LOCATION = re.compile(r"\s*\([^()\s]+#\d+(?:-\d+)?\)")


class CheckError(Exception):
    """Slither or the set-up it needs failed; the message says why."""


@dataclass(frozen=True)
class TriageEntry:
    detector: str
    match: tuple[str, ...]  # every text must occur in the finding's description
    reason: str

    def covers(self, finding: Finding) -> bool:
        return self.detector == finding.detector and all(t in finding.text for t in self.match)


@dataclass(frozen=True)
class Finding:
    impact: str
    confidence: str
    detector: str
    where: str
    text: str  # slither's description without file#line locations

    @property
    def fails_build(self) -> bool:
        return self.impact in FAILING_IMPACTS


def compiler_input() -> tuple[dict[str, Any], Path]:
    """The solc standard-JSON input for Heitje.sol, with brownie-config.yaml's settings."""
    config = yaml.safe_load((ROOT / "brownie-config.yaml").read_text(encoding="utf-8"))
    compiler = config.get("compiler", {})
    solc = compiler.get("solc", {})
    version = solc.get("version")
    if not version:
        raise CheckError("brownie-config.yaml has no compiler.solc.version")
    wrapper = ROOT / ".venv" / "solcx" / f"solc-v{version}"
    if not wrapper.is_file():
        raise CheckError(f"{wrapper.relative_to(ROOT)} is missing: run `bash tools/setup.sh` first")
    optimizer = solc.get("optimizer", {})
    settings: dict[str, Any] = {
        "remappings": list(solc.get("remappings", [])),
        "optimizer": {
            "enabled": bool(optimizer.get("enabled")),
            "runs": optimizer.get("runs", 200),
        },
    }
    if compiler.get("evm_version"):
        settings["evmVersion"] = compiler["evm_version"]
    standard_json = {
        "language": "Solidity",
        "sources": {TARGET: {"urls": [TARGET]}},  # read by the wrapper, relative to ROOT
        "settings": settings,
    }
    return standard_json, wrapper


def run_slither() -> dict[str, Any]:
    """Run slither on Heitje.sol and return its JSON output (the whole document)."""
    standard_json, wrapper = compiler_input()
    with tempfile.TemporaryDirectory(prefix="heitje-slither-") as tmp:
        input_file = Path(tmp) / "heitje-input.json"
        input_file.write_text(json.dumps(standard_json), encoding="utf-8")
        output_file = Path(tmp) / "slither.json"
        cmd = [
            sys.executable,
            "-m",
            "slither",
            str(input_file),
            "--compile-force-framework",
            "solc-json",
            "--solc",
            str(wrapper),
            "--include-paths",
            re.escape(TARGET) + "$",
            "--show-ignored-findings",  # no inline or slither.db.json suppressions
            "--fail-none",  # a non-zero exit then means slither itself failed
            "--disable-color",
            "--json",
            str(output_file),
        ]
        try:
            proc = subprocess.run(  # noqa: S603 - fixed argument list
                cmd, cwd=ROOT, capture_output=True, text=True, timeout=SLITHER_TIMEOUT, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            raise CheckError(f"cannot run slither: {err}") from err
        output = output_file.read_text(encoding="utf-8") if output_file.is_file() else ""
    try:
        result: dict[str, Any] = json.loads(output) if output else {}
    except json.JSONDecodeError:
        result = {}
    if proc.returncode != 0 or not result.get("success"):
        reason = result.get("error") or (proc.stderr.strip()[-3000:] or "no output")
        raise CheckError(f"slither failed (exit {proc.returncode}):\n{reason}")
    return result


def element_where(element: dict[str, Any]) -> str:
    """`Contract.function(args)`, `Contract.function(args).variable`, or `pragma 0.8.28`."""
    if element.get("type") == "node":  # a statement: name its function
        element = element.get("type_specific_fields", {}).get("parent", element)
    fields = element.get("type_specific_fields", {})
    name = str(fields.get("signature") or element.get("name", "?"))
    parent = fields.get("parent", {})
    if parent.get("type") == "function":
        return f"{element_where(parent)}.{name}"
    if parent.get("type") == "contract":
        return f"{parent.get('name', '?')}.{name}"
    return (
        name if element.get("type") in ("function", "contract") else f"{element.get('type')} {name}"
    )


def to_finding(result: dict[str, Any]) -> Finding:
    elements: list[dict[str, Any]] = result.get("elements", [])
    in_target = [
        e for e in elements if e.get("source_mapping", {}).get("filename_relative") == TARGET
    ]
    where = element_where(in_target[0]) if in_target else "?"
    # Statement lines where there are statements, else where the element starts (display only).
    shown = [e for e in in_target if e.get("type") == "node"] or in_target[:1]
    lines = sorted(
        {e["source_mapping"]["lines"][0] for e in shown if e["source_mapping"].get("lines")}
    )
    if lines:
        where += " L" + ",".join(map(str, lines))
    return Finding(
        impact=str(result.get("impact")),
        confidence=str(result.get("confidence")),
        detector=str(result.get("check")),
        where=where,
        text=_LOCATION.sub("", str(result.get("description", ""))).strip(),
    )


def load_triage() -> list[TriageEntry]:
    path = TRIAGE_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise CheckError(f"cannot read {path.relative_to(ROOT)}: {err}") from err
    entries: list[TriageEntry] = []
    for i, item in enumerate(raw.get("findings", [])):
        detector, match, reason = item.get("detector"), item.get("match"), item.get("reason")
        ok = (
            isinstance(detector, str)
            and isinstance(match, list)
            and match
            and all(isinstance(t, str) and t for t in match)
            and isinstance(reason, str)
            and reason.strip()
        )
        if not ok:
            raise CheckError(
                f"{path.relative_to(ROOT)}: entry {i} needs 'detector' (text), 'match' "
                "(non-empty list of texts) and 'reason' (text)"
            )
        entries.append(TriageEntry(detector, tuple(match), reason.strip()))
    return entries


def report(findings: list[Finding], triage: list[TriageEntry]) -> int:
    """Print the table and the details; return the exit status."""
    findings = sorted(
        findings,
        key=lambda f: (IMPACT_ORDER.index(f.impact) if f.impact in IMPACT_ORDER else 9, f.detector),
    )
    covering = [next((e for e in triage if e.covers(f)), None) for f in findings]
    statuses = [
        "explained" if entry else ("UNEXPLAINED" if f.fails_build else "-")
        for f, entry in zip(findings, covering, strict=True)
    ]

    rows = [("IMPACT", "CONFIDENCE", "DETECTOR", "WHERE", "STATUS")]
    rows += [
        (f.impact, f.confidence, f.detector, f.where, st)
        for f, st in zip(findings, statuses, strict=True)
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    print(f"slither on {TARGET}: {len(findings)} finding(s)\n")
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[4])

    serious = [i for i, f in enumerate(findings) if f.fails_build]
    unexplained = [i for i in serious if covering[i] is None]
    stale = [e for e in triage if not any(e.covers(f) for f in findings)]

    if serious:
        print("\nHigh/Medium findings:")
    for i in serious:
        f, entry = findings[i], covering[i]
        print(f"\n[{statuses[i]}] {f.impact} {f.detector}\n  " + f.text.replace("\n", "\n  "))
        if entry:
            print(f"  triage: {entry.reason}")

    if stale:
        print(f"\nSTALE triage entries in {TRIAGE_FILE.relative_to(ROOT)} (match no finding now):")
        for e in stale:
            print(f"  {e.detector}: {list(e.match)}")
    if unexplained:
        print(
            f"\nFAIL: {len(unexplained)} High/Medium finding(s) not explained in "
            f"{TRIAGE_FILE.relative_to(ROOT)}: fix the contract, or add a triage entry "
            "with the reason."
        )
    if stale:
        print(f"\nFAIL: {len(stale)} stale triage entr(y/ies): remove or update them.")
    if unexplained or stale:
        return 1
    print(
        f"\nOK: {len(serious)} High/Medium finding(s), all explained; "
        f"{len(findings) - len(serious)} Low/Informational/Optimization finding(s) listed above."
    )
    return 0


def main() -> int:
    try:
        triage = load_triage()
        result = run_slither()
    except CheckError as err:
        print(f"slither check could not run: {err}", file=sys.stderr)
        return 2
    detectors: list[dict[str, Any]] = result.get("results", {}).get("detectors", [])
    return report([to_finding(r) for r in detectors], triage)


if __name__ == "__main__":
    sys.exit(main())
