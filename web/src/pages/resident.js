// The resident's pages: the account, jobs nearby, paying a shop, the history.
import { api, get, post, qs, session } from "../api.js";
import { clear, day, field, h, when } from "../dom.js";
import { eur, language, t } from "../i18n.js";
import { canScan, readPayCode } from "../paycode.js";
import { scanner } from "../scanner.js";
import { askFirst, busy, centsText, csvButton, facts, form, messages, pagedList, title, typedCents } from "../ui.js";
import {
  addNetwork, connectWallet, hasWallet, outcome, paymentRequest, sendPayment, walletNetwork, walletProblem, watchToken,
} from "../wallet.js";

function newRequestId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function claimCard(claim, reload) {
  const msg = messages();
  const status = h("p", { class: `badge ${claim.status}` }, t(`status_${claim.status}`));
  const card = h(
    "li",
    { class: "card", "data-claim": claim.id },
    h("h3", {}, claim.job_title),
    status,
    facts([
      [t("reward"), eur(claim.reward)],
      claim.payment ? [t("payout"), t(`payment_${claim.payment}`)] : null,
      claim.reason ? [t("reason"), claim.reason] : null,
    ]),
    msg.el,
  );
  if (claim.status === "claimed") {
    // Not doing it after all: give the place back, asked first.
    const place = h("div", {});
    const showButton = () => {
      const back = h("button", { type: "button", class: "secondary" }, t("withdraw"));
      back.addEventListener("click", () =>
        askFirst(place, {
          heading: t("withdraw_confirm_title"),
          lines: [t("withdraw_confirm", { title: claim.job_title })],
          yesLabel: t("withdraw_yes"),
          msg,
          no: showButton,
          yes: async () => {
            await post(`/claims/${claim.id}/withdraw`);
            await reload();
            const again = document.querySelector(`[data-claim="${claim.id}"] .messages`);
            if (again) again.append(h("p", { class: "ok", role: "status" }, t("withdrawn")));
          },
        }),
      );
      clear(place, back);
    };
    showButton();
    card.append(place);
  }
  if (claim.status === "claimed" || (claim.status === "done" && !claim.photo)) {
    const photo = h("input", { type: "file", accept: "image/jpeg,image/png", capture: "environment" });
    const preview = h("div", { class: "preview" });
    photo.addEventListener("change", () => {
      // The photo as it will be sent, before the resident reports the job done.
      clear(preview);
      if (!photo.files.length) return;
      const url = URL.createObjectURL(photo.files[0]);
      const img = h("img", { src: url, alt: t("photo_preview_alt"), class: "photo" });
      img.addEventListener("load", () => URL.revokeObjectURL(url));
      preview.append(img);
    });
    const parts = [field(t("photo"), photo, t("photo_hint")), preview];
    let note = null;
    if (claim.status === "claimed") {
      note = h("textarea", { rows: 3, maxlength: 2000 });
      parts.unshift(field(t("note"), note));
    }
    card.append(
      form(parts, claim.status === "claimed" ? t("mark_done") : t("photo"), msg, async () => {
        if (photo.files.length) {
          const data = new FormData();
          data.append("photo", photo.files[0]);
          await api("PUT", `/claims/${claim.id}/photo`, data);
        }
        if (note) await post(`/claims/${claim.id}/done`, { note: note.value.trim() });
        await reload();
        const again = document.querySelector(`[data-claim="${claim.id}"] .messages`);
        if (again) again.append(h("p", { class: "ok", role: "status" }, note ? t("marked_done") : t("photo_sent")));
      }),
    );
  }
  return card;
}

const LAST = "heitje.last-balance"; // the last balance this phone saw, with its time

function keepBalance(me) {
  const user = session.get();
  localStorage.setItem(LAST, JSON.stringify({ user: user && user.user, balance: me.balance, at: new Date().toISOString() }));
}

