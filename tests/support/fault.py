"""Pieces of the concurrency and fault tests (tests/fault), reusable elsewhere:

- `Stack`: the real service (`python -m api`, its own process) on an embedded chain of its own
  and on SQLite or PostgreSQL; the API and the chain are killed with SIGKILL and restarted by
  their process ids, and both are stopped at the end whatever happened;
- `Recorder`: parallel clients (threads, httpx) whose every answer is kept and checked as it
  comes: a 5xx, an error that is not JSON, or no answer in time is a problem, except inside
  a window in which the test itself has the API or the chain down;
- `World`: the people of a test made through the service (staff, residents, residents with
  wallets of their own who sign themselves, shops, Heitje cards issued by the desk) and
  Heitjes earned the real way (a job done, approved, paid by the worker);
- `reconcile`: the database against the chain, event by event: every paid payment, refund
  and reward row has its event on-chain (transaction, amount, accounts) and every Payment,
  Refund and JobRewarded event belongs to exactly one paid row; every payment from a
  resident's own wallet to a shop on-chain (a plain transfer or a pay()) is exactly one paid
  row of the payment index and every such row is on-chain; a card payment is its card
  holder's; balances per resident and shop from the rows equal the chain's; refunds never
  beyond their payment; places and the yearly cap never exceeded; no wallet file without
  its account;
- `index_problems`: the payment index's cursor stands on the chain as it is now.

The database is read directly (SQLAlchemy, plain SQL on the service's tables), the chain with
heitje_chain (`HeitjeClient.ledger()`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from eth_account.messages import encode_defunct
from sqlalchemy import create_engine, inspect, text

from api.demo import PASSWORD as DEMO_PASSWORD
from api.demo import ensure_deployed
from api.settings import load_settings
from heitje_chain.client import HeitjeClient, job_id, text_of
from heitje_chain.config import load_config
from heitje_chain.connect import connect
from heitje_chain.keys import LocalSigner
from heitje_chain.ledger import PaymentRecord
from heitje_chain.node import EmbeddedChain, free_port
from support.service import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
ZERO = "0x0000000000000000000000000000000000000000"

#: Settings of the service this stage relies on (HEITJE_API_SETTLE_AFTER and
#: HEITJE_API_RECONCILE_INTERVAL come with the fixes of issue 12): a row left `sending` is
#: settled after 2 s instead of 2 minutes, and the reconciler checks the chain every second.
SERVICE_SETTINGS = {
    "HEITJE_API_WALLET_KDF_ITERATIONS": "1000",
    "HEITJE_API_SETTLE_AFTER": "2",
    "HEITJE_API_RECONCILE_INTERVAL": "1",
}


def say(message: str) -> None:
    """What the stage did, on the terminal (run with -s to see it as it happens)."""
    print(f"[fault] {message}", flush=True)


# ----------------------------------------------------------------------------- processes


class ApiProcess:
    """`python -m api` on `port`, with its output in `log`; started, killed and stopped by
    pid."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = self.kills = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> float:
        """Start it and wait until it answers; the seconds that took."""
        assert self.process is None or self.process.poll() is not None, "already running"
        began = time.monotonic()
        with self.log.open("ab") as out:
            out.write(f"\n--- start {self.starts + 1}\n".encode())
            out.flush()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "api", "--port", str(self.port)],
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1
        while True:
            try:
                httpx.get(f"{self.base}/openapi.json", timeout=2)
                return time.monotonic() - began
            except httpx.TransportError:
                if self.process.poll() is not None:
                    raise AssertionError(f"the API exited at start:\n{self.log_tail()}") from None
                if time.monotonic() - began > timeout:
                    raise AssertionError(f"the API did not answer:\n{self.log_tail()}") from None
                time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL, and wait until it is gone."""
        assert self.process is not None and self.process.poll() is None, "not running"
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)
        self.kills += 1

    def stop(self) -> None:
        """SIGTERM (SIGKILL after 20 s) if it runs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def kill_chain(chain: EmbeddedChain) -> int:
    """SIGKILL the embedded chain (anvil) by its pid; the pid. anvil then keeps only its last
    periodic state write (every `state_interval` seconds)."""
    pid = chain.status().pid
    assert pid is not None, "the chain is not running"
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while chain.status().running:  # status() also reaps the killed child
        assert time.monotonic() < deadline, f"anvil (pid {pid}) did not die"
        time.sleep(0.05)
    return pid


def wait_for_state_write(chain: EmbeddedChain, timeout: float = 10) -> float:
    """Wait until anvil has just written its state file again; the monotonic time then."""
    before = chain.state_file.stat().st_mtime_ns if chain.state_file.exists() else 0
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(FileNotFoundError):
            if chain.state_file.stat().st_mtime_ns != before:
                return time.monotonic()
        assert time.monotonic() < deadline, "anvil wrote no state file"
        time.sleep(0.02)


@dataclass
class Template:
    """A chain with the token deployed (its stopped data folder) and the home folder with
    the role keys and deployment record: copied for each test, so none deploys again."""

    chain_dir: Path
    home: Path


