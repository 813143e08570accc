// The shop's pages: the till (a QR code for an amount, the payment arriving by itself),
// payments with refunds, and exchanging Heitjes for euros.
import { get, post, qs } from "../api.js";
import { clear, field, h, saveBlob, when } from "../dom.js";
import { eur, language, t } from "../i18n.js";
import { payLink } from "../paycode.js";
import { askFirst, centsText, csvButton, exchangeDates, facts, form, messages, pagedList, title, typedCents } from "../ui.js";
import { paymentRequest, walletNetwork } from "../wallet.js";

const POLL_MS = 2000;

function plainAmount(text) {
  const trimmed = text.trim().replace(/^€\s*/, "");
  if (!/^\d{1,7}([.,]\d{1,2})?$/.test(trimmed)) return null;
  return trimmed.replace(",", ".");
}

export function receiptNumber() {
  const bytes = new Uint8Array(3);
  crypto.getRandomValues(bytes);
  const stamp = new Date().toISOString().replace(/\D/g, "").slice(2, 12);
  return `T${stamp}-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase()}`;
}

export function newRequestId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** The receipt of a payment, or, for one from a resident's own wallet that carried none,
 *  words that say so. */
export function receiptOf(p) {
  if (p.receipt) return p.receipt;
  return p.via === "wallet" ? t("from_own_wallet") : "—";
}

function paymentRow(p) {
  return h(
    "li",
    { class: "row", "data-payment": p.id, "data-via": p.via },
    h("span", { class: "when" }, when(p.created_at, language())),
    h("span", { class: "what" }, p.resident, " · ", receiptOf(p)),
    h("span", { class: "amount in" }, eur(p.amount)),
    h("span", { class: "state" }, t(`state_${p.status}`)),
  );
}

/** The refunds of one payment, each with its own state (sending, paid or failed). */
function refundList(refunds) {
  if (!refunds.length) return null;
  return h(
    "section",
    { class: "refunds" },
    h("h3", {}, t("refunds")),
    h(
      "ul",
      { class: "rows" },
      refunds.map((r) =>
        h(
          "li",
          { "data-refund": r.id },
          r.status === "paid"
            ? h("span", { class: "what" }, t("refund_row", { amount: eur(r.amount), when: when(r.created_at, language()) }))
            : h("span", { class: "what" }, t(r.status === "sending" ? "refund_unconfirmed" : "refund_not_moved", { amount: eur(r.amount), when: when(r.created_at, language()) })),
          h("span", { class: `state ${r.status}` }, t(`state_${r.status}`)),
          r.reason ? h("span", { class: "reason" }, `${t("reason")}: ${r.reason}`) : null,
        ),
      ),
    ),
  );
}

/** The signed-in shop's account (GET /merchants/me: the shop and its balance), or null with
 *  the problem shown in `msg`; with `admitted`, also null (and said so on `root`) while the
 *  municipality has not admitted the shop. The till, the card till and the sticker share it. */
export async function myShop(root, msg, { admitted = false } = {}) {
  let me;
  try {
    me = await get("/merchants/me");
  } catch (error) {
    msg.problem(error);
    return null;
  }
  if (admitted && me.merchant.status !== "approved") {
    root.append(h("p", { class: "error", role: "alert" }, t("shop_waiting")), h("p", {}, t("shop_waiting_next")));
    return null;
  }
  return me;
}