/** Offline: the last balance this phone saw, marked as such, with when it was seen. */
function lastBalance() {
  try {
    const kept = JSON.parse(localStorage.getItem(LAST) || "null");
    const user = session.get();
    if (!kept || !user || kept.user !== user.user) return null;
    return h(
      "section",
      { class: "card offline", "aria-label": t("offline_title") },
      h("h2", { class: "card-title" }, t("offline_title")),
      h("p", { class: "balance" }, h("span", {}, t("offline_last_balance")), h("strong", { id: "last-balance" }, eur(kept.balance))),
      h("p", { class: "hint" }, t("offline_seen_at", { when: when(kept.at, language()) })),
    );
  } catch {
    return null;
  }
}

export async function accountPage(root) {
  const msg = messages();
  const summary = h("div", { class: "summary" }, h("p", { class: "muted" }, t("loading")));
  const claims = pagedList({
    fetchPage: (offset, limit) => get(`/claims${qs({ offset, limit })}`),
    render: (c) => claimCard(c, () => claims.reload()),
    empty: t("no_claims"),
  });
  root.append(title(t("account_title")), msg.el, summary, h("h2", {}, t("my_claims")), claims.el);
  try {
    const me = await get("/residents/me");
    keepBalance(me);
    clear(
      summary,
      h("p", { class: "balance" }, h("span", {}, t("balance")), h("strong", { id: "balance" }, eur(me.balance))),
      facts([
        [t("earned", { year: me.year }), eur(me.earned_this_year)],
        [t("room", { year: me.year }), h("span", { id: "room" }, eur(me.room_under_cap))],
        [t("neighbourhood"), me.resident.neighbourhood],
      ]),
      h("p", { class: "hint" }, t("room_hint")),
    );
  } catch (error) {
    clear(summary, error.code === "network" ? lastBalance() : null);
    msg.problem(error);
    if (error.code === "network") return undefined; // nothing more to load without a network
  }
  await claims.reload();
  const timer = setInterval(async () => {
    // Rewards are paid on-chain a moment after approval: keep the balance current.
    try {
      const me = await get("/residents/me");
      keepBalance(me);
      const el = document.getElementById("balance");
      if (el) el.textContent = eur(me.balance);
    } catch {
      /* the next tick tries again */
    }
  }, 5000);
  return () => clearInterval(timer);
}

export async function jobsPage(root, { params }) {
  const msg = messages();
  root.append(title(t("jobs_title_all")), msg.el);
  let me;
  try {
    me = await get("/residents/me");
  } catch (error) {
    msg.problem(error);
    return;
  }
  const everywhere = params.get("all") === "1";
  const hood = me.resident.neighbourhood;
  root.querySelector("h1").textContent = everywhere ? t("jobs_title_all") : t("jobs_title", { hood });
  root.append(
    h("p", {}, h("a", { href: everywhere ? "#/r/jobs" : "#/r/jobs?all=1" }, everywhere ? t("show_my_hood") : t("show_all_hoods"))),
  );
  const list = pagedList({
    fetchPage: (offset, limit) =>
      get(`/jobs${qs({ offset, limit, neighbourhood: everywhere ? "" : hood })}`),
    render: (job) => {
      const claim = h("button", { type: "button", class: "primary" }, t("claim"));
      const jobMsg = messages();
      claim.addEventListener("click", () =>
        busy(claim, jobMsg, async () => {
          await post(`/jobs/${job.id}/claim`);
          jobMsg.ok(t("claimed"));
          claim.remove();
        }),
      );
      return h(
        "li",
        { class: "card", "data-job": job.id },
        h("h2", { class: "card-title" }, job.title),
        job.places_left > 0 ? null : h("p", { class: "badge full" }, t("job_full_badge")),
        h("p", {}, job.description),
        facts([
          [t("where"), job.neighbourhood],
          [t("reward"), eur(job.reward)],
          [t("deadline"), day(job.deadline, language())],
          [t("places_left"), String(job.places_left)],
          [t("by"), job.issuer],
        ]),
        jobMsg.el,
        job.places_left > 0 ? claim : null,
      );
    },
    empty: t("no_jobs"),
  });
  root.append(list.el);
  await list.reload();
}

