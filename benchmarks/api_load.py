"""Load on the service: N residents paying merchants at once, and N approvals at once, by 50
parallel clients over HTTP to the API running in a second process; while each burst runs,
another resident keeps reading the job list (`GET /jobs`), an unrelated read that a burst of
writes must not slow down. Next to it the same payments and rewards made directly through
heitje_chain, to show what the API layer costs.

    python benchmarks/api_load.py            (N = 100, 50 clients, SQLite and PostgreSQL)
    python benchmarks/api_load.py -n 300 --clients 16 --database postgresql

Prints requests/second and p50/p99 latency per operation, the unrelated read's p50/p99
during each burst, and every 5xx answer (and every error that is not JSON) counted per
operation: the target is the read's p99 under 200 ms and no 5xx. Everything runs on this
machine: the embedded chain (anvil), the API (uvicorn, one process, on SQLite or on a
PostgreSQL started for the run with its normal durability) and the load (threads).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.pg import TMP_PREFIX, start_postgres

from api.demo import PASSWORD, ensure_deployed
from heitje_chain.client import RewardRow
from heitje_chain.config import load_config
from heitje_chain.connect import connect
from heitje_chain.keys import KeyStore, LocalSigner
from heitje_chain.node import EmbeddedChain, free_port

DATABASES = ["sqlite", "postgresql"]
Result = tuple[str, int, float, list[float]]  # operation, N, seconds, latencies
#: 5xx answers and errors that are not JSON, per operation (what the target says must be 0)
BAD: Counter[str] = Counter()
_bad_lock = threading.Lock()


def checked(name: str, send: Callable[[], httpx.Response]) -> None:
    """Make the request `send`; count a 5xx answer, an error answer that is not JSON, or no
    answer at all (a connection reset or a timeout) for `name`; raise on any other error (a
    4xx means the benchmark itself is wrong)."""
    try:
        answer = send()
    except httpx.TransportError as exc:
        with _bad_lock:
            BAD[f"{name}: no answer ({type(exc).__name__})"] += 1
        return
    if answer.status_code < 400:
        return
    try:
        json_error = isinstance(answer.json(), dict)
    except ValueError:
        json_error = False
    if answer.status_code >= 500 or not json_error:
        with _bad_lock:
            BAD[f"{name}: {answer.status_code}{'' if json_error else ' (not JSON)'}"] += 1
        return
    answer.raise_for_status()


def timed(calls: list[Callable[[], None]], clients: int) -> tuple[float, list[float]]:
    """Run the calls on `clients` threads; total seconds and each call's latency."""
    latencies: list[float] = []

    def one(call: Callable[[], None]) -> None:
        start = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, calls))
    return time.perf_counter() - start, latencies


def timed_with_reader(
    calls: list[Callable[[], None]], clients: int, read: Callable[[], None]
) -> tuple[float, list[float], list[float]]:
    """`timed`, while one more thread keeps making the unrelated `read` until the calls are
    done; also the read's latencies."""
    reads: list[float] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            start = time.perf_counter()
            read()
            reads.append(time.perf_counter() - start)
            done.wait(0.02)

    thread = threading.Thread(target=reader, name="unrelated-read")
    thread.start()
    try:
        seconds, latencies = timed(calls, clients)
    finally:
        done.set()
        thread.join(120)
    return seconds, latencies, reads


def row(name: str, n: int, seconds: float, latencies: list[float]) -> str:
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return (
        f"| {name} | {n} | {seconds:.2f} | {n / seconds:,.1f} | "
        f"{q[49] * 1000:,.0f} | {q[98] * 1000:,.0f} |"
    )