export async function tillPage(root) {
  const msg = messages();
  root.append(title(t("till_title")), msg.el);
  const me = await myShop(root, msg);
  if (!me) return undefined;
  const shop = me.merchant;
  const stage = h("div", { class: "till" });
  const live = h("div", { class: "arrivals", "aria-live": "assertive" });
  const recent = h("ul", { class: "rows" });
  root.append(
    ...(shop.status === "approved" ? [] : [h("p", { class: "error", role: "alert" }, t("shop_waiting"))]),
    h("p", {}, t("till_intro", { code: shop.code })),
    facts([
      [t("shop"), shop.name],
      [t("shop_code"), h("strong", { class: "code" }, shop.code)],
      [t("balance"), h("span", { id: "balance" }, eur(me.balance))],
    ]),
    shop.status === "approved"
      ? h("p", { class: "actions" }, h("a", { href: "#/m/card" }, t("card_till_link")), h("a", { href: "#/m/sticker" }, t("sticker_link")), h("a", { href: "#/m/day" }, t("day_link")))
      : null,
    stage,
    live,
    h("h2", {}, t("recent")),
    recent,
  );
  let seen = null; // the newest payment id when the till opened
  let expected = null; // {receipt, cents} while a QR code is shown
  let net = null; // the network and token, for the own-wallet QR code (EIP-681)
  try {
    net = await walletNetwork();
  } catch {
    /* the till works without it: only the app's QR code is shown */
  }
  let timer = null;

  async function poll() {
    try {
      const page = await get(`/payments${qs({ limit: 10 })}`);
      const confirmed = page.items.filter((p) => p.status === "paid"); // only money that arrived
      clear(recent, confirmed.length ? confirmed.map(paymentRow) : h("li", { class: "empty" }, t("no_payments_yet")));
      const newest = page.items.length ? page.items[0].id : 0;
      if (seen === null) seen = newest;
      const fresh = page.items.filter((p) => p.id > seen && p.status === "paid").reverse();
      for (const p of fresh) {
        // A wallet's EIP-681 payment carries no receipt: it matches by the amount shown.
        const match = expected && (p.receipt === expected.receipt
          || (p.via === "wallet" && !p.receipt && BigInt(p.amount.cents) === expected.cents));
        live.prepend(
          h("p", { class: match ? "ok big" : "ok", role: "status" }, t("received", { amount: eur(p.amount), who: p.resident })),
        );
        if (match) showAmountForm();
      }
      seen = Math.max(seen, newest);
      if (fresh.length) {
        const account = await get("/merchants/me");
        const el = document.getElementById("balance");
        if (el) el.textContent = eur(account.balance);
      }
    } catch (error) {
      msg.problem(error);
    }
  }

  function showAmountForm() {
    expected = null;
    const amount = h("input", { name: "amount", inputmode: "decimal", autocomplete: "off" });
    clear(
      stage,
      form([field(t("amount"), amount, t("amount_hint"))], t("show_qr"), msg, async () => {
        const euros = plainAmount(amount.value);
        if (euros === null) {
          amount.focus();
          throw { code: "InvalidAmount" };
        }
        await showQr(euros);
      }, { class: "narrow" }),
    );
    amount.focus();
  }

  async function showQr(euros) {
    const receipt = receiptNumber();
    const cents = typedCents(euros);
    expected = { receipt, cents };
    const canvas = h("canvas", { role: "img", "aria-label": t("qr_label", { amount: eur(euros), shop: shop.name }) });
    const again = h("button", { type: "button", class: "secondary" }, t("new_sale"));
    again.addEventListener("click", showAmountForm);
    // Next to the app's link: an EIP-681 payment request that any wallet app pays.
    const request = net ? paymentRequest(net, shop.address, cents) : null;
    const walletCanvas = request ? h("canvas", { role: "img", "aria-label": t("wallet_qr_label", { amount: eur(euros), shop: shop.name }) }) : null;
    clear(
      stage,
      h("p", { class: "big" }, eur(euros)),
      h(
        "div",
        { class: "qr-pair" },
        h("figure", { class: "qr" }, canvas, h("figcaption", {}, t("qr_app"))),
        request
          ? h("figure", { class: "qr wallet-qr" }, walletCanvas, h("figcaption", {}, t("qr_wallet"), " ",
              h("a", { href: request, class: "wallet-link", "data-eip681": request }, t("wallet_link"))))
          : null,
      ),
      h("p", {}, t("shop_code"), " ", h("strong", { class: "code" }, shop.code), " · ", t("confirm_receipt", { receipt })),
      h("p", { class: "muted" }, t("waiting", { amount: eur(euros) })),
      again,
    );
    const { drawQr } = await import("../qr.js"); // the QR encoder loads only at the till
    await drawQr(canvas, payLink(shop.code, euros, receipt));
    if (request) await drawQr(walletCanvas, request);
  }

  if (shop.status !== "approved") {
    // A shop not (or no longer) admitted cannot be paid: no amount form, no QR code.
    clear(stage, h("p", {}, t("shop_waiting_next")));
  } else {
    showAmountForm();
  }
  await poll();
  timer = setInterval(poll, POLL_MS);
  return () => clearInterval(timer);
}