def make_template(folder: Path) -> Template:
    chain = EmbeddedChain(folder / "chain", port=free_port())
    chain.start()
    try:
        os.environ.setdefault("HEITJE_PASSWORD", DEMO_PASSWORD)
        ensure_deployed(folder / "home", chain.url)
    finally:
        chain.stop()
    return Template(folder / "chain", folder / "home")


class Stack:
    """One test's chain (a copy of the template's), service process and database."""

    def __init__(self, template: Template, folder: Path, database_url: str | None) -> None:
        shutil.copytree(template.chain_dir, folder / "chain")
        shutil.copytree(template.home, folder / "home")
        for stale in ("anvil.pid", "chain.pid"):
            (folder / "chain" / stale).unlink(missing_ok=True)
        self.folder = folder
        self.chain = EmbeddedChain(folder / "chain", port=free_port())
        self.database_url = database_url or f"sqlite:///{folder / 'api.db'}"
        self.env = {
            **os.environ,
            "HEITJE_HOME": str(folder / "home"),
            "HEITJE_PASSWORD": DEMO_PASSWORD,
            "HEITJE_API_DATABASE_URL": self.database_url,
            **SERVICE_SETTINGS,
        }
        self.env.pop("HEITJE_DEPLOYMENT", None)
        self.api = ApiProcess(self.env, free_port(), folder / "api.log")
        self.chain_kills = 0
        self._client: HeitjeClient | None = None

    def start(self) -> None:
        self.chain.start()
        self.env["HEITJE_RPC_URL"] = self.chain.url
        self.api.start()

    def stop(self) -> None:
        try:
            self.api.stop()
        finally:
            self.chain.stop()

    @property
    def client(self) -> HeitjeClient:
        """heitje_chain's client of this stack's contract (connected again after a chain
        restart)."""
        if self._client is None:
            self._client = connect(load_config(environ=self.env))
        return self._client

    @property
    def wallet_dir(self) -> Path:
        return load_settings(self.env, load_config(environ=self.env)).wallet_dir

    def restart_chain(self) -> float:
        """Start the chain again normally (from its state file); the seconds that took."""
        began = time.monotonic()
        self.chain.start()
        self._client = None
        return time.monotonic() - began

    def head(self) -> int:
        return int(self.client.rpc.block_number())


# ----------------------------------------------------------------------------- clients


@dataclass
class Answer:
    op: str
    key: str
    status: int | None  # None: no answer (connection refused or reset, timeout)
    body: Any
    started: float
    ended: float
    error: str | None = None

    @property
    def seconds(self) -> float:
        return self.ended - self.started


@dataclass
class Window:
    kind: str  # "api-down" or "chain-down"
    start: float
    end: float = float("inf")


#: What a client may hear while the test itself has the chain down: the documented answer
#: for a chain that does not answer. Anything else 5xx is a problem.
CHAIN_DOWN_ERRORS = ("chain_unavailable", "transaction_pending")


