"""The `heitje` command-line tool, run in-process against a real anvil: the municipality's
whole routine, with the bad input a person can type."""

from __future__ import annotations

import io
import json
import shlex
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from heitje_chain.cli import main
from heitje_chain.keys import KeyStore


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def home(anvil: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A Heitje home with a deployed token, role keys, a merchant and two residents."""
    path = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HEITJE_HOME", str(path))
        mp.setenv("HEITJE_RPC_URL", anvil.url)
        mp.setenv("HEITJE_PASSWORD", "correct horse battery")
        for var in ("HEITJE_CONFIG", "HEITJE_CONTRACT", "HEITJE_CHAIN_ID"):
            mp.delenv(var, raising=False)
        code, out = run("deploy", "--create-keys", "--job-office-budget", "5000")
        assert code == 0, out
        for name in ("bakery", "anouk", "bram", "anouk-new"):
            assert run("keys", "new", name)[0] == 0
        assert run("merchant", "add", "bakery")[0] == 0
        yield path


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def run_json(*argv: str, expect: int = 0) -> Any:
    code, out = run("--json", *argv)
    assert code == expect, out
    return json.loads(out)


def address(home: Path, name: str) -> str:
    return KeyStore(home / "keystores").address(name)


def test_help_is_plain(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for command in ("chain", "deploy", "reward", "merchant", "payout", "recover", "ledger"):
        assert command in text
    with pytest.raises(SystemExit):
        main(["reward", "--help"])
    assert "CSV file with columns job,resident,amount" in capsys.readouterr().out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from heitje_chain import __version__

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"heitje {__version__}"


def test_global_options_are_taken_before_or_after_the_command(home: Path) -> None:
    """`heitje audit --at N --json`, as the README writes it, and the same for every option
    that is not a command's own."""
    events = run_json("ledger", "--event", "RoleGranted")
    at = max(e["block"] for e in events)
    for argv in (["audit", "--at", str(at), "--json"], ["--json", "audit", "--at", str(at)]):
        code, out = run(*argv)
        assert code == 0, out
        assert json.loads(out)["passed"] is True
    code, out = run("balance", "anouk", "--json")
    assert code == 0 and json.loads(out)["balance"]["cents"] >= 0
    code, out = run("balance", "anouk", "--home", str(home), "--json")
    assert code == 0 and "balance" in json.loads(out)
    # --as before the command, and after it, pick the same key.
    before = run("--as", "treasurer", "--json", "merchant", "add", "bram")
    after = run("merchant", "add", "bram", "--as", "treasurer", "--json")
    assert before[0] == after[0] == 1
    assert json.loads(before[1])["error"] == json.loads(after[1])["error"] == "MissingRole"
    # A command that acts with no key says so rather than ignore --as.
    with pytest.raises(SystemExit) as exit_:
        main(["balance", "anouk", "--as", "treasurer"])
    assert exit_.value.code == 2
    # An option given twice: the one after the command counts.
    code, out = run("--home", "/nonexistent/heitje", "balance", "anouk", "--home", str(home))
    assert code == 0, out


def test_deploy_wrote_record_and_granted_roles(home: Path) -> None:
    record = json.loads((home / "deployment.json").read_text())
    assert record["chain_id"] == 31337
    roles = run_json("roles", "list")
    held = {(r["role"], r["account"]) for r in roles}
    assert ("minter", address(home, "job-office")) in held
    assert ("minter", address(home, "partner")) in held
    assert ("treasurer", address(home, "treasurer")) in held
    assert run_json("allowance", "show", "job-office")["allowance"]["cents"] == 5000_00
    code, _ = run("deploy", "--create-keys")
    assert code == 1  # a second deploy is refused without --new


def test_reward_one_job_then_again(home: Path) -> None:
    data = run_json("reward", "CLI-ONE-1", "anouk", "12.50")
    assert data["paid"] == 1 and data["jobs"][0]["status"] == "paid"
    again = run_json("reward", "CLI-ONE-1", "anouk", "12.50")
    assert again["paid"] == 0 and again["already_paid"] == 1
    balance = run_json("balance", "anouk")
    assert balance["balance"]["cents"] == 1250
    assert balance["earned"]["cents"] == 1250


def test_reward_csv_is_idempotent(home: Path, tmp_path: Path) -> None:
    anouk, bram = address(home, "anouk"), address(home, "bram")
    csv_file = tmp_path / "approved.csv"
    csv_file.write_text(
        f"job,resident,amount\nCSV-1,{anouk},5.00\nCSV-2,{bram},7,50\n".replace("7,50", '"7,50"')
        + f"CSV-3,{bram},1499.99\n"  # over the cap with CSV-2
        f"CSV-4,0xnot-an-address,1\n"
        f"CSV-1,{anouk},5.00\n"  # the same job twice in one file
    )
    before = run_json("ledger", "--event", "JobRewarded")
    report = tmp_path / "r.csv"
    first = run_json("reward", "--csv", str(csv_file), "--report", str(report), expect=1)
    statuses = [j["status"] for j in first["jobs"]]
    assert statuses == ["paid", "paid", "refused", "refused", "refused"]
    assert "yearly cap" in first["jobs"][2]["reason"]
    assert "not an Ethereum address" in first["jobs"][3]["reason"]
    assert "twice" in first["jobs"][4]["reason"]
    assert first["total_paid"]["cents"] == 500 + 750
    second = run_json("reward", "--csv", str(csv_file), expect=1)
    assert second["paid"] == 0 and second["already_paid"] == 2
    after = run_json("ledger", "--event", "JobRewarded")
    assert len(after) - len(before) == 2  # two rewards on-chain, not four
    lines = report.read_text().splitlines()
    assert lines[0].startswith("job,job_id,resident,amount,status")
    assert len(lines) == 6
    code, _ = run("reward", "--csv", str(csv_file))
    assert code == 1  # refused lines make the exit code non-zero


def test_reward_csv_needs_the_columns(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("who,what\nx,y\n")
    code, _ = run("reward", "--csv", str(bad))
    assert code == 1
    code, _ = run("reward", "--csv", str(tmp_path / "missing.csv"))
    assert code == 1


@pytest.mark.parametrize("amount", ["1.5e3", "-5", "0", "12.345", "1,500", "abc"])
def test_bad_amounts_are_refused_before_anything_happens(home: Path, amount: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["reward", "CLI-BAD", "anouk", amount])
    assert exit_.value.code == 2


def test_bad_address_is_refused(home: Path) -> None:
    code, out = run("--json", "balance", "0x52908400098527886E0F7030069857D2E4169EE7".lower()[:-1])
    assert code == 1 and json.loads(out)["error"] == "InvalidAddress"
    code, _ = run("balance", "nobody")
    assert code == 1


def test_payment_redemption_payout(home: Path) -> None:
    from heitje_chain.config import load_config
    from heitje_chain.connect import connect

    client = connect(load_config())
    store = KeyStore(home / "keystores")
    anouk = store.load("anouk", "correct horse battery")
    run_json("reward", "CLI-PAY-1", "anouk", "20")
    client.pay(anouk, address(home, "bakery"), 8_00, "BAK-0001")
    redemption = run_json("redeem", "5", "--as", "bakery")
    assert redemption["amount"]["cents"] == 500
    open_ = run_json("payout", "list")
    assert [r["id"] for r in open_] == [redemption["id"]]
    done = run_json("payout", "confirm", str(redemption["id"]), "SEPA-2026-0001")
    assert done["paid"] and done["reference"] == "SEPA-2026-0001"
    assert run_json("payout", "list") == []
    code, out = run("--json", "payout", "confirm", str(redemption["id"]), "SEPA-2026-0002")
    assert code == 1 and json.loads(out)["error"] == "RedemptionAlreadyPaid"
    merchants = run_json("merchant", "list")
    assert merchants[0]["balance"]["cents"] == 300


def test_recover_pause_and_cap(home: Path) -> None:
    run_json("reward", "CLI-REC-1", "bram", "3")
    data = run_json("recover", "bram", "anouk-new")
    assert data["moved"]["cents"] > 0
    assert run_json("balance", "bram").get("retired") is True
    assert run_json("pause")["paused"] is True
    code, out = run("--json", "reward", "CLI-PAUSED", "anouk", "1")
    assert code == 1 and json.loads(out)["error"] == "Paused"
    assert run_json("unpause")["paused"] is False
    assert run_json("cap", "set", "1800")["yearly_cap"]["cents"] == 1800_00
    assert run_json("cap", "show")["yearly_cap"]["eur"] == "1800.00"


def test_a_key_without_the_role_is_refused(home: Path) -> None:
    code, out = run("--json", "merchant", "add", "bram", "--as", "treasurer")
    assert code == 1
    error = json.loads(out)
    assert error["error"] == "MissingRole"
    assert "MERCHANT_MANAGER_ROLE" in error["message"]


def test_wrong_password_is_a_clear_error(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEITJE_PASSWORD_PAUSER", "not the password")
    code, out = run("--json", "pause")
    assert code == 1 and "wrong password" in json.loads(out)["message"]


def test_ledger_csv(home: Path, tmp_path: Path) -> None:
    target = tmp_path / "ledger.csv"
    data = run_json("ledger", "--csv", str(target))
    lines = target.read_text().splitlines()
    assert data["events"] == len(lines) - 1 > 10
    assert lines[0].startswith("block,tx,log_index,event")
    code, _ = run("ledger", "--event", "NoSuchEvent")
    assert code == 1


def test_chain_up_status_down_keeps_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded chain: started, used, stopped and started again with its state."""
    monkeypatch.setenv("HEITJE_HOME", str(tmp_path))
    monkeypatch.setenv("HEITJE_EMBEDDED_PORT", str(_free_port()))
    monkeypatch.setenv("HEITJE_PASSWORD", "correct horse battery")
    for var in ("HEITJE_RPC_URL", "HEITJE_CONFIG", "HEITJE_CONTRACT", "HEITJE_CHAIN_ID"):
        monkeypatch.delenv(var, raising=False)
    code, out = run("chain", "status")
    assert code == 3 and "not running" in out
    code, out = run("balance", "0x52908400098527886E0F7030069857D2E4169EE7")
    assert code == 1  # no token deployed yet: a clear error, not a crash
    try:
        assert run_json("chain", "up")["running"] is True
        assert run("deploy", "--create-keys", "--job-office-budget", "100")[0] == 0
        assert run("keys", "new", "resident")[0] == 0
        assert run_json("reward", "CHAIN-1", "resident", "2.50")["paid"] == 1
        assert run_json("chain", "down")["stopped"] is True
        code, _ = run("balance", "resident")
        assert code == 1  # the chain is down: refused with a message
        assert run_json("chain", "up")["running"] is True
        assert run_json("balance", "resident")["balance"]["cents"] == 250
        assert run_json("reward", "CHAIN-1", "resident", "2.50")["already_paid"] == 1
    finally:
        run("chain", "down")


def _complete(script: str, *words: str) -> list[str]:
    """What bash offers for the line `words` (the last one being typed), with `script`."""
    line = " ".join(shlex.quote(w) for w in words)
    program = (
        f"{script}\nCOMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; _heitje; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    done = subprocess.run(
        ["bash", "-c", program], capture_output=True, text=True, check=True, timeout=20
    )
    return done.stdout.split()


def test_bash_completion_offers_the_commands_and_their_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEITJE_HOME", str(tmp_path))
    code, script = run("completion", "bash")
    assert code == 0 and "complete -o default -F _heitje heitje" in script
    assert _complete(script, "heitje", "pay") == ["payout"]
    options = ["--all", "--as", "--config", "--deployment", "--help", "--home", "--json"]
    assert _complete(script, "heitje", "payout", "") == sorted([*options, "confirm", "list"])
    assert _complete(script, "heitje", "audit", "--at", "5", "--j") == ["--jobs", "--json"]
    assert _complete(script, "heitje", "--home", "x", "chain", "u") == ["up"]
    assert _complete(script, "heitje", "--vers") == ["--version"]