/** A payment the shop received, or an attempt that did not go through (shown in words,
 *  without an amount that looks received). A refund asks for the amount (never "all" by an
 *  empty field), says the most that can go back, and asks before it sends anything. */
function paymentCard(p, reload) {
  const msg = messages();
  const paid = p.status === "paid";
  const left = BigInt(p.amount.cents) - BigInt(p.refunded.cents);
  const heading = paid
    ? h("h2", { class: "card-title" }, eur(p.amount), " · ", receiptOf(p))
    : h("h2", { class: "card-title" }, t(p.status === "sending" ? "payment_unconfirmed_title" : "payment_not_moved_title"), " · ", receiptOf(p));
  const card = h(
    "li",
    { class: `card ${paid ? "" : "attempt"}`, "data-payment": p.id, "data-status": p.status, "data-via": p.via },
    heading,
    paid ? null : h("p", { class: p.status === "sending" ? "state pending" : "state not-moved" }, t(p.status === "sending" ? "payment_unconfirmed" : "payment_not_moved", { amount: eur(p.amount) })),
    facts([
      [t("resident"), p.resident],
      [t("at"), when(p.created_at, language())],
      [t("paid_how"), t(p.via === "wallet" ? "paid_how_wallet" : "paid_how_app")],
      [t("state"), t(`state_${p.status}`)],
      p.refunded.cents ? [t("refund"), t("refunded_so_far", { amount: eur(p.refunded) })] : null,
    ]),
    refundList(p.refunds || []),
    msg.el,
  );
  if (!paid || left <= 0n) return card;
  const place = h("div", { class: "refund-place" });
  const open = h("button", { type: "button", class: "secondary" }, t("refund"));
  place.append(open);
  const most = eur(centsText(left));
  function showForm() {
    const amount = h("input", { name: "refund", inputmode: "decimal", autocomplete: "off", required: true });
    const requestId = newRequestId(); // one per refund form: a retried tap refunds once
    clear(
      place,
      form([field(t("refund_amount"), amount, t("refund_most", { amount: most }))], t("next"), msg, async () => {
        const cents = typedCents(amount.value);
        if (cents === null || cents <= 0n) {
          amount.setAttribute("aria-invalid", "true");
          amount.focus();
          clear(msg.el, h("p", { class: "error", role: "alert" }, t("refund_empty", { amount: most })));
          return;
        }
        if (cents > left) {
          amount.setAttribute("aria-invalid", "true");
          amount.focus();
          clear(msg.el, h("p", { class: "error", role: "alert" }, t("refund_too_much", { amount: most })));
          return;
        }
        amount.removeAttribute("aria-invalid");
        const euros = centsText(cents);
        askFirst(place, {
          heading: t("refund_confirm_title"),
          lines: [t("refund_confirm", { amount: eur(euros), who: p.resident, receipt: receiptOf(p) })],
          yesLabel: t("refund_yes", { amount: eur(euros) }),
          msg,
          no: showForm,
          yes: async () => {
            let done;
            try {
              done = await post(`/payments/${p.id}/refund`, { request_id: requestId, amount: euros });
            } catch (error) {
              if (error.code === "too_much" && error.details && error.details.refundable !== undefined) {
                clear(msg.el, h("p", { class: "error", role: "alert" }, t("refund_too_much", { amount: eur(centsText(error.details.refundable)) })));
                showForm();
                return;
              }
              throw error;
            }
            const given = BigInt(done.refunded.cents) - BigInt(p.refunded.cents);
            await reload();
            const again = document.querySelector(`[data-payment="${p.id}"] .messages`);
            if (again) again.append(h("p", { class: "ok", role: "status" }, t("refunded", { amount: eur(centsText(given)) })));
          },
        });
      }),
    );
    amount.focus();
  }
  open.addEventListener("click", showForm);
  card.append(place);
  return card;
}

export async function paymentsPage(root) {
  const list = pagedList({
    fetchPage: (offset, limit) => get(`/payments${qs({ offset, limit })}`),
    render: (p) => paymentCard(p, () => list.reload()),
    empty: t("no_payments_yet"),
  });
  root.append(title(t("payments_title")), h("p", { class: "hint" }, t("payments_intro")), csvButton("/payments?format=csv"), list.el);
  await list.reload();
}