class Recorder:
    """The test's clients: every request through `call`, every answer kept. `problems` lists
    every 5xx, every error that is not JSON in the documented shape and every request
    without an answer, except those overlapping a window in which the test had the API down
    (no answer is then expected) or the chain down (503 chain_unavailable is then the
    answer)."""

    def __init__(self, base: str, timeout: float = 15) -> None:
        # keep-alive shorter than the server's (uvicorn: 5 s), so no request goes out on a
        # connection the server is closing at that moment (a reset that is nobody's fault)
        limits = httpx.Limits(
            max_connections=128, max_keepalive_connections=128, keepalive_expiry=1
        )
        self.http = httpx.Client(base_url=base, timeout=timeout, limits=limits)
        self.answers: list[Answer] = []
        self.windows: list[Window] = []
        self._lock = threading.Lock()

    def close(self) -> None:
        self.http.close()

    def call(
        self,
        op: str,
        method: str,
        url: str,
        who: dict[str, str] | None = None,
        key: str = "",
        **kw: Any,
    ) -> Answer:
        started = time.monotonic()
        try:
            response = self.http.request(method, url, headers=who or {}, **kw)
        except httpx.HTTPError as exc:
            answer = Answer(op, key, None, None, started, time.monotonic(), repr(exc))
        else:
            try:
                body: Any = response.json()
            except ValueError:
                body = response.text
            answer = Answer(op, key, response.status_code, body, started, time.monotonic())
        with self._lock:
            self.answers.append(answer)
        return answer

    def expect(
        self,
        op: str,
        method: str,
        url: str,
        who: dict[str, str] | None = None,
        status: int = 200,
        **kw: Any,
    ) -> Any:
        """A set-up call that must succeed; its JSON body."""
        answer = self.call(op, method, url, who, **kw)
        assert answer.status == status, f"{method} {url}: {answer.status} {answer.body}"
        return answer.body

    def parallel(
        self, calls: list[Callable[[], Answer]], threads: int | None = None
    ) -> list[Answer]:
        """Run `calls` at once, one thread each (or on `threads`), all released together."""
        n = len(calls)
        barrier = threading.Barrier(min(n, threads or n))
        results: list[Answer | None] = [None] * n
        errors: list[BaseException] = []
        slots = iter(range(n))
        lock = threading.Lock()

        def worker() -> None:
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(30)
            while True:
                with lock:
                    i = next(slots, None)
                if i is None:
                    return
                try:
                    results[i] = calls[i]()
                except BaseException as exc:
                    errors.append(exc)

        pool = [threading.Thread(target=worker) for _ in range(min(n, threads or n))]
        for t in pool:
            t.start()
        for t in pool:
            t.join(300)
        assert not errors, errors
        assert all(r is not None for r in results), "a client thread did not finish"
        return [r for r in results if r is not None]

    @contextlib.contextmanager
    def window(self, kind: str) -> Iterator[Window]:
        """The API or the chain is down (by the test) from now until the block ends."""
        w = Window(kind, time.monotonic())
        self.windows.append(w)
        try:
            yield w
        finally:
            w.end = time.monotonic()

    def _in_window(self, answer: Answer, kind: str, grace: float = 0.0) -> bool:
        return any(
            w.kind == kind and answer.started < w.end + grace and answer.ended > w.start
            for w in self.windows
        )

    def problems(self) -> list[str]:
        found = []
        for a in self.answers:
            what = f"{a.op} {a.key}".strip()
            if a.status is None:
                if not self._in_window(a, "api-down"):
                    found.append(f"{what}: no answer ({a.error}) after {a.seconds:.1f} s")
                continue
            if a.status < 400:
                continue
            shaped = isinstance(a.body, dict) and {"error", "message"} <= a.body.keys()
            if not shaped:
                found.append(
                    f"{what}: {a.status} with a body that is not a JSON error: "
                    f"{str(a.body)[:120]!r}"
                )
            elif a.status >= 500:
                tolerated = (
                    a.status == 503
                    and a.body["error"] in CHAIN_DOWN_ERRORS
                    and self._in_window(a, "chain-down", grace=5.0)
                )
                if not tolerated:
                    found.append(f"{what}: {a.status} {a.body['error']}: {a.body['message'][:160]}")
        return found

    def summary(self) -> str:
        counts = Counter(
            f"{a.op}:{a.status if a.status is not None else 'no answer'}" for a in self.answers
        )
        return ", ".join(f"{k} x{v}" for k, v in sorted(counts.items()))


def part(a: Answer, key: str) -> Any:
    """A field of an answer's JSON body (None when there is none)."""
    return a.body.get(key) if isinstance(a.body, dict) else None


def outcome(answers: list[Answer]) -> list[str]:
    """The answers in short: status, and the error code or the body's status."""
    return sorted(
        f"{a.status} {part(a, 'error') or part(a, 'status') or ''}".strip() for a in answers
    )


# ----------------------------------------------------------------------------- people


@dataclass
class Person:
    name: str
    headers: dict[str, str]
    id: int
    address: str
    code: str = ""  # a shop's code
    #: the key of a resident's own wallet (None: the service keeps the wallet)
    signer: Any = None
    #: a resident's Heitje card: {"id", "number", "pin"} (issued by the desk)
    card: dict[str, Any] = field(default_factory=dict)


