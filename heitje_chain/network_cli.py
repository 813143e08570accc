"""`heitje network ...`: the production network kit on the command line (see network.py and
docs/network.md). Registered by `heitje_chain.cli.build_parser`."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import Any

from heitje_chain import network as net
from heitje_chain.cli import Context, UsageError, password_for


def register(sub: Any) -> None:
    """Add the `network` command and its actions to the CLI's subparsers."""
    text = "make and maintain the production network kit (Besu QBFT validators)"
    p = sub.add_parser("network", help=text, description=text)
    p.set_defaults(func=cmd_network)
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")

    a = actions.add_parser(
        "init",
        help="create validator keys, the QBFT genesis and every node's files",
        description="Create a new network kit: one encrypted node key per validator (password "
        "from HEITJE_PASSWORD_NODE_<NAME>, then HEITJE_PASSWORD, or asked for), the QBFT "
        "genesis, and per node a Besu config, allowlists, a systemd unit and a compose file.",
    )
    a.add_argument("--name", required=True, help="the network's name, e.g. heerlen")
    a.add_argument(
        "--validators",
        required=True,
        help="comma-separated validator names, each optionally =HOST (its address on the "
        "partners' network), e.g. gemeente=10.0.0.11,cbs=10.0.0.12,parkstad,centrum",
    )
    a.add_argument("--chain-id", type=int, required=True, help="an unused chain id")
    a.add_argument("--out", required=True, help="the folder to create the kit in")
    a.add_argument("--block-period", type=int, default=2, help="seconds per block (default 2)")
    a.add_argument("--epoch-length", type=int, default=30_000, help="blocks per voting epoch")
    a.add_argument("--request-timeout", type=int, help="seconds before a round change")
    a.add_argument(
        "--gas-limit", type=int, default=30_000_000, help="block gas limit (default 30,000,000)"
    )
    a.add_argument(
        "--allow-account",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="an account allowed to send transactions (repeat; the role keys, the service's)",
    )
    a.add_argument(
        "--rpc-interface",
        choices=["internal", "loopback"],
        default="internal",
        help="JSON-RPC on each node's internal address, or on 127.0.0.1 only",
    )
    a.add_argument("--besu-image", default=net.BESU_IMAGE, help="container image for compose")

    a = actions.add_parser("add-validator", help="prepare a new validator and allow it in")
    a.add_argument("--kit", required=True, help="the network kit folder")
    a.add_argument("name", help="the new validator's name")
    a.add_argument("--host", help="its address on the partners' network")

    a = actions.add_parser("remove-validator", help="take a voted-out validator off the lists")
    a.add_argument("--kit", required=True, help="the network kit folder")
    a.add_argument("name", help="the validator's name")

    a = actions.add_parser("allow-account", help="add accounts to the accounts allowlist")
    a.add_argument("--kit", required=True, help="the network kit folder")
    a.add_argument("addresses", nargs="+", help="addresses (or key names) to allow")

    a = actions.add_parser("export-key", help="decrypt a node key into Besu's key file")
    a.add_argument("--kit", required=True, help="the network kit folder")
    a.add_argument("name", help="the validator's name")
    a.add_argument("--to", required=True, help="where to write the key file (must not exist)")

    a = actions.add_parser("extradata", help="encode (or --decode) a QBFT genesis extraData")
    a.add_argument("values", nargs="+", help="validator addresses, or one extraData to decode")
    a.add_argument("--decode", action="store_true", help="decode the extraData given")

    a = actions.add_parser(
        "vote",
        help="ask validator nodes to vote a validator in or out (qbft_proposeValidatorVote), "
        "or to withdraw their vote once it is done",
    )
    a.add_argument("change", choices=["add", "remove", "withdraw"])
    a.add_argument("address", help="the validator's address")
    a.add_argument(
        "--rpc", required=True, action="append", metavar="URL", help="a validator's RPC (repeat)"
    )
    a.add_argument(
        "--consensus", choices=net.CONSENSUS, default="qbft",
        help="qbft (Besu, the production network; default) or clique (the local geth network "
        "of `heitje network up`: clique_propose / clique_discard)",
    )  # fmt: skip

    a = actions.add_parser("validators", help="the validators of the latest block")
    a.add_argument("--rpc", required=True, metavar="URL", help="a node's RPC")
    a.add_argument("--consensus", choices=net.CONSENSUS, default="qbft",
                   help="qbft (default) or clique (clique_getSigners)")  # fmt: skip

    a = actions.add_parser(
        "up",
        help="run a local test network: N geth Clique validators on 127.0.0.1 (Ctrl-C stops)",
        description="Start N proof-of-authority validators (geth v1.13.15, Clique) on this "
        "computer, each its own process and data folder under --dir, made from a network kit "
        "(created there the first time, used again afterwards), on free loopback ports; wait "
        "until they are peered and sealing; print their RPC URLs and the settings file for "
        "the service and the heitje tool; stop them all on Ctrl-C or SIGTERM. For tests and "
        "rehearsals only: the node keys' password is written next to them.",
    )
    a.add_argument("--local", type=int, required=True, metavar="N", help="validators to run")
    a.add_argument("--dir", default=".localnet", help="the folder for the kit and the nodes")
    a.add_argument("--block-period", type=int, default=2, help="seconds per block (default 2)")
    a.add_argument("--geth", help="the geth v1.13.15 binary (default: .venv/bin/geth-clique)")


def _passwords(ctx: Context, names: list[str]) -> dict[str, str]:
    return {name: password_for(f"node-{name}", ctx.err, new=True) for name in names}