export async function redeemPage(root) {
  const msg = messages();
  const info = h("div", {});
  const amount = h("input", { name: "amount", inputmode: "decimal", autocomplete: "off" });
  const list = pagedList({
    fetchPage: (offset, limit) => get(`/redemptions${qs({ offset, limit })}`),
    render: (r) =>
      h(
        "li",
        { class: "row", "data-redemption": r.id },
        h("span", { class: "what" }, `#${r.id}`),
        h("span", { class: "amount" }, eur(r.amount)),
        h("span", { class: "state" }, r.paid ? t("paid_out", { ref: r.bank_reference }) : t("not_paid_out")),
        exchangeDates(r),
      ),
    tag: "ul",
    className: "rows",
  });
  root.append(title(t("redeem_title")), msg.el, info);
  let account = null;
  async function refresh() {
    const me = await get("/merchants/me");
    account = me;
    clear(
      info,
      facts([[t("balance"), h("span", { id: "balance" }, eur(me.balance))]]),
      h("p", {}, t("redeem_intro", { iban: me.iban })),
    );
  }
  try {
    await refresh();
  } catch (error) {
    msg.problem(error);
    return;
  }
  let requestId = newRequestId(); // the same id for every tap until it went through: once
  const place = h("div", {});
  function showForm() {
    clear(place, form([field(t("amount"), amount, t("amount_hint"))], t("next"), msg, async () => {
      const cents = typedCents(amount.value);
      const have = BigInt(account.balance.cents);
      if (cents === null || cents <= 0n) {
        amount.setAttribute("aria-invalid", "true");
        amount.focus();
        throw { code: "InvalidAmount" };
      }
      if (cents > have) {
        amount.setAttribute("aria-invalid", "true");
        amount.focus();
        clear(msg.el, h("p", { class: "error", role: "alert" }, t("redeem_too_much", { amount: eur(centsText(cents)), balance: eur(account.balance) })));
        return;
      }
      amount.removeAttribute("aria-invalid");
      const euros = centsText(cents);
      askFirst(place, {
        heading: t("redeem_confirm_title"),
        lines: [t("redeem_confirm", { amount: eur(euros), iban: account.iban, shop: account.merchant.name }), t("redeem_confirm_after", { balance: eur(centsText(have - cents)) })],
        yesLabel: t("redeem_yes", { amount: eur(euros) }),
        msg,
        no: showForm,
        yes: async () => {
          const done = await post("/redemptions", { amount: euros, request_id: requestId });
          requestId = newRequestId();
          amount.value = "";
          showForm();
          msg.ok(t("redeemed", { amount: eur(done.amount) }));
          await refresh();
          await list.restart();
        },
      });
    }, { class: "narrow" }));
  }
  showForm();
  root.append(
    place,
    h("h2", {}, t("redemptions")),
    list.el,
  );
  await list.reload();
}

/** The sticker for the till: the shop's QR code (the pay page with the shop filled in), its
 *  code in large letters and its name. Printed on A6 by the print stylesheet. */
export async function stickerPage(root) {
  const msg = messages();
  root.append(title(t("sticker_title")), msg.el);
  const me = await myShop(root, msg, { admitted: true });
  if (!me) return;
  const shop = me.merchant;
  const canvas = h("canvas", { role: "img", "aria-label": t("sticker_qr_label", { shop: shop.name, code: shop.code }) });
  const print = h("button", { type: "button", class: "primary no-print" }, t("sticker_print"));
  print.addEventListener("click", () => window.print());
  root.append(
    h("p", { class: "no-print" }, t("sticker_intro")),
    print,
    h(
      "section",
      { class: "sticker", "aria-label": t("sticker_title") },
      h("p", { class: "sticker-head" }, t("sticker_head")),
      canvas,
      h("p", { class: "sticker-code" }, h("span", {}, t("shop_code")), h("strong", { class: "code" }, shop.code)),
      h("p", { class: "sticker-name" }, shop.name),
      h("p", { class: "sticker-how" }, t("sticker_how")),
    ),
  );
  const sheet = h("link", { rel: "stylesheet", media: "print", href: document.querySelector('meta[name="heitje-sticker-css"]').content });
  const loaded = new Promise((resolve) => {
    sheet.addEventListener("load", resolve);
    sheet.addEventListener("error", resolve); // printing still works, on the default page size
  });
  document.head.append(sheet);
  const { drawQr } = await import("../qr.js");
  await drawQr(canvas, `${location.origin}/app/#/r/pay?m=${encodeURIComponent(shop.code)}`);
  await loaded;
  return () => sheet.remove();
}