class World:
    """The people of a test, made through the service."""

    def __init__(self, rec: Recorder) -> None:
        self.rec = rec
        self.jobs = 0
        admin = self.login("admin", "development-admin")
        self.admin = admin
        office = rec.expect(
            "setup",
            "POST",
            "/issuers",
            admin,
            201,
            json={"name": "Job office", "key_name": "job-office"},
        )
        self.issuer_id = office["id"]
        for username, role in (("jo", "issuer"), ("insp", "inspector"), ("insp2", "inspector")):
            body: dict[str, Any] = {"username": username, "password": PASSWORD, "role": role}
            if role == "issuer":
                body["issuer_id"] = office["id"]
            rec.expect("setup", "POST", "/staff", admin, 201, json=body)
        self.issuer = self.login("jo")
        self.inspectors = (self.login("insp"), self.login("insp2"))
        self._desk: dict[str, str] | None = None

    def login(self, username: str, password: str = PASSWORD) -> dict[str, str]:
        body = self.rec.expect(
            "login", "POST", "/auth/login", json={"username": username, "password": password}
        )
        return {"Authorization": f"Bearer {body['token']}"}

    def resident(self, name: str, wallet: str | None = None) -> Person:
        body: dict[str, Any] = {"pseudonym": name, "neighbourhood": "Palemig"}
        if wallet:
            body["wallet"] = wallet
        else:
            body["password"] = PASSWORD
        made = self.rec.expect("setup", "POST", "/residents", None, 201, json=body)
        headers = self.login(name) if wallet is None else {}
        return Person(name, headers, made["id"], made["address"])

    def own_wallet_resident(self, name: str) -> Person:
        """A resident with a wallet of their own (a fresh key the test holds and signs with),
        signed in the way a wallet app does: by signing the service's challenge."""
        account = Account.create()
        person = self.resident(name, wallet=account.address)
        challenge = self.rec.expect(
            "login", "POST", "/auth/challenge", json={"wallet": account.address}
        )
        signature = account.sign_message(encode_defunct(text=challenge["text"])).signature
        signed = {
            "message": challenge["text"],
            "signature": "0x" + signature.hex().removeprefix("0x"),
        }
        body = self.rec.expect("login", "POST", "/auth/wallet", json=signed)
        person.headers = {"Authorization": f"Bearer {body['token']}"}
        person.signer = LocalSigner(account)
        return person

    @property
    def desk(self) -> dict[str, str]:
        """The municipal desk's staff member (made on first use)."""
        if self._desk is None:
            body = {"username": "balie", "password": PASSWORD, "role": "desk"}
            self.rec.expect("setup", "POST", "/staff", self.admin, 201, json=body)
            self._desk = self.login("balie")
        return self._desk

    def issue_card(self, who: Person, pin: str) -> dict[str, Any]:
        """The desk issues `who` a Heitje card with `pin` (kept on `who.card`)."""
        made = self.rec.expect(
            "setup", "POST", f"/residents/{who.id}/cards", self.desk, 201, json={"pin": pin}
        )
        who.card = {"id": made["id"], "number": made["number"], "pin": pin}
        return who.card

    def shop(self, name: str) -> Person:
        body = {
            "name": name,
            "neighbourhood": "Palemig",
            "iban": "NL91ABNA0417164300",
            "password": PASSWORD,
        }
        made = self.rec.expect("setup", "POST", "/merchants", None, 201, json=body)
        self.rec.expect("setup", "POST", f"/merchants/{made['id']}/approve", self.admin)
        headers = self.login(f"merchant-{made['code'].lower()}")
        return Person(name, headers, made["id"], made["address"], made["code"])

    def job(self, reward: str, places: int = 1, title: str = "") -> int:
        self.jobs += 1
        body = {
            "title": title or f"Job {self.jobs}",
            "description": "fault test",
            "neighbourhood": "Palemig",
            "reward": reward,
            "places": places,
            "deadline": str(date.today() + timedelta(days=7)),
        }
        return int(self.rec.expect("setup", "POST", "/jobs", self.issuer, 201, json=body)["id"])

    def done_claim(self, who: Person, job: int) -> int:
        claim = self.rec.expect("setup", "POST", f"/jobs/{job}/claim", who.headers, 201)
        self.rec.expect("setup", "POST", f"/claims/{claim['id']}/done", who.headers, json={})
        return int(claim["id"])

    def earn(self, who: Person, reward: str) -> int:
        """A job done by `who` and approved (the worker pays it); the claim's id."""
        claim = self.done_claim(who, self.job(reward))
        self.rec.expect("setup", "POST", f"/claims/{claim}/approve", self.inspectors[0], json={})
        return claim


def charge_until_answered(
    rec: Recorder,
    till: Person,
    who: Person,
    request_id: str,
    amount: str,
    pin: str,
    timeout: float = 40,
) -> list[Answer]:
    """Charge `who`'s card at `till` (op `card`) as a till does: again with the same
    request_id while there is no answer, a 5xx or a payment still `sending`, until a final
    answer (bounded)."""
    body = {
        "merchant_code": till.code,
        "card": who.card["number"],
        "pin": pin,
        "amount": amount,
        "receipt": f"T-{request_id}"[:32],
        "request_id": request_id,
    }
    heard = []
    deadline = time.monotonic() + timeout
    while True:
        a = rec.call("card", "POST", "/cards/pay", till.headers, key=request_id, json=body)
        heard.append(a)
        if a.status is not None and a.status < 500 and part(a, "status") != "sending":
            return heard
        if time.monotonic() > deadline:
            return heard
        time.sleep(0.3)


# ----------------------------------------------------------------------------- the database


class DbReader:
    """The service's tables, read directly (plain SQL, no service code)."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)

    def close(self) -> None:
        self.engine.dispose()

    def rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(text(sql), params)]

    def columns(self, table: str) -> set[str]:
        return {c["name"] for c in inspect(self.engine).get_columns(table)}

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()


def with_api_killed(
    stack: Stack,
    rec: Recorder,
    calls: list[Callable[[], Any]],
    op: str,
    after: int,
    deadline: float,
) -> dict[str, float]:
    """Run `calls` on 10 clients while the API is killed (SIGKILL) once `after` answers of
    operation `op` came (or `deadline` seconds passed) and started again. Returns how many
    answers had come when it was killed (`after`) and the restart's seconds (`restart`)."""
    killed: dict[str, float] = {}

    def answered() -> int:
        return sum(a.op == op and a.status is not None for a in rec.answers)

    def killer() -> None:
        until = time.monotonic() + deadline
        while answered() < after and time.monotonic() <= until:
            time.sleep(0.01)
        with rec.window("api-down"):
            stack.api.kill()
            killed["after"] = answered()
            time.sleep(0.5)
            killed["restart"] = stack.api.start()

    thread = threading.Thread(target=killer)
    thread.start()
    rec.parallel(calls, threads=10)
    thread.join(120)
    return killed


