// The shop's pages: the till (a QR code for an amount, the payment arriving by itself),
// payments with refunds, and exchanging Heitjes for euros.
import { get, post, qs } from "../api.js";
import { clear, field, h, when } from "../dom.js";
import { eur, language, t } from "../i18n.js";
import { payLink } from "../paycode.js";
import { csvButton, facts, form, messages, pagedList, title } from "../ui.js";

const POLL_MS = 2000;

function plainAmount(text) {
  const trimmed = text.trim().replace(/^€\s*/, "");
  if (!/^\d{1,7}([.,]\d{1,2})?$/.test(trimmed)) return null;
  return trimmed.replace(",", ".");
}

function receiptNumber() {
  const bytes = new Uint8Array(3);
  crypto.getRandomValues(bytes);
  const stamp = new Date().toISOString().replace(/\D/g, "").slice(2, 12);
  return `T${stamp}-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase()}`;
}

function newRequestId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function paymentRow(p) {
  return h(
    "li",
    { class: "row", "data-payment": p.id },
    h("span", { class: "when" }, when(p.created_at, language())),
    h("span", { class: "what" }, p.resident, " · ", p.receipt),
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
    h("h4", {}, t("refunds")),
    h(
      "ul",
      { class: "rows" },
      refunds.map((r) =>
        h(
          "li",
          { "data-refund": r.id },
          h("span", { class: "what" }, t("refund_row", { amount: eur(r.amount), when: when(r.created_at, language()) })),
          h("span", { class: `state ${r.status}` }, t(`state_${r.status}`)),
          r.reason ? h("span", { class: "reason" }, `${t("reason")}: ${r.reason}`) : null,
        ),
      ),
    ),
  );
}

export async function tillPage(root) {
  const msg = messages();
  root.append(title(t("till_title")), msg.el);
  let me;
  try {
    me = await get("/merchants/me");
  } catch (error) {
    msg.problem(error);
    return undefined;
  }
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
    stage,
    live,
    h("h2", {}, t("recent")),
    recent,
  );
  let seen = null; // the newest payment id when the till opened
  let expected = null; // {receipt, amount} while a QR code is shown
  let timer = null;

  async function poll() {
    try {
      const page = await get(`/payments${qs({ limit: 10 })}`);
      clear(recent, page.items.map(paymentRow));
      const newest = page.items.length ? page.items[0].id : 0;
      if (seen === null) seen = newest;
      const fresh = page.items.filter((p) => p.id > seen && p.status === "paid").reverse();
      for (const p of fresh) {
        const match = expected && p.receipt === expected.receipt;
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
    expected = { receipt, amount: euros };
    const canvas = h("canvas", { role: "img", "aria-label": t("qr_label", { amount: eur(euros), shop: shop.name }) });
    const again = h("button", { type: "button", class: "secondary" }, t("new_sale"));
    again.addEventListener("click", showAmountForm);
    clear(
      stage,
      h("p", { class: "big" }, eur(euros)),
      canvas,
      h("p", {}, t("shop_code"), " ", h("strong", { class: "code" }, shop.code), " · ", t("confirm_receipt", { receipt })),
      h("p", { class: "muted" }, t("waiting", { amount: eur(euros) })),
      again,
    );
    const { drawQr } = await import("../qr.js"); // the QR encoder loads only at the till
    await drawQr(canvas, payLink(shop.code, euros, receipt));
  }

  showAmountForm();
  await poll();
  timer = setInterval(poll, POLL_MS);
  return () => clearInterval(timer);
}

export async function paymentsPage(root) {
  const list = pagedList({
    fetchPage: (offset, limit) => get(`/payments${qs({ offset, limit })}`),
    render: (p) => {
      const msg = messages();
      const left = BigInt(p.amount.cents) - BigInt(p.refunded.cents);
      const card = h(
        "li",
        { class: "card", "data-payment": p.id },
        h("h3", {}, eur(p.amount), " · ", p.receipt),
        facts([
          [t("resident"), p.resident],
          [t("at"), when(p.created_at, language())],
          ["Status", t(`state_${p.status}`)],
          p.refunded.cents ? [t("refund"), t("refunded_so_far", { amount: eur(p.refunded) })] : null,
        ]),
        refundList(p.refunds || []),
        msg.el,
      );
      if (p.status === "paid" && left > 0n) {
        const amount = h("input", { name: "refund", inputmode: "decimal", autocomplete: "off" });
        const open = h("button", { type: "button", class: "secondary" }, t("refund"));
        open.addEventListener("click", () => {
          const requestId = newRequestId(); // one per refund form: a retried tap refunds once
          open.replaceWith(
            form([field(t("refund_amount"), amount)], t("refund_do"), msg, async () => {
              const text = amount.value.trim();
              const body = { request_id: requestId };
              if (text) body.amount = text;
              const done = await post(`/payments/${p.id}/refund`, body);
              const given = BigInt(done.refunded.cents) - BigInt(p.refunded.cents);
              await list.reload();
              const again = document.querySelector(`[data-payment="${p.id}"] .messages`);
              if (again) {
                const cents = given.toString().padStart(3, "0");
                again.append(h("p", { class: "ok", role: "status" }, t("refunded", { amount: eur(`${cents.slice(0, -2)}.${cents.slice(-2)}`) })));
              }
            }),
          );
          amount.focus();
        });
        card.append(open);
      }
      return card;
    },
  });
  root.append(title(t("payments_title")), csvButton("/payments?format=csv"), list.el);
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
      ),
    tag: "ul",
    className: "rows",
  });
  root.append(title(t("redeem_title")), msg.el, info);
  async function refresh() {
    const me = await get("/merchants/me");
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
  root.append(
    form([field(t("amount"), amount, t("amount_hint"))], t("redeem_do"), msg, async () => {
      const done = await post("/redemptions", { amount: amount.value.trim(), request_id: requestId });
      requestId = newRequestId();
      amount.value = "";
      msg.ok(t("redeemed", { amount: eur(done.amount) }));
      await refresh();
      await list.restart();
    }, { class: "narrow" }),
    h("h2", {}, t("redemptions")),
    list.el,
  );
  await list.reload();
}
