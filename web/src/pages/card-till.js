// The shop's till for the Heitje card: for residents without a smartphone. The shopkeeper
// enters the amount and scans the card (or types its number); the resident checks the amount
// and types the PIN on this device; the service pays from the resident's wallet. The result
// is said in words, with a receipt to show or print.
import { post } from "../api.js";
import { clear, field, h, when } from "../dom.js";
import { errorText, eur, language, t } from "../i18n.js";
import { canScan, readCardNumber } from "../paycode.js";
import { scanner } from "../scanner.js";
import { busy, facts, form, messages, title, typedCents, centsText } from "../ui.js";
import { myShop, newRequestId, receiptNumber } from "./merchant.js";

export async function cardTillPage(root) {
  const msg = messages();
  root.append(title(t("card_till_title")), msg.el);
  const me = await myShop(root, msg, { admitted: true });
  if (!me) return undefined;
  const shop = me.merchant;
  const stage = h("div", { class: "till card-till" });
  root.append(h("p", { class: "no-print" }, t("card_till_intro")), stage);
  let camera = null;
  const stop = () => {
    if (camera) camera.stop();
    camera = null;
  };

  /** Step 1: the amount and the card. */
  function start(prefill = {}) {
    stop();
    msg.clear();
    const amount = h("input", { name: "amount", inputmode: "decimal", autocomplete: "off", value: prefill.amount || "" });
    const number = h("input", {
      name: "card", autocomplete: "off", autocapitalize: "characters", spellcheck: "false", maxlength: 40,
      value: prefill.number || "",
    });
    camera = scanner({
      label: t("card_scan"),
      hint: t("card_scan_hint"),
      denied: t("scan_denied_card"),
      found: (text, scanMsg) => {
        const found = readCardNumber(text);
        if (!found) {
          clear(scanMsg.el, h("p", { class: "error", role: "alert" }, t("card_scan_bad")));
          return;
        }
        number.value = found;
        scanMsg.ok(t("card_scanned", { last4: found.slice(-4) }));
        (amount.value ? number.form.querySelector("button[type=submit]") : amount).focus();
      },
    });
    clear(
      stage,
      form(
        [
          field(t("amount"), amount, t("amount_hint")),
          canScan() ? camera.el : h("p", { class: "hint" }, t("card_scan_none")),
          field(t("card_number"), number, t("card_number_hint")),
        ],
        t("next"),
        msg,
        async () => {
          const cents = typedCents(amount.value);
          if (cents === null || cents <= 0n) {
            amount.setAttribute("aria-invalid", "true");
            amount.focus();
            throw { code: "InvalidAmount" };
          }
          amount.removeAttribute("aria-invalid");
          const card = readCardNumber(number.value);
          if (!card) {
            number.setAttribute("aria-invalid", "true");
            number.focus();
            throw { code: "card_number_bad" };
          }
          number.removeAttribute("aria-invalid");
          stop();
          askPin({ euros: centsText(cents), card, requestId: newRequestId(), receipt: receiptNumber() });
        },
        { class: "narrow" },
      ),
    );
    amount.focus();
  }

  /** Step 2: the resident sees what is paid, to whom, and types the PIN. */
  function askPin(sale, problem) {
    const pin = h("input", {
      name: "pin", type: "password", inputmode: "numeric", autocomplete: "off", maxlength: 6,
      pattern: "[0-9]*", required: true,
    });
    const pinMsg = messages();
    const pay = h("button", { type: "submit", class: "primary" }, t("card_pay", { amount: eur(sale.euros) }));
    const back = h("button", { type: "button", class: "secondary" }, t("cancel"));
    back.addEventListener("click", () => start({ amount: sale.euros.replace(".", language() === "en" ? "." : ",") }));
    const el = h(
      "form",
      { novalidate: true, class: "confirm narrow", "aria-label": t("card_pin_title") },
      h("p", { class: "confirm-title", tabindex: "-1" }, h("strong", {}, t("card_pin_title"))),
      h("p", { class: "big" }, eur(sale.euros)),
      h("p", {}, t("card_pin_what", { amount: eur(sale.euros), shop: shop.name, last4: sale.card.slice(-4) })),
      pinMsg.el,
      field(t("card_pin"), pin, t("card_pin_hint")),
      h("div", { class: "actions" }, pay, back),
    );
    el.addEventListener("submit", (event) => {
      event.preventDefault();
      busy(pay, pinMsg, async () => {
        if (!/^[0-9]{4,6}$/.test(pin.value)) {
          pin.focus();
          throw { code: "pin_form" };
        }
        try {
          const done = await post("/cards/pay", {
            merchant_code: shop.code, card: sale.card, pin: pin.value, amount: sale.euros,
            receipt: sale.receipt, request_id: sale.requestId,
          });
          paid(done, sale);
        } catch (error) {
          pin.value = "";
          if (error.code === "wrong_pin" && error.details && error.details.tries_left > 0) {
            pin.focus();
            throw error; // the same sale: type the PIN again
          }
          if (["wrong_pin", "card_locked", "card_blocked", "no_card", "card_daily_limit", "payment_refused"].includes(error.code)) {
            refused(error);
            return;
          }
          throw error;
        }
      });
    });
    clear(stage, el);
    if (problem) pinMsg.problem(problem);
    el.querySelector(".confirm-title").focus();
    pin.focus();
  }

  function refused(error) {
    const again = h("button", { type: "button", class: "primary" }, t("new_sale"));
    again.addEventListener("click", () => start());
    clear(
      stage,
      h("p", { class: "error big-error", role: "alert", "data-refused": error.code }, errorText(error)),
      h("p", {}, t("card_nothing_paid")),
      again,
    );
    again.focus();
  }

  function paid(done, sale) {
    const again = h("button", { type: "button", class: "primary no-print" }, t("new_sale"));
    again.addEventListener("click", () => start());
    const print = h("button", { type: "button", class: "secondary no-print" }, t("card_receipt_print"));
    print.addEventListener("click", () => window.print());
    const ok = done.status === "paid";
    clear(
      stage,
      h("p", { class: ok ? "ok big no-print" : "state pending no-print", role: "status" },
        ok ? t("card_paid", { amount: eur(done.amount), who: done.resident }) : t("card_sending", { amount: eur(done.amount) })),
      h(
        "section",
        { class: "receipt-slip", "aria-label": t("card_receipt") },
        h("h2", {}, t("card_receipt")),
        facts([
          [t("shop"), done.merchant],
          [t("card_receipt_amount"), h("strong", {}, eur(done.amount))],
          [t("resident"), done.resident],
          [t("card_number"), `•••• ${sale.card.slice(-4)}`],
          [t("receipt_number"), done.receipt],
          [t("at"), when(done.created_at, language())],
          [t("state"), t(`state_${done.status}`)],
        ]),
      ),
      h("div", { class: "actions" }, print, again),
    );
  }

  start();
  return stop;
}
