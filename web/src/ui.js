// Shared page pieces: messages, busy buttons, paged lists, CSV downloads.
import { download, get } from "./api.js";
import { clear, h, saveBlob, when } from "./dom.js";
import { errorText, language, t } from "./i18n.js";

/** A message area: role=status for good news, role=alert for problems. */
export function messages() {
  const el = h("div", { class: "messages" });
  return {
    el,
    ok(text) {
      clear(el, h("p", { class: "ok", role: "status" }, text));
    },
    problem(error) {
      clear(el, h("p", { class: "error", role: "alert" }, errorText(error)));
      if (error && error.code === "network") {
        // No connection: one tap tries the page again.
        const again = h("button", { type: "button", class: "secondary" }, t("retry"));
        again.addEventListener("click", () => window.dispatchEvent(new HashChangeEvent("hashchange")));
        el.append(again);
      }
    },
    clear() {
      clear(el);
    },
  };
}

/** Runs `work` once per click: the button is disabled meanwhile, problems go to `msg`. */
export async function busy(button, msg, work) {
  if (button.disabled) return undefined;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  if (msg) msg.clear();
  try {
    return await work();
  } catch (error) {
    if (msg) msg.problem(error);
    else throw error;
    return undefined;
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

/** A form whose submit runs `work` with the submit button busy. */
export function form(children, submitLabel, msg, work, attrs = {}) {
  const submit = h("button", { type: "submit", class: "primary" }, submitLabel);
  const el = h("form", { novalidate: true, ...attrs }, children, submit);
  el.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, msg, () => work(el));
  });
  return el;
}

/**
 * A paged list: `fetchPage(offset, limit)` returns the API's {items, total, offset, limit};
 * `render(item)` returns an element. Previous and next buttons page through it.
 */
export function pagedList({ fetchPage, render, empty, limit = 20, tag = "ul", className = "cards" }) {
  const list = h(tag, { class: className });
  const status = h("p", { class: "muted", "aria-live": "polite" });
  const prev = h("button", { type: "button", class: "secondary", "aria-label": t("page_prev") }, "←");
  const next = h("button", { type: "button", class: "secondary", "aria-label": t("page_next") }, "→");
  prev.hidden = true; // shown once a page says there is more
  next.hidden = true;
  const msg = messages();
  const el = h("div", { class: "paged" }, msg.el, list, h("div", { class: "pager" }, prev, status, next));
  let offset = 0;
  async function load() {
    msg.clear();
    status.textContent = t("loading");
    try {
      const page = await fetchPage(offset, limit);
      clear(list, page.items.map(render));
      if (!page.items.length) {
        const text = empty || t("none");
        clear(list, tag === "tbody" ? h("tr", {}, h("td", { colspan: 9 }, text)) : h("li", { class: "empty" }, text));
        status.textContent = "";
      } else {
        status.textContent = t("page_of", {
          from: page.offset + 1,
          to: page.offset + page.items.length,
          total: page.total,
        });
      }
      prev.hidden = offset === 0;
      next.hidden = offset + page.items.length >= page.total;
    } catch (error) {
      status.textContent = "";
      msg.problem(error);
    }
  }
  prev.addEventListener("click", () => {
    offset = Math.max(0, offset - limit);
    load();
  });
  next.addEventListener("click", () => {
    offset += limit;
    load();
  });
  return {
    el,
    reload: load,
    restart() {
      offset = 0;
      return load();
    },
  };
}

/** A button that downloads `path` (the API's CSV export) with the signed-in token; its
 *  column headers in the app's language (the API's default is Dutch, `lang=en` English). */
export function csvButton(path, label = t("csv")) {
  const msg = messages();
  const button = h("button", { type: "button", class: "secondary" }, label);
  button.addEventListener("click", () =>
    busy(button, msg, async () => {
      const asked = language() === "en" ? `${path}${path.includes("?") ? "&" : "?"}lang=en` : path;
      const { blob, name } = await download(asked);
      saveBlob(blob, name);
    }),
  );
  return h("div", { class: "export" }, button, msg.el);
}

export function title(text) {
  return h("h1", { tabindex: "-1" }, text);
}

/** A definition list of [label, value] pairs. */
export function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.filter(Boolean).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

/**
 * A neighbourhood field: typed, with the municipality's neighbourhoods offered as suggestions
 * (GET /neighbourhoods, asked again each time a form is shown). When the municipality keeps a
 * fixed list the API refuses other names with a sentence that lists them.
 */
export function neighbourhoodInput() {
  let list = document.getElementById("heitje-neighbourhoods");
  if (!list) {
    list = h("datalist", { id: "heitje-neighbourhoods" });
    document.body.append(list);
  }
  get("/neighbourhoods")
    .then((answer) => list.replaceChildren(...answer.names.map((name) => h("option", { value: name }))))
    .catch(() => {}); // only suggestions: typing the name still works without them
  return h("input", { name: "neighbourhood", maxlength: 64, required: true, autocomplete: "off", list: list.id });
}

/** A wide table's box: scrolls sideways on a phone, and can be reached and scrolled with the
 *  keyboard (a focusable, named region). */
export function scrollBox(label, child) {
  return h("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": label }, child);
}

/**
 * Asks before money moves: shows `lines` (what happens, the amount and who gets it) with a
 * "yes" and a "no" button in `place`. `yes()` runs once, busy, with problems in `msg`; `no()`
 * puts back what was there. Nothing is sent before "yes".
 */
export function askFirst(place, { heading, lines, yesLabel, msg, yes, no, danger = false }) {
  const yesButton = h("button", { type: "button", class: danger ? "danger" : "primary" }, yesLabel);
  const noButton = h("button", { type: "button", class: "secondary" }, t("cancel"));
  const box = h(
    "div",
    { class: "confirm", role: "group", "aria-label": heading },
    h("p", { class: "confirm-title", tabindex: "-1" }, h("strong", {}, heading)),
    lines.map((line) => h("p", {}, line)),
    h("div", { class: "actions" }, yesButton, noButton),
  );
  yesButton.addEventListener("click", () => busy(yesButton, msg, yes));
  noButton.addEventListener("click", () => no());
  clear(place, box);
  box.querySelector(".confirm-title").focus();
  return box;
}

/** Cents (a number or BigInt) as the API's decimal euro string, for eur(). */
export function centsText(cents) {
  const value = BigInt(cents);
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(3, "0");
  return `${negative ? "-" : ""}${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

/** Euros typed by a person ("12,50", "€ 4", "1.500,00" is refused) as cents, or null. */
export function typedCents(text) {
  const trimmed = String(text || "").trim().replace(/^€\s*/, "");
  if (!/^\d{1,7}([.,]\d{1,2})?$/.test(trimmed)) return null;
  const [whole, frac = ""] = trimmed.replace(",", ".").split(".");
  return BigInt(whole) * 100n + BigInt((frac + "00").slice(0, 2));
}

/** When an exchange (redemption) was asked for and paid out, as far as the service knows. */
export function exchangeDates(r) {
  const parts = [];
  if (r.requested_at) parts.push(t("exchange_requested", { when: when(r.requested_at, language()) }));
  if (r.paid_at) parts.push(t("exchange_paid", { when: when(r.paid_at, language()) }));
  return parts.length ? h("span", { class: "hint dates" }, parts.join(" · ")) : null;
}