function plainAmount(text) {
  const trimmed = text.trim().replace(/^€\s*/, "");
  if (!/^\d{1,7}([.,]\d{1,2})?$/.test(trimmed)) return null;
  return trimmed.replace(",", ".");
}

export async function payPage(root, { params }) {
  const msg = messages();
  const stage = h("div", {});
  const balanceLine = h("p", { class: "balance" }, h("span", {}, t("balance")), h("strong", { id: "balance" }, t("loading")));
  const tools = h("div", {});
  root.append(title(t("pay_title")), balanceLine, msg.el, tools, stage);
  let balanceCents = null; // what the resident has, as the chain said a moment ago
  let resident = null; // their record: whose wallet, kept by the municipality or their own
  async function readBalance() {
    const me = await get("/residents/me");
    resident = me.resident;
    balanceCents = BigInt(me.balance.cents);
    balanceLine.querySelector("strong").textContent = eur(me.balance);
    return balanceCents;
  }
  try {
    await readBalance();
  } catch (error) {
    balanceLine.querySelector("strong").textContent = "—";
    msg.problem(error);
  }
  if (resident && !resident.custodial) await walletTools(tools, msg);
  let camera = null;
  const stop = () => {
    if (camera) camera.stop();
    camera = null;
  };

  function enter(prefill) {
    stop();
    const code = h("input", {
      name: "merchant_code", autocomplete: "off", autocapitalize: "characters", maxlength: 12,
      value: prefill.code || "", inputmode: "text", spellcheck: "false",
    });
    const amount = h("input", { name: "amount", inputmode: "decimal", autocomplete: "off", value: prefill.amount || "" });
    const receipt = h("input", { name: "receipt", maxlength: 32, autocomplete: "off", value: prefill.receipt || "" });
    camera = scanner({
      label: t("scan"),
      hint: t("scan_hint"),
      denied: t("scan_denied"),
      found: (text, scanMsg) => {
        const found = readPayCode(text);
        if (!found) {
          clear(scanMsg.el, h("p", { class: "error", role: "alert" }, t("scan_bad")));
          return;
        }
        code.value = found.code;
        if (found.amount) amount.value = found.amount;
        if (found.receipt) receipt.value = found.receipt;
        scanMsg.clear();
        (found.amount ? code.form.querySelector("button[type=submit]") : amount).focus();
      },
    });
    clear(
      stage,
      canScan() ? camera.el : h("p", { class: "hint" }, t("scan_none")),
      h("h2", {}, t("or_type")),
      form(
        [
          field(t("merchant_code"), code, t("merchant_code_hint")),
          field(t("amount"), amount, t("amount_hint")),
          field(t("receipt"), receipt),
        ],
        t("next"),
        msg,
        async () => {
          const shopCode = code.value.trim().toUpperCase();
          const euros = plainAmount(amount.value);
          if (!/^[A-Z0-9]{4,12}$/.test(shopCode)) {
            code.focus();
            throw { code: "no_merchant" };
          }
          if (euros === null || typedCents(euros) <= 0n) {
            amount.focus();
            throw { code: "InvalidAmount" };
          }
          if (balanceCents !== null && typedCents(euros) > balanceCents) {
            // More than there is: refused here, before anything is sent.
            amount.setAttribute("aria-invalid", "true");
            amount.focus();
            clear(msg.el, h("p", { class: "error", role: "alert" }, t("more_than_balance", {
              amount: eur(euros), balance: eur(centsText(balanceCents)),
              short: eur(centsText(typedCents(euros) - balanceCents)),
            })));
            return;
          }
          amount.removeAttribute("aria-invalid");
          // The shop behind the code, to show whom the resident is about to pay.
          let shop;
          try {
            shop = await get(`/merchants/by-code/${encodeURIComponent(shopCode)}`);
          } catch (error) {
            if (error.code !== "no_merchant") throw error;
            clear(msg.el, h("p", { class: "error", role: "alert" }, t("unknown_shop", { code: shopCode })));
            code.setAttribute("aria-invalid", "true");
            code.focus();
            return;
          }
          code.removeAttribute("aria-invalid");
          confirm({ shop, amount: euros, receipt: receipt.value.trim() });
        },
        { class: "narrow" },
      ),
    );
  }

  function confirm({ shop, amount, receipt }) {
    if (resident && !resident.custodial) {
      confirmOwn({ shop, amount, receipt });
      return;
    }
    const requestId = newRequestId(); // the same id for every tap on this screen: paid once
    const slip = receipt || `APP-${new Date().toISOString().replace(/\D/g, "").slice(0, 14)}`;
    const pay = h("button", { type: "button", class: "primary big" }, t("pay_now", { amount: eur(amount) }));
    const back = h("button", { type: "button", class: "secondary" }, t("cancel"));
    back.addEventListener("click", () => enter({ code: shop.code, amount, receipt }));
    pay.addEventListener("click", () =>
      busy(pay, msg, async () => {
        let done;
        try {
          done = await post("/payments", {
            merchant_code: shop.code,
            amount,
            receipt: slip,
            request_id: requestId,
          });
        } catch (error) {
          if (error.code !== "payment_refused") throw error;
          // Refused: nothing was paid. Say so with the numbers, and what to do next.
          let have = balanceCents;
          try {
            have = await readBalance();
          } catch {
            /* the last balance read stands */
          }
          clear(
            stage,
            h("p", { class: "error big", role: "alert", tabindex: "-1" }, t("pay_refused", {
              amount: eur(amount), shop: shop.name,
              balance: have === null ? "—" : eur(centsText(have)),
            })),
            h("p", {}, h("a", { href: "#/r/pay" }, t("pay_again")), " · ", h("a", { href: "#/r/history" }, t("nav_history"))),
          );
          stage.querySelector("p").focus();
          return;
        }
        readBalance().catch(() => {});
        if (done.status !== "paid") {
          // Sent, but the chain has not confirmed it yet (or it did not go through): never
          // shown as paid. Asking again with the same request id pays at most once.
          const again = h("button", { type: "button", class: "secondary" }, t("pay_look_again"));
          again.addEventListener("click", () => pay.click());
          const sending = done.status === "sending";
          clear(
            stage,
            h("p", { class: sending ? "big" : "error big", role: "status", tabindex: "-1" },
              t(sending ? "pay_sending" : "pay_not_done", { amount: eur(done.amount), shop: done.merchant })),
            h("div", { class: "actions" }, sending ? again : null, h("a", { href: "#/r/history" }, t("nav_history"))),
          );
          stage.querySelector("p").focus();
          return;
        }
        clear(
          stage,
          h("p", { class: "ok big", role: "status" }, t("paid", { amount: eur(done.amount), shop: done.merchant, receipt: done.receipt })),
          h("p", {}, h("a", { href: "#/r/history" }, t("nav_history"))),
        );
        stage.querySelector("p").setAttribute("tabindex", "-1");
        stage.querySelector("p").focus();
      }),
    );
    clear(
      stage,
      h("h2", { tabindex: "-1" }, t("confirm_title")),
      h("p", { class: "big" }, t("confirm_text", { amount: eur(amount), shop: shop.name })),
      balanceCents !== null ? h("p", {}, t("balance_after", { balance: eur(centsText(balanceCents - typedCents(amount))) })) : null,
      h("p", {}, t("confirm_receipt", { receipt: slip }), " · ", t("shop_code"), " ", shop.code),
      h("div", { class: "actions" }, pay, back),
    );
    stage.querySelector("h2").focus();
  }

  /** An own wallet pays itself: the app asks the wallet in the browser (EIP-1193) to send
   *  the transfer, then says what the chain did; without one, it shows the EIP-681 request
   *  to scan or open in a wallet app. The service lists the payment once the chain has it. */
  async function confirmOwn({ shop, amount, receipt }) {
    const slip = receipt || `APP-${new Date().toISOString().replace(/\D/g, "").slice(0, 14)}`;
    const cents = typedCents(amount);
    const net = await networkFor(msg);
    if (!net) return;
    const back = h("button", { type: "button", class: "secondary" }, t("cancel"));
    back.addEventListener("click", () => enter({ code: shop.code, amount, receipt }));
    const head = [
      h("h2", { tabindex: "-1" }, t("confirm_title")),
      h("p", { class: "big" }, t("confirm_text", { amount: eur(amount), shop: shop.name })),
      balanceCents !== null ? h("p", {}, t("balance_after", { balance: eur(centsText(balanceCents - cents)) })) : null,
    ];
    if (!hasWallet()) {
      const request = paymentRequest(net, shop.address, cents);
      const canvas = h("canvas", { role: "img", "aria-label": t("wallet_qr_label", { amount: eur(amount), shop: shop.name }) });
      clear(
        stage,
        ...head,
        h("p", { role: "status" }, t("wallet_none_pay")),
        h("figure", { class: "pay-qr" }, canvas, h("figcaption", {}, h("a", { href: request, class: "wallet-link", "data-eip681": request }, t("wallet_link")))),
        h("p", { class: "hint" }, t("wallet_none_after")),
        h("div", { class: "actions" }, back),
      );
      stage.querySelector("h2").focus();
      const { drawQr } = await import("../qr.js");
      await drawQr(canvas, request);
      return;
    }
    const pay = h("button", { type: "button", class: "primary big" }, t("wallet_pay_now", { amount: eur(amount) }));
    const say = (key, cls) => {
      clear(
        stage,
        h("p", { class: cls, role: cls.startsWith("error") ? "alert" : "status", tabindex: "-1" }, t(key, { amount: eur(amount), shop: shop.name, receipt: slip })),
        h("p", {}, h("a", { href: "#/r/pay" }, t("pay_again")), " · ", h("a", { href: "#/r/history" }, t("nav_history"))),
      );
      stage.querySelector("p").focus();
    };
    pay.addEventListener("click", () =>
      busy(pay, msg, async () => {
        let hash;
        try {
          const from = await connectWallet();
          if (from !== resident.address.toLowerCase()) {
            clear(msg.el, h("p", { class: "error", role: "alert" }, t("wallet_other_account", { address: resident.address })));
            return;
          }
          hash = await sendPayment(net, from, shop.address, cents, slip);
        } catch (error) {
          const problem = walletProblem(error);
          clear(msg.el, h("p", { class: "error", role: "alert" }, t(`wallet_${problem}`)));
          return;
        }
        say("wallet_sent", "big"); // sent, not confirmed: never shown as paid yet
        const result = await outcome(hash);
        readBalance().catch(() => {});
        if (result === "confirmed") say("wallet_paid", "ok big");
        else if (result === "refused") say("wallet_refused", "error big");
        else say("wallet_sent", "big");
      }),
    );
    clear(
      stage,
      ...head,
      h("p", {}, t("confirm_receipt", { receipt: slip }), " · ", t("shop_code"), " ", shop.code),
      h("p", { class: "hint" }, t("wallet_pay_hint")),
      h("div", { class: "actions" }, pay, back),
    );
    stage.querySelector("h2").focus();
  }

  enter({ code: params.get("m") || "", amount: params.get("a") || "", receipt: params.get("r") || "" });
  return stop;
}

