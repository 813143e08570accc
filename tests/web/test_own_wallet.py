"""A resident with their own wallet, driven through a real wallet library: ethers.js v6 (from
npm, its UMD build injected into the page) behind an EIP-1193 provider (`window.ethereum`)
that signs with an ethers `Wallet` and sends to the test chain's JSON-RPC (through a
Playwright binding, so the app's Content-Security-Policy stays as it is; anvil's gas price
is zero). The resident signs in with the wallet (EIP-4361), adds the token (EIP-747) and the
network (EIP-3085), pays the shop once from the EIP-681 request the till shows (parsed and
sent here as a wallet app would, with ethers) and once through the app's pay page; each
payment appears on the till and in both histories, once. Without a wallet in the browser the
pay page says so and shows the EIP-681 request instead."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from playwright.sync_api import Browser, BrowserContext, Page, expect
from support.web import ROOT, Served, wait_for
from test_truth import problems, settled

from api.demo import PASSWORD

SHOTS = ROOT / "reports" / "screenshots" / "wallet"
ETHERS = ROOT / "node_modules" / "ethers" / "dist" / "ethers.umd.min.js"
PHONE = {"width": 390, "height": 844}

#: The injected wallet: `window.ethereum.request` answered by an ethers Wallet; every call is
#: noted in `window.__walletCalls` for the test to read.
PROVIDER = """
(() => {
  const wallet = new ethers.Wallet(__KEY__);
  const rpc = (method, params) => window.__chainRpc(method, params || []);
  window.__walletCalls = [];
  window.ethereum = {
    isMetaMask: false,
    on() {},
    removeListener() {},
    async request({ method, params }) {
      window.__walletCalls.push({ method, params: params === undefined ? null : params });
      switch (method) {
        case "eth_requestAccounts":
        case "eth_accounts":
          return [wallet.address];
        case "wallet_watchAsset":
          return true;
        case "wallet_addEthereumChain":
        case "wallet_switchEthereumChain":
          return null;
        case "personal_sign":
          return wallet.signMessage(ethers.getBytes(params[0]));
        case "eth_sendTransaction": {
          const tx = params[0];
          if (tx.from.toLowerCase() !== wallet.address.toLowerCase()) throw { code: 4100 };
          const chainId = BigInt(await rpc("eth_chainId"));
          const nonce = Number(await rpc("eth_getTransactionCount", [wallet.address, "pending"]));
          const call = { from: wallet.address, to: tx.to, data: tx.data };
          const gas = BigInt(await rpc("eth_estimateGas", [call]));
          const signed = await wallet.signTransaction({
            type: 0, chainId, nonce, to: tx.to, data: tx.data, value: 0n,
            gasLimit: gas * 2n, gasPrice: 0n,  // anvil's gas price is zero
          });
          return rpc("eth_sendRawTransaction", [signed]);
        }
        default:
          return rpc(method, params);
      }
    },
  };
})();
"""

#: What a wallet app does with a scanned EIP-681 request: parse it, check the network, write
#: the ERC-20 transfer with ethers and send it.
PAY_REQUEST = """
async ([link]) => {
  const m = /^ethereum:(0x[0-9a-fA-F]{40})@(\\d+)\\/transfer\\?(.*)$/.exec(link);
  if (!m) throw new Error("not an EIP-681 transfer request: " + link);
  const query = new URLSearchParams(m[3]);
  const chain = BigInt(await window.ethereum.request({ method: "eth_chainId" }));
  if (chain !== BigInt(m[2])) throw new Error("another network: " + m[2]);
  const token = new ethers.Interface(["function transfer(address to, uint256 amount)"]);
  const to = query.get("address");
  const data = token.encodeFunctionData("transfer", [to, BigInt(query.get("uint256"))]);
  const [from] = await window.ethereum.request({ method: "eth_requestAccounts" });
  const tx = { from, to: m[1], data };
  return window.ethereum.request({ method: "eth_sendTransaction", params: [tx] });
}
"""


class Chain:
    """The test chain's JSON-RPC, as the wallet reaches it."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(timeout=30)
        self.url = url
        self.sent: list[str] = []

    def __call__(self, _source: Any, method: str, params: list[Any]) -> Any:
        answer = self.http.post(
            self.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        ).json()
        if "error" in answer:
            raise RuntimeError(json.dumps(answer["error"]))
        if method == "eth_sendRawTransaction":
            self.sent.append(answer["result"])
        return answer["result"]


@pytest.fixture
def contexts(browser: Browser) -> Iterator[Any]:
    made: list[BrowserContext] = []
    errors: list[str] = []

    def make() -> BrowserContext:
        # bypass_csp only so axe-core (the test's, not the app's) can be injected
        context = browser.new_context(viewport=PHONE, locale="nl-NL", bypass_csp=True)
        context.set_default_timeout(20_000)
        made.append(context)
        context.on("page", lambda page: page.on("pageerror", lambda e: errors.append(str(e))))
        return context

    yield make
    for context in made:
        context.close()
    assert errors == [], "the page raised errors"