def wait_until(what: str, check: Callable[[], bool], timeout: float, every: float = 0.25) -> float:
    """Poll `check` until it holds (bounded); the seconds it took. Fails with `what`."""
    began = time.monotonic()
    while not check():
        assert time.monotonic() - began < timeout, f"{what}: not within {timeout:g} s"
        time.sleep(every)
    return time.monotonic() - began


def rewards_settled(db: DbReader) -> bool:
    return not db.scalar("SELECT count(*) FROM rewards WHERE status = 'pending'")


# ----------------------------------------------------------------------------- reconciliation


@dataclass
class Reconciliation:
    """What `reconcile` found: the differences, and what it compared."""

    problems: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def __str__(self) -> str:
        seen = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
        if not self.problems:
            return f"database and chain agree ({seen})"
        listed = "\n  ".join(self.problems[:60])
        more = f"\n  ... and {len(self.problems) - 60} more" if len(self.problems) > 60 else ""
        return f"{len(self.problems)} differences ({seen}):\n  {listed}{more}"


def _addresses(current: Iterable[str], recovered: dict[str, str]) -> dict[str, set[str]]:
    """Each current address with every wallet that was recovered onto it (transitively)."""
    back: dict[str, list[str]] = defaultdict(list)
    for lost, replacement in recovered.items():
        back[replacement].append(lost)
    out = {}
    for address in current:
        seen, todo = {address}, [address]
        while todo:
            for lost in back.get(todo.pop(), []):
                if lost not in seen:
                    seen.add(lost)
                    todo.append(lost)
        out[address] = seen
    return out


def _own_wallet_payments(
    client: HeitjeClient,
    residents: dict[int, dict[str, Any]],
    merchants: dict[int, dict[str, Any]],
    aliases: dict[str, set[str]],
) -> dict[tuple[str, int], PaymentRecord]:
    """Every payment on-chain from a resident's own wallet (or one they lost to a recovery)
    to a shop of the service, by transaction and log index: what the payment index must
    hold, read with heitje_chain's own scanner from the deployment block."""
    wallets = {
        a.lower()
        for x in residents.values()
        if not x["custodial"]
        for a in aliases.get(x["address"], {x["address"]})
    }
    shops = {m["address"].lower() for m in merchants.values()}
    return {
        (found.tx_hash, found.log_index): found
        for found in client.ledger(confirmations=0).payments()
        if found.payer.lower() in wallets and found.merchant.lower() in shops
    }