/** The network and the token, or null with the problem said in `msg`. */
async function networkFor(msg) {
  try {
    return await walletNetwork();
  } catch (error) {
    msg.problem(error);
    return null;
  }
}

/** A button that asks the wallet for something (`ask()` says whether it was done) and says
 *  the outcome in `said`. */
function walletButton(label, said, ask, done) {
  const button = h("button", { type: "button", class: "secondary" }, label);
  button.addEventListener("click", () =>
    busy(button, said, async () => {
      try {
        const taken = (await ask()) !== false;
        clear(said.el, h("p", { class: taken ? "ok" : "error", role: "status" }, taken ? done : t("wallet_tool_stopped")));
      } catch (error) {
        clear(said.el, h("p", { class: "error", role: "alert" }, t(`wallet_tool_${walletProblem(error)}`)));
      }
    }),
  );
  return button;
}

/** For a resident with their own wallet: add the Heitje token (EIP-747) and the
 *  municipality's network (EIP-3085) to the wallet in this browser, or say plainly that
 *  there is none. */
async function walletTools(place, msg) {
  const net = await networkFor(msg);
  if (!net) return;
  const said = messages();
  const box = h("section", { class: "wallet-tools", "aria-labelledby": "wallet-tools-title" }, h("h2", { id: "wallet-tools-title" }, t("wallet_title")));
  if (!hasWallet()) {
    box.append(h("p", {}, t("wallet_none")));
    clear(place, box);
    return;
  }
  const buttons = [walletButton(t("wallet_add_token"), said, () => watchToken(net), t("wallet_token_added"))];
  if (net.rpc_url) {
    buttons.push(walletButton(t("wallet_add_network"), said, () => addNetwork(net), t("wallet_network_added", { name: net.chain_name })));
  }
  box.append(h("p", { class: "hint" }, t("wallet_intro")), h("div", { class: "actions" }, ...buttons));
  if (!net.rpc_url) box.append(h("p", { class: "hint" }, t("wallet_no_rpc")));
  box.append(said.el);
  clear(place, box);
}

