"""`heitje audit` on the command line: the summary, --json, --out, --at, the ledger export
and the exit codes (0 every check passed, 3 a check failed, 1 refused)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from audit_ledgers import World

from heitje_chain.cli import main
from heitje_chain.config import write_deployment


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


@pytest.fixture
def home(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    write_deployment(path / "deployment.json", world.deployment)
    monkeypatch.setenv("HEITJE_HOME", str(path))
    monkeypatch.setenv("HEITJE_RPC_URL", world.client.rpc.url)
    for var in ("HEITJE_CONFIG", "HEITJE_CONTRACT", "HEITJE_CHAIN_ID"):
        monkeypatch.delenv(var, raising=False)
    c, r = world.client, world.residents
    c.reward_job(world.job_office, "cli-1", r[0].address, 10_00)
    c.pay(r[0], world.merchants[0].address, 3_00, "R-1")
    return path


def test_audit_prints_a_summary_and_writes_the_report(home: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "report"
    code, text = run("audit", "--out", str(out_dir))
    assert code == 0, text
    assert "Result: all 7 checks passed." in text
    assert "block hash 0x" in text
    assert {"report.json", "report.html", "check-supply.csv", "role-history.csv"} <= {
        p.name for p in out_dir.iterdir()
    }
    supply_csv = (out_dir / "check-supply.csv").read_text()
    assert supply_csv == "check,problem,block,tx,log_index\n"  # passed: no records
    code, text = run("--json", "audit")
    assert code == 0
    report = json.loads(text)
    assert report["figures"]["supply"] == 10_00


def test_audit_at_a_block_and_offline(home: Path, world: World, tmp_path: Path) -> None:
    at = world.client.rpc.block_number()
    world.client.reward_job(world.job_office, "cli-2", world.residents[1].address, 5_00)
    code, text = run("--json", "audit", "--at", str(at), "--save-ledger", str(tmp_path / "l.jsonl"))
    assert code == 0, text
    assert json.loads(text)["figures"]["supply"] == 10_00
    code, text = run("audit", "--ledger", str(tmp_path / "l.jsonl"))
    assert code == 0, text
    assert f"at block {at}" in text
    # A tampered export: a check fails, exit code 3.
    lines = (tmp_path / "l.jsonl").read_text().splitlines()
    from heitje_chain.audit.checks import topics

    reward_topic = topics()["JobRewarded"]
    kept = [line for line in lines if reward_topic not in line]
    (tmp_path / "bad.jsonl").write_text("\n".join(kept) + "\n")
    code, text = run("audit", "--ledger", str(tmp_path / "bad.jsonl"))
    assert code == 3
    assert "FAIL" in text and "Heitjes minted without a JobRewarded event" in text


def test_audit_refuses_plainly(
    home: Path, world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run("audit", "--at", str(world.client.rpc.block_number() + 100))
    assert code == 1
    assert "is not on the chain yet" in capsys.readouterr().err
    code, _ = run("audit", "--ledger", "/nonexistent/ledger.jsonl")
    assert code == 1
    assert "cannot be read as a ledger export" in capsys.readouterr().err
    code, _ = run("audit", "--ledger", "x.jsonl", "--at", "3")
    assert code == 1
    assert "--at and --save-ledger need a node" in capsys.readouterr().err


def test_audit_signal_settings_from_options_and_the_config_file(
    home: Path, world: World, tmp_path: Path
) -> None:
    """One refund of a payment's exact amount: no loop at the default of 3 refunds, a loop at
    --loop-count 1, and so with loop_count = 1 in the config file's [audit] section; the
    option wins over the file. report.html in English with --lang en."""
    world.client.refund(world.merchants[0], world.residents[0].address, 3_00, "R-1 back")
    code, text = run("--json", "audit")
    assert code == 0
    report = json.loads(text)
    loops = next(s for s in report["signals"] if s["name"] == "refund_loops")
    assert loops["status"] == "quiet" and report["signal_settings"]["loop_count"] == 3
    out_dir = tmp_path / "report"
    code, text = run("audit", "--loop-count", "1", "--out", str(out_dir), "--lang", "en")
    assert code == 0, text  # a signal is no failure: exit code 0
    assert "[ LOOK ] Payment-and-refund loops: 1 record(s)" in text
    assert "threshold: 1 or more refunds" in text
    html = (out_dir / "report.html").read_text()
    assert "<html lang='en'>" in html and "Payment-and-refund loops" in html
    assert "signal-refund_loops.csv" in {p.name for p in out_dir.iterdir()}
    (home / "heitje.toml").write_text('[audit]\nloop_count = 1\nquick_min_reward = "20.00"\n')
    code, text = run("--json", "audit")
    report = json.loads(text)
    assert report["signal_settings"]["loop_count"] == 1
    assert report["signal_settings"]["quick_min_reward"] == 20_00
    assert next(s for s in report["signals"] if s["name"] == "refund_loops")["shown"] == 1
    code, text = run("--json", "audit", "--loop-count", "2")
    assert json.loads(text)["signal_settings"]["loop_count"] == 2
    code, text = run("audit", "--out", str(tmp_path / "nl"))
    assert "<html lang='nl'>" in (tmp_path / "nl" / "report.html").read_text()


def test_audit_refuses_bad_signal_settings_and_a_checkpoint_of_others(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run("audit", "--cap-fraction", "2")
    assert code == 1
    assert "cap_fraction is a share" in capsys.readouterr().err
    code, _ = run("audit", "--loop-count", "x")
    assert code == 1
    assert "--loop-count 'x' is not a number" in capsys.readouterr().err
    checkpoint = tmp_path / "audit.ckpt"
    assert run("audit", "--checkpoint", str(checkpoint))[0] == 0
    assert run("audit", "--checkpoint", str(checkpoint))[0] == 0
    code, _ = run("audit", "--checkpoint", str(checkpoint), "--cap-days", "5")
    assert code == 1
    assert "other signal settings (cap_fraction = 0.9, cap_days = 60)" in capsys.readouterr().err
    # Settings judged at the end (not while reading) may change between incremental runs.
    assert run("audit", "--checkpoint", str(checkpoint), "--loop-count", "1")[0] == 0