function localDay(iso) {
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** Closing the till: a day's confirmed payments and refunds, the net total, and a CSV of it.
 *  Refused and failed attempts are counted apart and never added in. */
export async function dayPage(root) {
  const msg = messages();
  const dayInput = h("input", { name: "day", type: "date", value: localDay(new Date().toISOString()), required: true });
  const shown = h("div", { "aria-live": "polite" });
  root.append(
    title(t("day_title")),
    h("p", {}, t("day_intro")),
    msg.el,
    form([field(t("day_pick"), dayInput)], t("day_show"), msg, () => show(), { class: "narrow" }),
    shown,
  );
  async function show() {
    const chosen = dayInput.value;
    const payments = [];
    for (let offset = 0; ; offset += 100) {
      const page = await get(`/payments${qs({ offset, limit: 100 })}`);
      payments.push(...page.items);
      const oldest = page.items.length ? localDay(page.items[page.items.length - 1].created_at) : "";
      if (offset + page.items.length >= page.total || !page.items.length || oldest < chosen) break;
    }
    const lines = [];
    let attempts = 0;
    for (const p of payments) {
      if (localDay(p.created_at) === chosen) {
        if (p.status === "paid") lines.push({ at: p.created_at, kind: "payment", who: p.resident, receipt: receiptOf(p), cents: BigInt(p.amount.cents) });
        else attempts += 1;
      }
      for (const r of p.refunds || []) {
        if (localDay(r.created_at) === chosen && r.status === "paid") {
          lines.push({ at: r.created_at, kind: "refund", who: p.resident, receipt: receiptOf(p), cents: -BigInt(r.amount.cents) });
        }
      }
    }
    lines.sort((a, b) => (a.at < b.at ? -1 : 1));
    const paid = lines.filter((l) => l.kind === "payment");
    const back = lines.filter((l) => l.kind === "refund");
    const sum = (xs) => xs.reduce((total, l) => total + l.cents, 0n);
    const csv = h("button", { type: "button", class: "secondary" }, t("csv"));
    csv.addEventListener("click", () => {
      const header = [t("csv_time"), t("csv_kind"), t("resident"), t("receipt_number"), t("csv_amount")];
      const quote = (x) => `"${String(x).replace(/"/g, '""')}"`;
      const money = (cents) => (language() === "en" ? centsText(cents) : centsText(cents).replace(".", ","));
      const rows = lines.map((l) => [when(l.at, language()), t(`kind_${l.kind}`), l.who, l.receipt, money(l.cents)]);
      rows.push(["", t("day_net"), "", "", money(sum(lines))]);
      const text = [header, ...rows].map((r) => r.map(quote).join(";")).join("\r\n");
      saveBlob(new Blob(["\ufeff" + text + "\r\n"], { type: "text/csv;charset=utf-8" }), `heitje-dag-${chosen}.csv`);
    });
    clear(
      shown,
      h("h2", {}, t("day_of", { day: chosen.split("-").reverse().join("-") })),
      facts([
        [t("day_payments", { count: paid.length }), h("span", { id: "day-payments" }, eur(centsText(sum(paid))))],
        [t("day_refunds", { count: back.length }), h("span", { id: "day-refunds" }, eur(centsText(-sum(back))))],
        [t("day_net"), h("strong", { id: "day-net" }, eur(centsText(sum(lines))))],
      ]),
      attempts ? h("p", { class: "state not-moved" }, t("day_attempts", { count: attempts })) : null,
      lines.length
        ? h(
            "ul",
            { class: "rows" },
            lines.map((l) =>
              h(
                "li",
                { class: `row ${l.kind}` },
                h("span", { class: "when" }, when(l.at, language())),
                h("span", { class: "what" }, h("strong", {}, t(`kind_${l.kind}`)), " ", l.who, " · ", l.receipt),
                h("span", { class: `amount ${l.cents < 0n ? "out" : "in"}` }, eur(centsText(l.cents))),
              ),
            ),
          )
        : h("p", { class: "empty" }, t("day_none")),
      csv,
    );
  }
  try {
    await show();
  } catch (error) {
    msg.problem(error);
  }
}