/** One line of the history. Only confirmed money (`paid`) is shown as an amount in or out;
 *  a refused, failed or reversed attempt says in words that nothing moved, and one still
 *  being sent says it is not confirmed yet. */
function historyRow(item) {
  const moved = item.status === "paid";
  const amount = eur(item.amount.eur.replace("-", ""));
  const what = h(
    "span",
    { class: "what" },
    h("strong", {}, t(`kind_${item.kind}`)),
    " ",
    item.counterparty,
    item.receipt ? h("span", { class: "receipt" }, ` · ${t("receipt_short", { receipt: item.receipt })}`) : null,
  );
  const parts = [h("span", { class: "when" }, when(item.at, language())), what];
  if (moved) {
    parts.push(h("span", { class: `amount ${item.amount.cents < 0 ? "out" : "in"}` }, eur(item.amount)));
    if (item.kind === "payment") {
      parts.push(h("a", { class: "receipt-link", href: `#/r/receipt?tx=${encodeURIComponent(item.tx_hash || "")}&rc=${encodeURIComponent(item.receipt || "")}` }, t("show_receipt")));
    }
  } else {
    const pending = item.status === "sending" || item.status === "pending";
    const key = pending ? `unconfirmed_${item.kind}` : `not_moved_${item.kind}`;
    parts.push(h("span", { class: pending ? "state pending" : "state not-moved" }, t(key, { amount })));
  }
  if (moved && item.tx_hash) parts.push(h("span", { class: "proof", title: item.tx_hash }, `${t("proof")}: ${item.tx_hash.slice(0, 10)}…`));
  return h("li", { class: `row ${item.kind} ${moved ? "moved" : `attempt ${item.status}`}`, "data-status": item.status }, parts);
}