def cmd_network(ctx: Context, args: argparse.Namespace) -> int:
    action = args.action
    if action == "init":
        validators = net.parse_validators(args.validators)
        network = net.init_network(
            Path(args.out),
            args.name,
            args.chain_id,
            validators,
            _passwords(ctx, [n for n, _ in validators]),
            block_period=args.block_period,
            epoch_length=args.epoch_length,
            request_timeout=args.request_timeout,
            gas_limit=args.gas_limit,
            accounts=[ctx.address(a, "allowed account") for a in args.allow_account],
            rpc_interface=args.rpc_interface,
            besu_image=args.besu_image,
        )
        _show_network(ctx, network, Path(args.out), f"Created the {network.name} network kit")
        return 0
    if action == "add-validator":
        kit = Path(args.kit)
        network, node = net.add_validator(
            kit, args.name, args.host, password_for(f"node-{args.name}", ctx.err, new=True)
        )
        ctx.emit(
            {"name": node.name, "address": node.address, "enode": node.enode},
            f"Prepared validator {node.name}: {node.address}\n  {node.enode}\n"
            "Copy the updated permissions_config.toml and static-nodes.json to every node "
            "(then perm_reloadPermissionsFromFile), start the new node, and have more than "
            f"half of the validators vote it in:\n  heitje network vote add {node.address} "
            + " ".join(f"--rpc {n.rpc_url}" for n in network.nodes if n.name != node.name),
        )
        return 0
    if action == "remove-validator":
        network = net.remove_validator(Path(args.kit), args.name)
        _show_network(ctx, network, Path(args.kit), f"Removed {args.name} from the allowlists")
        return 0
    if action == "allow-account":
        addresses = [ctx.address(a, "account") for a in args.addresses]
        network = net.allow_accounts(Path(args.kit), addresses)
        ctx.emit(
            {"accounts": list(network.accounts)},
            f"{len(network.accounts)} account(s) on the allowlist. Copy each node's "
            "permissions_config.toml and call perm_reloadPermissionsFromFile on it.",
        )
        return 0
    if action == "export-key":
        to = Path(args.to)
        if to.exists():
            raise UsageError(f"{to} exists already; not overwritten")
        net.export_node_key(Path(args.kit), args.name, password_for(f"node-{args.name}", ctx.err),
                            to)  # fmt: skip
        ctx.emit(
            {"name": args.name, "key_file": str(to)},
            f"Wrote the node key of {args.name} to {to} (readable by its owner only). Put it "
            f"at {net.CONFIG_DIR}/key on that node's machine and nowhere else.",
        )
        return 0
    if action == "extradata":
        if args.decode:
            if len(args.values) != 1:
                raise UsageError("--decode takes one extraData value")
            extra = net.decode_qbft_extra_data(args.values[0])
            ctx.emit(
                {"validators": list(extra.validators), "round": extra.round,
                 "vote": extra.vote, "seals": len(extra.seals)},
                "\n".join(extra.validators)
                + f"\n(round {extra.round}, {len(extra.seals)} seal(s))",
            )  # fmt: skip
            return 0
        value = net.qbft_extra_data(args.values)
        ctx.emit({"extraData": value}, value)
        return 0
    if action == "vote":
        if args.change == "withdraw":
            results = net.withdraw_validator_vote(args.rpc, args.address, args.consensus)
            done = "withdrawn"
        else:
            results = net.propose_validator_vote(
                args.rpc, args.address, args.change == "add", args.consensus
            )
            done = "voted"
        ctx.emit(results, "\n".join(f"{url}: {result}" for url, result in results.items()))
        return 0 if all(r == done for r in results.values()) else 1
    if action == "up":
        return _local_up(ctx, args)
    current = net.validators_at(args.rpc, consensus=args.consensus)
    ctx.emit(current, "\n".join(current))
    return 0


def _show_network(ctx: Context, network: net.Network, kit: Path, title: str) -> None:
    data = {
        "name": network.name,
        "chain_id": network.chain_id,
        "kit": str(kit),
        "validators": [
            {"name": n.name, "address": n.address, "enode": n.enode, "rpc": n.rpc_url}
            for n in network.nodes
        ],
    }
    lines = [f"{title} in {kit} (chain {network.chain_id}, {network.block_period} s blocks)"]
    lines += [f"  {n.name:<12} {n.address}  {n.host}:{n.p2p_port}" for n in network.nodes]
    lines.append(f"Next: docs/network.md. Service settings: {kit / 'heitje.toml'}")
    ctx.emit(data, "\n".join(lines))


def _local_up(ctx: Context, args: argparse.Namespace) -> int:
    import signal
    import threading

    from heitje_chain.localnet import LocalNetwork

    if not 1 <= args.local <= 16:
        raise UsageError("--local takes 1 to 16 validators (4 survive one failing)")
    network = LocalNetwork(
        Path(args.dir), args.local, block_period=args.block_period, geth=args.geth
    )
    done = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        network.start()
        ctx.emit(
            {"urls": network.urls, "config": str(network.config_file),
             "pids": {n.name: n.pid for n in network.nodes.values()}},
            f"{len(network.nodes)} Clique validator(s) running (chain "
            f"{network.network.chain_id}, {args.block_period} s blocks, free gas):\n"
            + "\n".join(f"  {n.name:<12} {n.url}  pid {n.pid}" for n in network.nodes.values())
            + f"\nSettings: HEITJE_CONFIG={network.config_file}\nCtrl-C stops them.",
        )  # fmt: skip
        ctx.out.flush()  # seen at once by whoever started us (a pipe is block-buffered)
        with contextlib.suppress(KeyboardInterrupt):
            while not done.wait(1.0):
                gone = [n.name for n in network.nodes.values() if not n.running]
                if gone:
                    ctx.err.write(f"node(s) {', '.join(gone)} stopped; stopping the rest\n")
                    return 1
        return 0
    finally:
        network.stop()
        signal.signal(signal.SIGTERM, previous)