def _own_wallet_resident(served: Served, pseudonym: str) -> tuple[Any, dict[str, str]]:
    account = Account.create()
    body = {"pseudonym": pseudonym, "neighbourhood": "Grasbroek", "wallet": account.address}
    served.call("POST", "/residents", {}, 201, json=body)
    text = served.call("POST", "/auth/challenge", {}, json={"wallet": account.address})["text"]
    signature = account.sign_message(encode_defunct(text=text)).signature.hex()
    signed = {"message": text, "signature": "0x" + signature.removeprefix("0x")}
    token = served.call("POST", "/auth/wallet", {}, json=signed)["token"]
    return account, {"Authorization": f"Bearer {token}"}


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _checked(page: Page, lang: str = "nl") -> None:
    settled(page)
    assert problems(page, lang) == []


def test_an_own_wallet_pays_from_the_tills_request_and_from_the_app(
    contexts: Any, served: Served
) -> None:
    network = served.http.get("/wallet/network").json()
    chain = Chain(network["rpc_url"])
    account, resident_api = _own_wallet_resident(served, "HRL-EIGEN")
    served.fund(resident_api, "20.00")
    shop_api = served.login(f"merchant-{served.shop_code.lower()}")
    before = served.call("GET", "/payments", shop_api)["total"]

    # The shop's till: an amount, and two QR codes (the app's link, the EIP-681 request).
    till = contexts().new_page()
    till.goto(f"{served.base}/app/#/login")
    till.get_by_label("Gebruikersnaam").fill(f"merchant-{served.shop_code.lower()}")
    till.get_by_label("Wachtwoord").fill(PASSWORD)
    till.get_by_role("button", name="Inloggen").click()
    expect(till.locator("h1")).to_have_text("Kassa")
    till.get_by_label("Bedrag in euro").fill("3,40")
    till.get_by_role("button", name="Toon QR-code").click()
    request = till.locator("a.wallet-link")
    expect(request).to_be_visible()
    link = request.get_attribute("href") or ""
    shop_address = served.call("GET", "/merchants/me", shop_api)["merchant"]["address"]
    assert link == (
        f"ethereum:{network['token']}@{network['chain_id']}/transfer"
        f"?address={shop_address}&uint256=340"
    )
    expect(
        till.get_by_role("img", name="QR-code voor een portemonnee-app om € 3,40 te betalen")
    ).to_be_visible()
    _checked(till)
    _shot(till, "till-two-qr-codes")

    # The resident's phone: ethers behind window.ethereum.
    phone = contexts()
    phone.expose_binding("__chainRpc", chain)
    phone.add_init_script(path=str(ETHERS))
    phone.add_init_script(script=PROVIDER.replace("__KEY__", json.dumps(account.key.hex())))
    page = phone.new_page()
    page.goto(f"{served.base}/app/#/login")
    expect(page.get_by_role("heading", name="Met uw eigen portemonnee")).to_be_visible()
    _checked(page)
    _shot(page, "login-with-wallet")
    page.get_by_role("button", name="Inloggen met mijn portemonnee").click()
    page.wait_for_function("() => !location.hash.startsWith('#/login')")
    calls = page.evaluate("() => window.__walletCalls.map(c => c.method)")
    assert "personal_sign" in calls

    # 1. Paid as a wallet app pays a scanned EIP-681 request: parsed, written and sent with
    #    ethers (no receipt); the till shows it within seconds and is ready for the next sale.
    tx_hash = page.evaluate(PAY_REQUEST, [link])
    assert re.fullmatch(r"0x[0-9a-f]{64}", tx_hash)
    expect(till.get_by_text("Ontvangen: € 3,40 van HRL-EIGEN.")).to_be_visible(timeout=15_000)
    expect(till.get_by_label("Bedrag in euro")).to_be_visible()  # matched by its amount
    _shot(till, "till-wallet-payment-received")

    # 2. The app's pay page: add the token and the network, then pay with the wallet.
    page.goto(f"{served.base}/app/#/r/pay?m={served.shop_code}&a=2.15&r=BON-EIGEN")
    expect(page.get_by_role("heading", name="Uw eigen portemonnee")).to_be_visible()
    _checked(page)
    page.get_by_role("button", name="Heitje toevoegen aan mijn portemonnee").click()
    expect(page.get_by_text("De Heitje staat nu in uw portemonnee-app.")).to_be_visible()
    page.get_by_role("button", name="Netwerk van de gemeente toevoegen").click()
    expect(
        page.get_by_text(f"Het netwerk {network['chain_name']} staat nu in uw portemonnee-app.")
    ).to_be_visible()
    watched = page.evaluate(
        "() => window.__walletCalls.filter(c => c.method === 'wallet_watchAsset')[0].params"
    )
    assert watched == {
        "type": "ERC20",
        "options": {"address": network["token"], "symbol": network["symbol"][:11], "decimals": 2},
    }
    added = page.evaluate(
        "() => window.__walletCalls.filter(c => c.method === 'wallet_addEthereumChain')[0].params"
    )
    assert added[0]["chainId"] == hex(network["chain_id"])
    assert added[0]["rpcUrls"] == [network["rpc_url"]]
    _shot(page, "pay-page-own-wallet")
    page.get_by_role("button", name="Verder").click()
    expect(page.get_by_text("U betaalt € 2,15 aan Bakkerij Op de Kamp.")).to_be_visible()
    _checked(page)
    _shot(page, "pay-confirm-own-wallet")
    page.get_by_role("button", name="Betaal € 2,15 met mijn portemonnee").click()
    expect(page.locator("p.big[role=status]")).to_have_text(
        "Betaald! € 2,15 aan Bakkerij Op de Kamp, vanuit uw eigen portemonnee. Bon BON-EIGEN.",
        timeout=30_000,
    )
    _checked(page)
    _shot(page, "pay-own-wallet-paid")
    expect(till.get_by_text("Ontvangen: € 2,15 van HRL-EIGEN.")).to_be_visible(timeout=15_000)
    assert len(chain.sent) == 2  # two transactions, both sent by the ethers wallet

    # Each payment once: the shop's list, the resident's history, the chain.
    wait_for(lambda: served.call("GET", "/payments", shop_api)["total"] == before + 2)
    listed = served.call("GET", "/payments", shop_api)["items"][:2]
    assert [(p["amount"]["cents"], p["receipt"], p["via"]) for p in listed] == [
        (2_15, "BON-EIGEN", "wallet"),
        (3_40, "", "wallet"),
    ]
    assert listed[1]["tx_hash"] == tx_hash
    till.goto(f"{served.base}/app/#/m/payments")
    expect(till.locator("main")).to_contain_text("uit eigen portemonnee")
    for amount in ("€ 3,40", "€ 2,15"):
        # (the card test pays the same shop € 3,40 too: only this resident's count)
        mine = till.locator("li.card", has_text=f"{amount} · ").filter(has_text="HRL-EIGEN")
        expect(mine).to_have_count(1)
    _checked(till)
    _shot(till, "shop-payments-with-wallet")
    till.goto(f"{served.base}/app/#/m/day")  # the day overview (and its CSV) counts them too
    rows = till.locator("main ul.rows li.row.payment")
    expect(rows.filter(has_text="HRL-EIGEN · uit eigen portemonnee")).to_have_count(1)
    expect(rows.filter(has_text="HRL-EIGEN · BON-EIGEN")).to_have_count(1)
    _checked(till)
    _shot(till, "shop-day-with-wallet")
    page.goto(f"{served.base}/app/#/r/history")
    expect(page.locator("li.payment")).to_have_count(2)
    expect(page.locator("li.payment", has_text="\N{MINUS SIGN}€ 3,40")).to_have_count(1)
    expect(page.locator("li.payment", has_text="\N{MINUS SIGN}€ 2,15")).to_have_count(1)
    _checked(page)
    _shot(page, "resident-history-wallet")
    assert served.call("GET", "/residents/me", resident_api)["balance"]["cents"] == 20_00 - 5_55