def reconcile(db: DbReader, client: HeitjeClient, *, final: bool = True) -> Reconciliation:
    """The database against the chain, event by event (see the module). With `final`, rows
    still `sending` and rewards the chain paid but the database has pending are differences
    too (after the worker had its time)."""
    r = Reconciliation()
    p = r.problems
    names = ["Payment", "Refund", "JobRewarded", "WalletRecovered", "RedemptionRequested"]
    events = list(client.ledger(confirmations=0).events(names=names))
    by_name: dict[str, list[Any]] = defaultdict(list)
    for e in events:
        by_name[e.name].append(e)
    for name in names:
        r.counts[f"{name} events"] = len(by_name[name])
    recovered = {e.args["lost"]: e.args["replacement"] for e in by_name["WalletRecovered"]}

    residents = {x["id"]: x for x in db.rows("SELECT * FROM residents")}
    merchants = {x["id"]: x for x in db.rows("SELECT * FROM merchants")}
    aliases = _addresses([x["address"] for x in residents.values()], recovered)

    def of_resident(rid: int, address: str) -> bool:
        return address in aliases.get(residents[rid]["address"], {residents[rid]["address"]})

    # --- wallets recovered on-chain are moved in the database
    by_address = {x["address"]: x for x in residents.values()}
    for lost, replacement in recovered.items():
        if lost in by_address:
            p.append(
                f"wallet {lost} was recovered onto {replacement} on-chain, but resident "
                f"#{by_address[lost]['id']} still has it"
            )
    for x in residents.values():
        if client.is_retired(x["address"]):
            p.append(f"resident #{x['id']} ({x['pseudonym']}) has a retired wallet {x['address']}")
    shop_addresses = {m["address"] for m in merchants.values()}
    for x in residents.values():
        if x["address"] in shop_addresses:
            p.append(f"resident #{x['id']} has a shop's wallet {x['address']}")

    # --- payments (the service's own, by app or card, and those from residents' own wallets
    #     that the payment index learnt from the chain)
    payments = {x["id"]: x for x in db.rows("SELECT * FROM payments")}
    pay_events = {e.tx_hash: e for e in by_name["Payment"]}
    claimed: Counter[str] = Counter()
    r.counts["payments"] = len(payments)
    r.counts["card payments"] = sum(x["card_id"] is not None for x in payments.values())
    cards = {x["id"]: x for x in db.rows("SELECT id, resident_id FROM cards")}
    own = _own_wallet_payments(client, residents, merchants, aliases)
    r.counts["own-wallet payments on-chain"] = len(own)
    indexed: Counter[tuple[str, int]] = Counter()
    for x in payments.values():
        name = f"payment #{x['id']} ({x['status']}, EUR {x['cents'] / 100:.2f}, {x['receipt']})"
        event = pay_events.get(x["tx_hash"]) if x["tx_hash"] else None
        shop = merchants[x["merchant_id"]]["address"]
        if x["card_id"] is not None and cards[x["card_id"]]["resident_id"] != x["resident_id"]:
            p.append(f"{name}: paid with card #{x['card_id']}, another resident's")
        if x["via"] == "wallet":
            found = own.get((x["tx_hash"], x["log_index"])) if x["tx_hash"] else None
            if x["status"] == "paid":
                indexed[(x["tx_hash"], x["log_index"])] += 1
                if event is not None:
                    claimed[x["tx_hash"]] += 1  # an own wallet's pay(): its Payment is this row
                if found is None:
                    p.append(
                        f"{name}: indexed from the own wallet's transaction {x['tx_hash']} "
                        f"(log {x['log_index']}), which the chain does not have"
                    )
                elif not (
                    of_resident(x["resident_id"], found.payer)
                    and found.merchant == shop
                    and found.amount == x["cents"]
                    and found.block_number == x["block_number"]
                ):
                    p.append(f"{name}: the chain's payment differs: {found}")
            elif found is not None:
                p.append(f"{name}: the chain has its transaction {x['tx_hash']}")
            continue
        if x["status"] == "paid":
            claimed[x["tx_hash"]] += 1
            if event is None:
                p.append(f"{name}: the chain has no Payment in its transaction {x['tx_hash']}")
            elif not (
                of_resident(x["resident_id"], event.args["from"])
                and event.args["merchant"] == shop
                and int(event.args["amount"]) == x["cents"]
                and text_of(event.args["receipt"]) == x["receipt"]
            ):
                p.append(f"{name}: the chain's Payment differs: {event.as_row()}")
        elif x["status"] == "sending" and final:
            p.append(f"{name}: still sending at the end")
        elif event is not None:
            p.append(f"{name}: the chain has its transaction {x['tx_hash']}")
    for e in by_name["Payment"]:
        if claimed[e.tx_hash] != 1:
            rows = [i for i, x in payments.items() if x["tx_hash"] == e.tx_hash]
            p.append(
                f"on-chain Payment {e.tx_hash} (EUR {int(e.args['amount']) / 100:.2f}, "
                f"{text_of(e.args['receipt'])}) is claimed by {claimed[e.tx_hash]} paid "
                f"rows (rows with that transaction: {rows})"
            )

    for key, found in own.items():
        if indexed[key] != 1:
            p.append(
                f"on-chain payment from an own wallet {found.tx_hash} (log {found.log_index}, "
                f"EUR {found.amount / 100:.2f}, block {found.block_number}) is indexed as "
                f"{indexed[key]} paid rows"
            )

    # --- refunds
    refunds = {x["id"]: x for x in db.rows("SELECT * FROM refunds")}
    refund_events = {e.tx_hash: e for e in by_name["Refund"]}
    by_reference = {x["reference"]: x for x in refunds.values()}
    claimed.clear()
    r.counts["refunds"] = len(refunds)
    on_chain_per_payment: Counter[int] = Counter()
    for e in by_name["Refund"]:
        row = by_reference.get(text_of(e.args["receipt"]))
        if row is not None:
            on_chain_per_payment[row["payment_id"]] += int(e.args["amount"])
    for x in refunds.values():
        pay = payments[x["payment_id"]]
        name = (
            f"refund #{x['id']} ({x['status']}, EUR {x['cents'] / 100:.2f}) of payment #{pay['id']}"
        )
        event = refund_events.get(x["tx_hash"]) if x["tx_hash"] else None
        if x["status"] == "paid":
            claimed[x["tx_hash"]] += 1
            if event is None:
                p.append(f"{name}: the chain has no Refund in its transaction {x['tx_hash']}")
            elif not (
                event.args["merchant"] == merchants[pay["merchant_id"]]["address"]
                and of_resident(pay["resident_id"], event.args["to"])
                and int(event.args["amount"]) == x["cents"]
                and text_of(event.args["receipt"]) == x["reference"]
            ):
                p.append(f"{name}: the chain's Refund differs: {event.as_row()}")
        elif x["status"] == "sending" and final:
            p.append(f"{name}: still sending at the end")
        elif event is not None:
            p.append(f"{name}: the chain has its transaction {x['tx_hash']}")
    for e in by_name["Refund"]:
        if claimed[e.tx_hash] != 1:
            p.append(
                f"on-chain Refund {e.tx_hash} (EUR {int(e.args['amount']) / 100:.2f}, "
                f"{text_of(e.args['receipt'])}) is claimed by {claimed[e.tx_hash]} paid "
                f"rows"
            )
    for x in payments.values():
        counted = sum(
            f["cents"]
            for f in refunds.values()
            if f["payment_id"] == x["id"] and f["status"] in ("paid", "sending")
        )
        if x["refunded_cents"] != counted:
            p.append(
                f"payment #{x['id']}: refunded_cents {x['refunded_cents']} but its paid and "
                f"sending refunds add up to {counted}"
            )
        if max(x["refunded_cents"], on_chain_per_payment[x["id"]]) > x["cents"]:
            p.append(
                f"payment #{x['id']} of EUR {x['cents'] / 100:.2f}: refunded EUR "
                f"{on_chain_per_payment[x['id']] / 100:.2f} on-chain, "
                f"{x['refunded_cents'] / 100:.2f} in the database"
            )

    # --- rewards
    rewards = db.rows(
        "SELECT r.*, c.resident_id, c.job_id FROM rewards r JOIN claims c ON c.id = r.claim_id"
    )
    reward_events = {bytes(e.args["jobId"]): e for e in by_name["JobRewarded"]}
    known = set()
    r.counts["rewards"] = len(rewards)
    for x in rewards:
        jid = job_id(x["reference"])
        known.add(jid)
        event = reward_events.get(jid)
        name = f"reward #{x['id']} ({x['status']}, EUR {x['cents'] / 100:.2f}, {x['reference']})"
        if x["status"] == "paid":
            if event is None:
                p.append(f"{name}: not paid on-chain (the database has {x['tx_hash']})")
            elif not (
                int(event.args["amount"]) == x["cents"]
                and of_resident(x["resident_id"], event.args["resident"])
            ):
                p.append(f"{name}: the chain's JobRewarded differs: {event.as_row()}")
            elif event.tx_hash != x["tx_hash"]:
                p.append(
                    f"{name}: paid on-chain in {event.tx_hash}, the database says {x['tx_hash']}"
                )
        elif event is not None and (final or x["status"] != "pending"):
            p.append(f"{name}: paid on-chain in {event.tx_hash}")
    for jid, e in reward_events.items():
        if jid not in known:
            p.append(f"on-chain JobRewarded {e.tx_hash} (0x{jid.hex()[:12]}..) has no reward row")

    # --- balances per resident and per shop
    cents: Counter[str] = Counter()
    for x in rewards:
        if x["status"] == "paid":
            cents[residents[x["resident_id"]]["address"]] += x["cents"]
    for x in payments.values():
        if x["status"] == "paid":
            cents[residents[x["resident_id"]]["address"]] -= x["cents"]
            cents[merchants[x["merchant_id"]]["address"]] += x["cents"]
    for x in refunds.values():
        if x["status"] == "paid":
            pay = payments[x["payment_id"]]
            cents[residents[pay["resident_id"]]["address"]] += x["cents"]
            cents[merchants[pay["merchant_id"]]["address"]] -= x["cents"]
    for e in by_name["RedemptionRequested"]:  # redemptions live on-chain only
        cents[e.args["merchant"]] -= int(e.args["amount"])
    wrong = 0
    for address in [x["address"] for x in residents.values()] + sorted(shop_addresses):
        chain_cents = client.balance(address)
        if chain_cents != cents[address]:
            wrong += 1
            who = by_address.get(address)
            label = f"resident #{who['id']}" if who else "shop"
            p.append(
                f"{label} {address}: EUR {cents[address] / 100:.2f} from the database's "
                f"rows, EUR {chain_cents / 100:.2f} on-chain"
            )
    r.counts["accounts"] = len(residents) + len(shop_addresses)

    # --- the rules the service keeps: places on a job, the yearly cap counting pending
    for x in db.rows(
        "SELECT j.id, j.places, count(c.id) AS taken FROM jobs j JOIN claims c ON c.job_id = j.id"
        " WHERE c.status IN ('claimed', 'done', 'approved') GROUP BY j.id, j.places"
    ):
        if x["taken"] > x["places"]:
            p.append(f"job #{x['id']} has {x['places']} places and {x['taken']} claims on them")
    cap = client.yearly_cap()
    committed: Counter[int] = Counter()
    for x in db.rows(
        "SELECT c.resident_id, j.reward_cents, c.status, r.status AS reward FROM claims c "
        "JOIN jobs j ON j.id = c.job_id LEFT JOIN rewards r ON r.claim_id = c.id"
    ):
        if x["status"] in ("claimed", "done") or x["reward"] in ("pending", "paid"):
            committed[x["resident_id"]] += int(x["reward_cents"])
    for rid, total in committed.items():
        if total > cap:
            p.append(
                f"resident #{rid}: EUR {total / 100:.2f} earned, pending or claimed this "
                f"year, over the cap of EUR {cap / 100:.2f}"
            )
    return r