/** Where Heitjes can be spent: the shops that accept them, grouped by neighbourhood (the
 *  resident's own first), searchable by name or code. */
export async function shopsPage(root) {
  const msg = messages();
  const q = h("input", { name: "q", type: "search", maxlength: 64, autocomplete: "off" });
  const hood = h("select", { name: "neighbourhood" }, h("option", { value: "" }, t("all_hoods")));
  const shown = h("div", { class: "shops", "aria-live": "polite" });
  root.append(
    title(t("shops_title")),
    h("p", {}, t("shops_intro")),
    msg.el,
    form([field(t("shops_find"), q, t("shops_find_hint")), field(t("neighbourhood"), hood)], t("search"), msg, () => show(), { class: "narrow", role: "search" }),
    shown,
  );
  let mine = "";
  try {
    const [me, hoods] = await Promise.all([get("/residents/me"), get("/neighbourhoods")]);
    mine = me.resident.neighbourhood;
    for (const name of hoods.names) hood.append(h("option", { value: name }, name));
  } catch (error) {
    msg.problem(error);
  }
  async function show() {
    const all = [];
    for (let offset = 0; ; offset += 100) {
      const page = await get(`/merchants/accepting${qs({ q: q.value.trim(), neighbourhood: hood.value, offset, limit: 100 })}`);
      all.push(...page.items);
      if (offset + page.items.length >= page.total || !page.items.length) break;
    }
    if (!all.length) {
      clear(shown, h("p", { class: "empty" }, t("shops_none")));
      return;
    }
    const groups = new Map();
    for (const shop of all) {
      if (!groups.has(shop.neighbourhood)) groups.set(shop.neighbourhood, []);
      groups.get(shop.neighbourhood).push(shop);
    }
    const names = [...groups.keys()].sort((a, b) => (a === mine ? -1 : b === mine ? 1 : a.localeCompare(b)));
    clear(
      shown,
      h("p", { class: "muted" }, all.length === 1 ? t("shops_count_one") : t("shops_count", { count: all.length })),
      names.map((name) =>
        h(
          "section",
          { class: "hood", "data-hood": name },
          h("h2", {}, name === mine ? t("shops_in_my_hood", { hood: name }) : name),
          h(
            "ul",
            { class: "rows" },
            groups.get(name).map((shop) =>
              h(
                "li",
                { "data-shop": shop.code },
                h("span", { class: "what" }, h("strong", {}, shop.name)),
                h("span", { class: "code" }, shop.code),
                h("a", { class: "receipt-link", href: `#/r/pay?m=${encodeURIComponent(shop.code)}` }, t("pay_here")),
              ),
            ),
          ),
        ),
      ),
    );
  }
  try {
    await show();
  } catch (error) {
    msg.problem(error);
  }
}