def measure(n: int, clients: int, database_url: str | None) -> tuple[list[Result], float]:
    """Start a chain and the API (on SQLite, or on `database_url`), drive the load; the rows
    measured and the seconds the worker took to pay the approved rewards after the last."""
    with tempfile.TemporaryDirectory(prefix="heitje-load-") as tmp:
        home = Path(tmp)
        chain = EmbeddedChain(home / "chain", port=free_port())
        chain.start()
        api_port = free_port()
        env = {
            **os.environ,
            "HEITJE_HOME": str(home),
            "HEITJE_RPC_URL": chain.url,
            "HEITJE_PASSWORD": PASSWORD,
            "HEITJE_API_DATABASE_URL": database_url or f"sqlite:///{home / 'api.db'}",
            "HEITJE_API_WALLET_KDF_ITERATIONS": "100000",
            "HEITJE_API_LIMIT_SIGNUPS": "100000/60",  # every resident signs up from here
        }
        os.environ.update({k: env[k] for k in ("HEITJE_HOME", "HEITJE_RPC_URL", "HEITJE_PASSWORD")})
        ensure_deployed(home, chain.url)
        server = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", "api", "--port", str(api_port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        base = f"http://127.0.0.1:{api_port}"
        try:
            room = clients + 8
            # keep-alive shorter than uvicorn's 5 s: no request on a connection it is closing
            limits = httpx.Limits(
                max_connections=room, max_keepalive_connections=room, keepalive_expiry=1
            )
            http = httpx.Client(base_url=base, timeout=120, limits=limits)
            for _ in range(200):
                try:
                    http.get("/openapi.json")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)

            def login(user: str, password: str = PASSWORD) -> dict[str, str]:
                answer = http.post("/auth/login", json={"username": user, "password": password})
                answer.raise_for_status()
                return {"Authorization": f"Bearer {answer.json()['token']}"}

            admin = login("admin", "development-admin")
            office_body = {"name": "Job office", "key_name": "job-office"}
            issuer = http.post("/issuers", headers=admin, json=office_body).json()
            for user, role in (("jo", "issuer"), ("insp", "inspector")):
                body = {"username": user, "password": PASSWORD, "role": role}
                if role == "issuer":
                    body["issuer_id"] = issuer["id"]
                http.post("/staff", headers=admin, json=body).raise_for_status()
            shop_body = {"name": "Bakkerij", "neighbourhood": "Palemig",
                         "iban": "NL91ABNA0417164300", "password": PASSWORD}  # fmt: skip
            shop = http.post("/merchants", json=shop_body).json()
            http.post(f"/merchants/{shop['id']}/approve", headers=admin).raise_for_status()
            print(f"... registering {n} residents", file=sys.stderr, flush=True)
            residents = []
            for i in range(n):
                body = {"pseudonym": f"L-{i:05d}", "neighbourhood": "Palemig", "password": PASSWORD}
                address = http.post("/residents", json=body).json()["address"]
                residents.append((login(body["pseudonym"]), address))
            # Balances to spend, straight on-chain (not what is measured).
            client = connect(load_config(environ=env))
            office = KeyStore(home / "keystores").load("job-office", PASSWORD)
            client.reward_jobs(
                office, [RewardRow(f"seed-{i}", a, 50_00) for i, (_, a) in enumerate(residents)]
            )
            body = {"pseudonym": "L-reader", "neighbourhood": "Palemig", "password": PASSWORD}
            http.post("/residents", json=body).raise_for_status()
            reader = login("L-reader")  # reads the job list while the others write
            issuer_token, inspector = login("jo"), login("insp")
            claims = []
            print(f"... {n} jobs claimed and done", file=sys.stderr, flush=True)
            for i, (token, _) in enumerate(residents):
                job_body = {"title": f"Job {i}", "description": "load", "reward": "1",
                            "neighbourhood": "Palemig",
                            "deadline": str(date.today() + timedelta(days=3))}  # fmt: skip
                job = http.post("/jobs", headers=issuer_token, json=job_body).json()
                claim = http.post(f"/jobs/{job['id']}/claim", headers=token).json()
                http.post(f"/claims/{claim['id']}/done", headers=token, json={}).raise_for_status()
                claims.append(claim["id"])

            def api_pay(i: int) -> Callable[[], None]:
                token = residents[i][0]
                body = {"merchant_code": shop["code"], "amount": "1.25", "receipt": f"L-{i}",
                        "request_id": f"load-pay-{i:06d}"}  # fmt: skip
                name = "API: pay a merchant"
                return lambda: checked(
                    name, lambda: http.post("/payments", headers=token, json=body)
                )

            def api_approve(claim_id: int) -> Callable[[], None]:
                url, name = f"/claims/{claim_id}/approve", "API: approve a job"
                return lambda: checked(name, lambda: http.post(url, headers=inspector, json={}))

            def read_jobs() -> None:
                checked("API: GET /jobs", lambda: http.get("/jobs?limit=20", headers=reader))

            print("... measuring", file=sys.stderr, flush=True)
            results: list[Result] = []
            for name, calls in (
                ("API: pay a merchant", [api_pay(i) for i in range(n)]),
                ("API: approve a job", [api_approve(c) for c in claims]),
            ):
                seconds, latencies, reads = timed_with_reader(calls, clients, read_jobs)
                results.append((name, n, seconds, latencies))
                read_name = f"API: GET /jobs by another resident, during '{name[5:]}'"
                results.append((read_name, len(reads), seconds, reads))
            # The API's rewards: the worker pays the approvals, before the library rows use
            # the job office's key too (one key in two processes at once: nonces collide).
            start = time.perf_counter()
            while time.perf_counter() - start < 300:
                page = http.get("/claims?status=approved&limit=1000", headers=inspector).json()
                approved = page["items"]  # those whose approval failed (a 5xx) are not waited for
                if all(c["payment"] == "paid" for c in approved):
                    break
                time.sleep(0.2)
            worker_seconds = time.perf_counter() - start
            # The same through heitje_chain directly: fresh residents with balances.
            direct = [LocalSigner.create() for _ in range(n)]
            client.reward_jobs(
                office, [RewardRow(f"direct-{i}", s.address, 50_00) for i, s in enumerate(direct)]
            )

            def lib_pay(i: int) -> Callable[[], None]:
                return lambda: client.pay(direct[i], shop["address"], 1_25, f"D-{i}") and None

            results.append(
                ("heitje_chain: pay", n, *timed([lib_pay(i) for i in range(n)], clients))
            )

            def lib_reward(i: int) -> Callable[[], None]:
                return lambda: (
                    client.reward_job(office, f"direct-job-{i}", direct[i].address, 1_00) and None
                )

            results.append(
                (
                    "heitje_chain: reward one job",
                    n,
                    *timed([lib_reward(i) for i in range(n)], clients),
                )
            )
        finally:
            server.terminate()
            server.wait(30)
            chain.stop()
    return results, worker_seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=100, help="payments and approvals (N)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument(
        "--database", choices=[*DATABASES, "both"], default="both",
        help="the service's database: SQLite (a file), PostgreSQL (a throwaway server started "
        "from the machine's binaries, with its normal durability settings), or both",
    )  # fmt: skip
    args = parser.parse_args()
    rows: list[tuple[str, Result]] = []
    notes = []
    bad: dict[str, int] = {}  # per database
    for database in DATABASES if args.database == "both" else [args.database]:
        print(f"... {database}", file=sys.stderr, flush=True)
        if database == "postgresql":
            pg_dir = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir="/tmp"))
            server = start_postgres(pg_dir, database="heitje_bench", durable=True)
            try:
                results, worker_seconds = measure(args.n, args.clients, server.url)
            finally:
                server.stop()
        else:
            results, worker_seconds = measure(args.n, args.clients, None)
        rows += [(database, r) for r in results]
        bad.update({f"{database}: {what}": count for what, count in BAD.items()})
        BAD.clear()
        notes.append(f"{database}: the worker paid the approved rewards on-chain "
                     f"within {worker_seconds:.1f} s after the last approval.")  # fmt: skip
    print()
    print(f"N = {args.n}, {args.clients} concurrent clients; latencies in milliseconds; the "
          "heitje_chain rows use no database and are measured again in each run")  # fmt: skip
    print()
    print("| database | operation | N | seconds | per second | p50 | p99 |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for database, (name, count, seconds, latencies) in rows:
        print(f"| {database} " + row(name, count, seconds, latencies))
    print()
    for note in notes:
        print(note)
    reads = [r for _, r in rows if "GET /jobs" in r[0]]
    worst = max((statistics.quantiles(r[3], n=100)[98] for r in reads if len(r[3]) > 1), default=0)
    print(f"The unrelated read's worst p99: {worst * 1000:,.0f} ms (target: under 200 ms).")
    print(
        f"5xx answers, errors that are not JSON and requests without an answer: "
        f"{sum(bad.values())} (target: none)"
    )
    for what, count in sorted(bad.items()):
        print(f"  {what}: {count}")
    if args.json:
        figures = [
            {"database": d, "operation": r[0], "n": r[1], "seconds": r[2],
             "p50_ms": statistics.median(r[3]) * 1000 if r[3] else None,
             "p99_ms": statistics.quantiles(r[3], n=100)[98] * 1000 if len(r[3]) > 1 else None}
            for d, r in rows
        ]  # fmt: skip
        args.json.write_text(json.dumps({"rows": figures, "bad": bad}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