def contradictions(rec: Recorder, db: DbReader, chain_killed: bool = False) -> list[str]:
    """Answers about payments (the app's `pay`, the card's `card`) and refunds that the final
    database contradicts: an answer `paid` for one that is not paid in the end (`reversed`
    allowed when the test killed the chain), an answer `failed`/refused for one that is
    paid, a card sale refused (wrong PIN, locked, the daily limit) whose request_id is paid,
    another payment's id for a request_id."""
    found = []
    final = {x["id"]: x for x in db.rows("SELECT id, request_id, status FROM payments")}
    by_request = {x["request_id"]: x for x in final.values()}
    for a in rec.answers:
        if a.op not in ("pay", "card") or not isinstance(a.body, dict) or a.status is None:
            continue
        said = a.body.get("status") or a.body.get("error")
        pid = a.body.get("id") or (a.body.get("details") or {}).get("payment")
        if pid is None and a.op == "card" and 400 <= a.status < 500:
            # a till told the card paid nothing (wrong PIN, locked, the daily limit): no
            # payment of that sale may be paid
            row = by_request.get(a.key)
            if row is not None and row["status"] == "paid":
                found.append(f"card sale {a.key} was answered {said}; it is paid (#{row['id']})")
            continue
        row = final.get(pid)
        if row is None:
            continue
        if (
            said == "paid"
            and row["status"] != "paid"
            and not (chain_killed and row["status"] == "reversed")
        ):
            found.append(f"payment {a.key} was answered paid; it is {row['status']}")
        if said in ("failed", "payment_refused", "refused") and row["status"] == "paid":
            found.append(f"payment {a.key} was answered {said}; it is paid")
        if row["request_id"] != a.key:
            found.append(f"payment {a.key} was answered with payment #{pid} ({row['request_id']})")
    refunds = {x["id"]: x for x in db.rows("SELECT id, status FROM refunds")}
    for a in rec.answers:
        if a.op != "refund" or a.status != 200 or not isinstance(a.body, dict):
            continue
        for told in a.body.get("refunds", []):
            now = refunds.get(told["id"], {}).get("status")
            if (
                told["status"] == "paid"
                and now != "paid"
                and not (chain_killed and now == "reversed")
            ):
                found.append(f"refund #{told['id']} ({a.key}) was answered paid; it is {now}")
            if told["status"] == "failed" and now == "paid":
                found.append(f"refund #{told['id']} ({a.key}) was answered failed; it is paid")
    return found


