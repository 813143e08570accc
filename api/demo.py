"""The demo: a Heerlen Heitje on the embedded chain, seeded with realistic data and served.

    python -m api.demo            (`make demo`: start the chain, deploy, seed, serve)
    python -m api.demo --no-serve (seed and print the summary, then stop)

Everything lives in one folder (default `.demo/` in the working directory; `--home`), so the
demo can be stopped and started again: the chain keeps its state and the seed runs once. The
accounts and passwords printed at the end are for this demo only.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import load_settings
from heitje_chain.config import load_config, read_deployment, write_deployment
from heitje_chain.deploy import deploy, grant_roles
from heitje_chain.keys import KeyStore
from heitje_chain.node import EmbeddedChain
from heitje_chain.rpc import Rpc

PASSWORD = "heitje-demo-password"  # noqa: S105 (a demo: printed for people to use)
ROLE_KEYS = ("admin", "job-office", "partner", "merchant-manager", "treasurer", "recovery")
NEIGHBOURHOODS = (
    "Grasbroek", "Musschemig", "Schandelen", "Meezenbroek", "Schaesbergerveld", "Palemig",
    "Heerlerheide", "Zeswegen", "Hoensbroek", "Heksenberg",
)  # fmt: skip
MERCHANTS = (
    ("Bakkerij Op de Kamp", "Schandelen"), ("Fietsenmaker Grasbroek", "Grasbroek"),
    ("Groenteboer Meezenbroek", "Meezenbroek"), ("Slagerij Palemig", "Palemig"),
    ("Boekhandel Heerlerheide", "Heerlerheide"), ("Kapper Musschemig", "Musschemig"),
    ("Buurtsuper Zeswegen", "Zeswegen"), ("Koffiebar Schaesbergerveld", "Schaesbergerveld"),
    ("IJzerwaren Hoensbroek", "Hoensbroek"), ("Bloemist Heksenberg", "Heksenberg"),
    ("Tweedehands Grasbroek", "Grasbroek"), ("Zwembad kantine Palemig", "Palemig"),
)  # fmt: skip
JOBS = (  # Dutch, as the residents of Heerlen read them
    ("Zwerfafval prikken langs de Geleenbeek", "Twee uur met een afvalgrijper langs de beek.",
     "15.00"),
    ("Bankjes bij de speeltuin schilderen", "Zes bankjes schuren en schilderen; verf ligt klaar.",
     "40.00"),
    ("Voorlezen aan kinderen in de bibliotheek", "Een uur voorlezen op woensdagmiddag.", "12.50"),
    ("Oudere buren naar de markt begeleiden", "Zaterdagochtend, twee of drie mensen.", "12.50"),
    ("Onkruid wieden in de buurtmoestuin", "Neem handschoenen mee; gereedschap is er.", "10.00"),
    ("Helpen bij de voedselbank", "Pakketten sorteren en uitdelen.", "20.00"),
    ("Sneeuw ruimen bij het buurthuis", "Als het sneeuwt: paden en ingang vrijmaken.", "17.50"),
    ("Helpen bij het repaircafé", "Bezoekers helpen kleine apparaten te repareren.", "15.00"),
)  # fmt: skip
NOTE = "Klaar, zie de foto in de app."
REJECTION = "Nog niet af: kom zaterdag alstublieft terug."


def demo_iban(number: int) -> str:
    """A valid Dutch IBAN for a made-up account (ISO 7064 mod 97 check digits)."""
    bank, account = "INGB", f"{number:010d}"
    digits = "".join(str(int(c, 36)) for c in bank + account + "NL00")
    return f"NL{98 - int(digits) % 97:02d}{bank}{account}"


@contextmanager
def running_chain(home: Path, port: int) -> Iterator[EmbeddedChain]:
    chain = EmbeddedChain(home / "chain", port=port)
    chain.start()
    try:
        yield chain
    finally:
        chain.stop()


def ensure_deployed(home: Path, url: str) -> None:
    """Deploy the token once, with a key per role (the demo password)."""
    record = home / "deployment.json"
    if read_deployment(record) is not None:
        return
    keys = KeyStore(home / "keystores")
    signers = {
        k: keys.load(k, PASSWORD) if keys.exists(k) else keys.create(k, PASSWORD) for k in ROLE_KEYS
    }
    client, deployment = deploy(Rpc(url), signers["admin"], name="Heerlens Heitje")
    grant_roles(client, signers["admin"], {k: s.address for k, s in signers.items()})
    client.set_mint_allowance(signers["admin"], signers["job-office"].address, 50_000_00)
    client.set_mint_allowance(signers["admin"], signers["partner"].address, 10_000_00)
    write_deployment(record, deployment)


def environment(home: Path, url: str) -> dict[str, str]:
    """The demo's settings; the role keys' password is also put in this process's
    environment, where the service looks for it."""
    os.environ["HEITJE_PASSWORD"] = PASSWORD
    return {
        **os.environ,
        "HEITJE_API_WALLET_KDF_ITERATIONS": "100000",  # demo wallets open quickly
        "HEITJE_HOME": str(home),
        "HEITJE_RPC_URL": url,
        "HEITJE_PASSWORD": PASSWORD,
        "HEITJE_API_ENV": "development",
        "HEITJE_API_DATABASE_URL": f"sqlite:///{home / 'heitje.db'}",
        "HEITJE_API_NEIGHBOURHOODS": ",".join(NEIGHBOURHOODS),
        "HEITJE_API_LIMIT_SIGNUPS": "1000/3600",  # the demo signs up 42 people at once
    }


class Seeder:
    def __init__(self, http: TestClient) -> None:
        self.http = http
        self.rng = random.Random(2021)  # noqa: S311 (the same demo every time; not secret)

    def call(self, method: str, url: str, who: dict[str, str] | None = None, **kw: Any) -> Any:
        answer = self.http.request(method, url, headers=who or {}, **kw)
        if answer.status_code >= 400:
            raise RuntimeError(f"{method} {url}: {answer.status_code} {answer.text}")
        return answer.json()

    def login(self, username: str, password: str = PASSWORD) -> dict[str, str]:
        token = self.call("POST", "/auth/login", json={"username": username, "password": password})
        return {"Authorization": f"Bearer {token['token']}"}

    def seed(self) -> dict[str, Any]:
        admin = self.login("admin", "development-admin")
        office = self.call("POST", "/issuers", admin, json={
            "name": "Gemeente Heerlen, Wijkzaken", "key_name": "job-office"})  # fmt: skip
        partner = self.call("POST", "/issuers", admin, json={
            "name": "Welzijnspartner Parkstad", "key_name": "partner"})  # fmt: skip
        staff = [("wijkzaken", "issuer", office["id"]), ("welzijn", "issuer", partner["id"]),
                 ("inspecteur", "inspector", None), ("penningmeester", "treasurer", None),
                 ("accountant", "auditor", None), ("balie", "desk", None)]  # fmt: skip
        for username, role, issuer in staff:
            body: dict[str, Any] = {"username": username, "password": PASSWORD, "role": role}
            if issuer:
                body["issuer_id"] = issuer
            self.call("POST", "/staff", admin, json=body)
        residents = []
        for i in range(1, 31):
            body = {"pseudonym": f"HRL-{i:04d}", "password": PASSWORD,
                    "neighbourhood": NEIGHBOURHOODS[i % len(NEIGHBOURHOODS)]}  # fmt: skip
            self.call("POST", "/residents", json=body)
            residents.append(self.login(body["pseudonym"]))
        shops = []
        for n, (name, hood) in enumerate(MERCHANTS, start=1):
            body = {"name": name, "neighbourhood": hood, "iban": demo_iban(4_000_000 + n),
                    "password": PASSWORD}  # fmt: skip
            shop = self.call("POST", "/merchants", json=body)
            if n <= 11:  # the last one is still an application
                self.call("POST", f"/merchants/{shop['id']}/approve", admin)
            shops.append(shop)
        issuers = [self.login("wijkzaken"), self.login("welzijn")]
        inspector = self.login("inspecteur")
        jobs = []
        for n in range(24):
            title, description, reward = JOBS[n % len(JOBS)]
            body = {"title": title, "description": description, "reward": reward,
                    "neighbourhood": NEIGHBOURHOODS[n % len(NEIGHBOURHOODS)],
                    "deadline": str(date.today() + timedelta(days=7 + n)),
                    "places": 1 + n % 3}  # fmt: skip
            jobs.append(self.call("POST", "/jobs", issuers[n % 2], json=body))
        # Jobs in every state: approved and paid, rejected, waiting for inspection, claimed.
        states = ["approved"] * 14 + ["rejected"] * 2 + ["done"] * 4 + ["claimed"] * 3
        for n, state in enumerate(states):
            resident = residents[n % len(residents)]
            claim = self.call("POST", f"/jobs/{jobs[n]['id']}/claim", resident)
            if state == "claimed":
                continue
            self.call("POST", f"/claims/{claim['id']}/done", resident,
                      json={"note": NOTE})  # fmt: skip
            if state == "approved":
                self.call("POST", f"/claims/{claim['id']}/approve", inspector, json={})
            elif state == "rejected":
                self.call(
                    "POST",
                    f"/claims/{claim['id']}/reject",
                    inspector,
                    json={"reason": REJECTION},
                )
        worker = self.http.app.state.worker  # type: ignore[attr-defined]
        while worker.run_once():
            pass
        payments = 0
        for n in range(14):
            shop = shops[self.rng.randrange(11)]
            cents = self.rng.randrange(150, 900)
            body = {
                "merchant_code": shop["code"],
                "amount": f"{cents // 100}.{cents % 100:02d}",
                "receipt": f"KASSA-{n + 1:05d}",
                "request_id": f"demo-pay-{n:04d}",
            }
            self.call("POST", "/payments", residents[n % len(residents)], json=body)
            payments += 1
        return {"residents": len(residents), "merchants": len(shops), "jobs": len(jobs),
                "payments": payments}  # fmt: skip


def _stop(signum: int, _frame: object) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.demo", description=__doc__)
    parser.add_argument("--home", default=".demo", help="the demo's folder (default .demo)")
    parser.add_argument("--chain-port", type=int, default=8545)
    parser.add_argument("--port", type=int, default=8000, help="the API's port")
    parser.add_argument("--no-serve", action="store_true", help="seed, summarise, stop")
    args = parser.parse_args(argv)
    home = Path(args.home).resolve()
    # A stop by a service manager (SIGTERM) ends the demo like Ctrl-C does: the embedded chain
    # saves its state and stops. (uvicorn handles the signal first, then raises it again.)
    signal.signal(signal.SIGTERM, _stop)
    with running_chain(home, args.chain_port) as chain:
        ensure_deployed(home, chain.url)
        env = environment(home, chain.url)
        settings = load_settings(env, load_config(environ=env))
        fresh = not (home / "heitje.db").exists()
        with TestClient(create_app(settings)) as http:
            if fresh:
                print("Seeding the demo (the first time only) ...", flush=True)
                counts = Seeder(http).seed()
                print(
                    f"  {counts['residents']} residents, {counts['merchants']} merchants, "
                    f"{counts['jobs']} jobs, {counts['payments']} payments"
                )
            token = http.post(
                "/auth/login", json={"username": "admin", "password": settings.admin_password}
            ).json()["token"]
            shops = http.get(
                "/merchants?status=approved&limit=3", headers={"Authorization": f"Bearer {token}"}
            ).json()["items"]
        print(f"\nThe chain runs at {chain.url}; the demo's data is in {home}.")
        print("Sign in with (password for all but admin: " + PASSWORD + "):")
        print("  admin (password development-admin)   the municipality's administrator")
        print("  wijkzaken, welzijn                    job issuers")
        print("  inspecteur                            the inspector")
        print("  penningmeester                        the treasurer")
        print("  accountant                            an auditor")
        print("  balie                                 the municipal desk (Heitje cards)")
        print("  HRL-0001 ... HRL-0030                 residents")
        for shop in shops:
            sign_in = f"{shop['code']} (or merchant-{shop['code'].lower()})"
            print(f"  {sign_in:<37}{shop['name']} (a shop: its code)")
        if args.no_serve:
            return 0
        import uvicorn

        print(f"\nThe web app: http://127.0.0.1:{args.port}/app/")
        print(f"The public figures (no sign-in): http://127.0.0.1:{args.port}/app/#/openbaar")
        print(f"The API:     http://127.0.0.1:{args.port}/docs  (Ctrl-C stops the demo)\n")
        uvicorn.run(create_app(settings), host="127.0.0.1", port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