def test_without_a_wallet_in_the_browser_the_pay_page_says_so(
    contexts: Any, served: Served
) -> None:
    _, resident_api = _own_wallet_resident(served, "HRL-GEENAPP")
    served.fund(resident_api, "5.00")
    token = resident_api["Authorization"].removeprefix("Bearer ")
    me = served.call("GET", "/auth/me", resident_api)
    context = contexts()
    session = {"token": token, "role": "resident", "user": me["id"], "name": "HRL-GEENAPP"}
    context.add_init_script(
        script=f"if (location.origin === {json.dumps(served.base)}) "
        f"sessionStorage.setItem('heitje.session', {json.dumps(json.dumps(session))});"
    )
    page = context.new_page()
    page.goto(f"{served.base}/app/#/r/pay?m={served.shop_code}&a=1.25")
    expect(page.get_by_text("In deze browser is geen portemonnee-app gevonden.")).to_be_visible()
    page.get_by_role("button", name="Verder").click()
    link = page.locator("a.wallet-link")
    expect(link).to_be_visible()
    network = served.http.get("/wallet/network").json()
    assert (link.get_attribute("href") or "").startswith(
        f"ethereum:{network['token']}@{network['chain_id']}/transfer?address="
    )
    assert (link.get_attribute("href") or "").endswith("&uint256=125")
    expect(page.get_by_role("button", name=re.compile("Betaal"))).to_have_count(0)
    _checked(page)
    _shot(page, "pay-no-wallet")
    page.evaluate("() => localStorage.setItem('heitje.lang', 'en')")
    page.reload()
    expect(page.get_by_text("No wallet app was found in this browser.")).to_be_visible()
    _checked(page, "en")