def orphan_wallets(db: DbReader, wallet_dir: Path, client: HeitjeClient) -> list[str]:
    """Wallet files whose address is no resident's or shop's, now or before a recovery."""
    known = {x["address"].lower() for x in db.rows("SELECT address FROM residents")}
    known |= {x["address"].lower() for x in db.rows("SELECT address FROM merchants")}
    for e in client.ledger(confirmations=0).events(names=["WalletRecovered"]):
        known.add(str(e.args["lost"]).lower())
    files = [f.stem for f in wallet_dir.glob("*.json")] if wallet_dir.is_dir() else []
    return sorted(f for f in files if f.lower() not in known)


def block_hash_problems(db: DbReader, client: HeitjeClient) -> list[str]:
    """Paid payments, refunds and rewards record the block they were mined in
    (`block_number`, `block_hash`, the reconciler of issue 12); each hash must still be the
    chain's at that height."""
    found = []
    for table in ("payments", "refunds", "rewards"):
        columns = db.columns(table)
        if not {"block_number", "block_hash"} <= columns:
            found.append(f"{table} has no block_number/block_hash columns")
            continue
        for x in db.rows(f"SELECT id, block_number, block_hash FROM {table} WHERE status = 'paid'"):
            if x["block_number"] is None or x["block_hash"] is None:
                found.append(f"{table} #{x['id']} is paid without its block")
                continue
            block = client.rpc.call("eth_getBlockByNumber", [hex(x["block_number"]), False])
            if block is None or block["hash"].lower() != str(x["block_hash"]).lower():
                found.append(
                    f"{table} #{x['id']}: block {x['block_number']} is no longer {x['block_hash']}"
                )
    return found


@dataclass
class IndexCheck:
    """What `index_problems` found, and what it looked at."""

    problems: list[str]
    summary: str


def index_problems(db: DbReader, client: HeitjeClient) -> IndexCheck:
    """The payment index of own-wallet payments (api.payment_index) beside the chain: its
    cursor (`chain_cursors`, name "payments") is at or below the head with the chain's hash
    at that height, and no chain payment is indexed twice. (That every own-wallet payment
    on-chain is indexed once, and no indexed one is missing from the chain, is `reconcile`'s
    part.)"""
    found = []
    cursor = db.rows("SELECT block_number, block_hash FROM chain_cursors WHERE name = 'payments'")
    head = int(client.rpc.block_number())
    if not cursor:
        found.append("the payment index has no cursor: it never ran")
        at = "none"
    else:
        number, block_hash = cursor[0]["block_number"], cursor[0]["block_hash"]
        at = f"block {number}"
        block = (
            client.rpc.call("eth_getBlockByNumber", [hex(number), False]) if number >= 0 else None
        )
        if number > head:
            found.append(f"the payment index's cursor is at block {number}, above the head {head}")
        elif block_hash is not None and (block is None or block["hash"] != block_hash):
            found.append(
                f"the payment index's cursor records block {number} as {block_hash}; the chain "
                f"has {block and block['hash']}"
            )
    rows = db.rows("SELECT tx_hash, log_index, status FROM payments WHERE via = 'wallet'")
    twice = Counter((x["tx_hash"], x["log_index"]) for x in rows if x["status"] == "paid")
    found += [f"own-wallet payment {k[0]} (log {k[1]}) is indexed {n} times" for k, n in
              twice.items() if n > 1]  # fmt: skip
    states = Counter(x["status"] for x in rows)
    return IndexCheck(
        found,
        f"payment index: own-wallet payments {dict(states)}; cursor at {at}, chain head {head}",
    )
