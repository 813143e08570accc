"""The runbook's validator steps run for real on four geth Clique validators (docs/network.md,
sections 4, 5 and 7): a fifth validator added (its key and kit files, its node syncing from
empty) becomes a sealer only after a majority voted it in with `heitje network vote add
--consensus clique`; a genesis validator voted out (`vote remove`) stops sealing and is taken
off the kit (`network.remove_validator`); a validator whose chain data was lost is started
again with its key, syncs and seals again."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from heitje_chain import network as net
from heitje_chain.localnet import LocalNetwork


def say(text: str) -> None:
    print(f"[votes] {text}", flush=True)


def heitje(*args: str) -> tuple[int, object]:
    """The `heitje` command, as the runbook has the administrator type it; (code, its JSON)."""
    tool = Path(sys.executable).parent / "heitje"
    done = subprocess.run(
        [str(tool), "--json", *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def wait_for(what: str, check: Callable[[], bool], timeout: float = 60) -> float:
    began = time.monotonic()
    while not check():
        assert time.monotonic() - began < timeout, f"{what}: not within {timeout:g} s"
        time.sleep(0.25)
    return time.monotonic() - began


def sealers(net_: LocalNetwork, first: int, last: int) -> list[str]:
    return [net_.sealer_of(n).lower() for n in range(first, last + 1)]


def test_validators_voted_in_and_out_and_a_node_recovered(shared_clique: LocalNetwork) -> None:
    started = time.monotonic()
    clique = shared_clique
    urls = {n.name: n.url for n in clique.validators}
    code, listed = heitje("network", "validators", "--rpc", urls["validator1"],
                          "--consensus", "clique")  # fmt: skip
    assert code == 0 and isinstance(listed, list) and len(listed) == 4

    # --- section 4: a new validator; it syncs but does not seal before the vote -----------
    fifth = clique.add_validator("validator5")
    new = fifth.signer
    assert new is not None
    assert "validator5" in [n.name for n in net.load(clique.kit).nodes]
    joined = max(clique.heights().values())
    time.sleep(3)
    head = max(clique.heights().values())
    assert new.lower() not in sealers(clique, joined, head), "it sealed before it was voted in"
    say(f"validator5 ({new}) added with an empty data folder, synced to #{joined}; "
        f"blocks #{joined}-#{head} sealed by others only")  # fmt: skip
    voters = [urls[f"validator{i}"] for i in (1, 2, 3)]
    code, votes = heitje("network", "vote", "add", new, "--consensus", "clique",
                         *[a for u in voters for a in ("--rpc", u)])  # fmt: skip
    assert code == 0 and votes == dict.fromkeys(voters, "voted"), votes
    took = wait_for("validator5 voted in", lambda: new in clique.signers(), 60)
    voted_in = max(clique.heights().values())
    wait_for("validator5 seals a block",
             lambda: new.lower() in sealers(clique, voted_in, max(clique.heights().values())),
             60)  # fmt: skip
    code, withdrawn = heitje("network", "vote", "withdraw", new, "--consensus", "clique",
                             *[a for u in voters for a in ("--rpc", u)])  # fmt: skip
    assert code == 0 and set(withdrawn.values()) == {"withdrawn"}  # type: ignore[union-attr]
    say(f"3 of 4 validators voted it in (heitje network vote add --consensus clique): a "
        f"signer {took:.1f} s later at #{voted_in}, sealing since; votes withdrawn")  # fmt: skip

    # --- section 5: a genesis validator voted out; it stops sealing -----------------------
    old = clique.node("validator1").signer
    assert old is not None
    voters = [urls["validator2"], urls["validator3"], fifth.url]
    code, votes = heitje("network", "vote", "remove", old, "--consensus", "clique",
                         *[a for u in voters for a in ("--rpc", u)])  # fmt: skip
    assert code == 0, votes
    took = wait_for("validator1 voted out", lambda: old not in clique.signers(), 60)
    out_at = max(clique.heights().values())
    heitje("network", "vote", "withdraw", old, "--consensus", "clique",
           *[a for u in voters for a in ("--rpc", u)])  # fmt: skip
    wait_for("6 more blocks", lambda: max(clique.heights().values()) >= out_at + 6, 60)
    after = max(clique.heights().values())
    assert clique.node("validator1").running, "it still runs with --mine"
    assert old.lower() not in sealers(clique, out_at + 1, after), "it sealed after its removal"
    code, listed = heitje("network", "validators", "--rpc", urls["validator2"],
                          "--consensus", "clique")  # fmt: skip
    assert code == 0 and isinstance(listed, list)
    assert sorted(a.lower() for a in listed) == sorted(
        (n.signer or "").lower() for n in clique.validators if n.name != "validator1"
    )
    kit = net.remove_validator(clique.kit, "validator1")
    assert "validator1" not in [n.name for n in kit.nodes]
    clique.stop_node("validator1")
    say(
        f"3 of 5 voted validator1 out: gone from the signers {took:.1f} s later at #{out_at}; "
        f"blocks #{out_at + 1}-#{after} sealed without it; off the kit and stopped"
    )

    # --- section 7: a validator's data lost; started again with its key, it syncs and seals
    lost = clique.node("validator3")
    clique.wipe("validator3")
    clique.start_node("validator3")
    back = max(clique.heights().values())
    wait_for("validator3 seals again",
             lambda: (lost.signer or "").lower()
             in sealers(clique, back, max(clique.heights().values())), 60)  # fmt: skip
    with clique.sealing_paused() as heads:
        assert len(set(heads.values())) == 1, heads
        height, head_hash = next(iter(heads.values()))
    say(
        f"validator3 emptied and started again with its key: synced to #{back} and sealing; "
        f"every node at #{height} {head_hash[:18]}; {time.monotonic() - started:.0f} s"
    )