export async function historyPage(root) {
  const list = pagedList({
    fetchPage: (offset, limit) => get(`/residents/me/history${qs({ offset, limit })}`),
    render: historyRow,
    tag: "ul",
    className: "rows",
  });
  root.append(title(t("history_title")), h("p", { class: "hint" }, t("history_intro")), csvButton("/residents/me/history?format=csv"), list.el);
  await list.reload();
}

/** A payment's receipt, as the resident shows it at the till or keeps it: the shop, the
 *  amount, when, the receipt number and the chain's reference. */
export async function receiptPage(root, { params }) {
  const msg = messages();
  root.append(title(t("receipt_title")), msg.el);
  const tx = params.get("tx") || "";
  const receipt = params.get("rc") || "";
  try {
    let found = null;
    for (let offset = 0; !found; offset += 100) {
      const page = await get(`/payments${qs({ offset, limit: 100 })}`);
      found = page.items.find((p) => (tx && p.tx_hash === tx) || (!tx && p.receipt === receipt)) || null;
      if (offset + page.items.length >= page.total) break;
    }
    if (!found) {
      clear(msg.el, h("p", { class: "error", role: "alert" }, t("receipt_missing")));
      return;
    }
    const left = BigInt(found.amount.cents) - BigInt(found.refunded.cents);
    root.append(
      h(
        "section",
        { class: "card receipt-card", "aria-label": t("receipt_title") },
        h("p", { class: "big" }, found.status === "paid" ? t("receipt_paid", { amount: eur(found.amount), shop: found.merchant }) : t(`not_moved_payment`, { amount: eur(found.amount) })),
        facts([
          [t("shop"), found.merchant],
          [t("shop_code"), found.merchant_code],
          [t("at"), when(found.created_at, language())],
          [t("receipt_number"), found.receipt],
          found.refunded.cents ? [t("refunds"), eur(found.refunded)] : null,
          found.refunded.cents ? [t("receipt_net"), eur(centsText(left))] : null,
          found.tx_hash ? [t("proof"), h("span", { class: "hash" }, found.tx_hash)] : null,
        ]),
      ),
      h("p", {}, h("a", { href: "#/r/history" }, t("back_to_history"))),
    );
  } catch (error) {
    msg.problem(error);
  }
}
