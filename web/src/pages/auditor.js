// The auditor's pages: the service's audit log and the ledger read from the chain, both
// searchable, with a chart of the euros per month.
import { download, get, qs } from "../api.js";
import { clear, field, h, saveBlob, when } from "../dom.js";
import { actionCodes, actionName, detailName, eur, eventName, language, t } from "../i18n.js";
import { busy, centsText, csvButton, facts, form, messages, pagedList, scrollBox, title } from "../ui.js";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

function table(headers, rows) {
  return h(
    "table",
    {},
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows),
  );
}

/** A detail's value as a person reads it: amounts (in cents) in euros, lists and objects as
 *  plain text. */
function detailValue(key, value) {
  if ((key === "cents" || key === "amount" || key === "moved_cents" || key === "allowance" || key === "cap") && /^-?\d+$/.test(String(value))) {
    return eur(centsText(String(value)));
  }
  if (value === null || value === undefined) return "—";
  if (Array.isArray(value)) return value.join(", ");
  if (typeof value === "object") return Object.entries(value).map(([k, v]) => `${detailName(k)} ${v}`).join(", ");
  return String(value);
}

export async function auditPage(root) {
  const action = h(
    "select",
    { name: "action" },
    h("option", { value: "" }, t("all_actions")),
    actionCodes().map((code) => h("option", { value: code }, actionName(code))),
  );
  const filter = h("input", { name: "filter", type: "search", autocomplete: "off" });
  const msg = messages();
  const list = pagedList({
    fetchPage: (offset, limit) => get(`/audit${qs({ action: action.value, offset, limit })}`),
    render: (e) =>
      h(
        "tr",
        { "data-audit": e.id },
        h("td", {}, when(e.at, language())),
        h("td", {}, e.actor === "system" ? t("actor_system") : `${e.actor} (${t(`role_${e.role}`)})`),
        h("td", { "data-action": e.action }, actionName(e.action)),
        h("td", {}, e.subject),
        h("td", { class: "details" }, Object.entries(e.details).map(([k, v]) => `${detailName(k)}: ${detailValue(k, v)}`).join("; ")),
      ),
    tag: "tbody",
    className: "",
    limit: 50,
  });
  const grid = h(
    "table",
    { class: "log" },
    h("thead", {}, h("tr", {}, [t("at"), t("actor"), t("action"), t("subject"), t("details")].map((x) => h("th", { scope: "col" }, x)))),
  );
  // The paged tbody goes inside the table; its pager and messages below it.
  const body = list.el.querySelector("tbody");
  grid.append(body);
  list.el.prepend(scrollBox(t("audit_title"), grid));
  filter.addEventListener("input", () => {
    const needle = filter.value.trim().toLowerCase();
    for (const row of body.querySelectorAll("tr")) {
      row.hidden = needle !== "" && !row.textContent.toLowerCase().includes(needle);
    }
  });
  root.append(
    title(t("audit_title")),
    msg.el,
    form([field(t("audit_action"), action)], t("search"), msg, () => list.restart(), { class: "narrow", role: "search" }),
    field(t("audit_search"), filter),
    csvButton("/audit?format=csv"),
    list.el,
  );
  await list.reload();
}

function chart(months) {
  const series = [
    ["rewards", t("chart_rewards")],
    ["payments", t("chart_payments")],
    ["redemptions", t("chart_redemptions")],
  ];
  const max = Math.max(1, ...months.flatMap((m) => series.map(([k]) => m[k].cents)));
  const bar = 14;
  const width = 320;
  const rows = months.length * (series.length * bar + 12);
  const graphic = svg("svg", { viewBox: `0 0 ${width + 150} ${rows + 4}`, role: "img", "aria-labelledby": "chart-title chart-desc", class: "chart" });
  graphic.append(svg("title", { id: "chart-title" }, t("chart_title")), svg("desc", { id: "chart-desc" }, t("chart_desc")));
  let y = 2;
  for (const m of months) {
    series.forEach(([k], i) => {
      const w = Math.max(1, Math.round((m[k].cents / max) * width));
      graphic.append(
        svg("rect", { x: 70, y, width: w, height: bar - 3, class: `bar ${k}` }),
        svg("text", { x: 74 + w, y: y + bar - 5, class: "value" }, eur(m[k])),
      );
      if (i === 0) graphic.append(svg("text", { x: 0, y: y + bar - 5, class: "month" }, m.month));
      y += bar;
    });
    y += 12;
  }
  const legend = h("ul", { class: "legend" }, series.map(([k, label]) => h("li", { class: k }, label)));
  // The same numbers as a table, for screen readers and for copying.
  const numbers = table(
    ["", ...series.map(([, label]) => label)],
    months.map((m) => h("tr", {}, h("th", { scope: "row" }, m.month), series.map(([k]) => h("td", { class: "num" }, eur(m[k]))))),
  );
  return h("figure", {}, graphic, legend, h("details", {}, h("summary", {}, t("chart_title")), numbers));
}

export async function ledgerPage(root) {
  const q = h("input", { name: "q", type: "search", autocomplete: "off", spellcheck: "false" });
  const event = h("select", { name: "event" }, h("option", { value: "" }, t("all_events")));
  const newest = h("input", { name: "newest", type: "checkbox", checked: true });
  const msg = messages();
  const summary = h("section", { class: "summary" });
  const list = pagedList({
    fetchPage: (offset, limit) =>
      get(`/ledger${qs({ q: q.value.trim(), event: event.value, newest_first: newest.checked, offset, limit })}`),
    render: (e) =>
      h(
        "tr",
        { "data-tx": e.tx_hash },
        h("td", { class: "num" }, String(e.block)),
        h("td", {}, when(e.at, language())),
        h("td", { "data-event": e.event }, eventName(e.event)),
        h("td", { class: "num" }, e.amount ? eur(e.amount) : ""),
        h("td", { class: "details" }, Object.entries(e.args).map(([k, v]) => `${detailName(k)}: ${detailValue(k, v)}`).join("; ")),
      ),
    tag: "tbody",
    className: "",
    limit: 50,
  });
  const grid = h(
    "table",
    { class: "log" },
    h("thead", {}, h("tr", {}, [t("block"), t("at"), t("event"), t("amount"), t("details")].map((x) => h("th", { scope: "col" }, x)))),
  );
  grid.append(list.el.querySelector("tbody"));
  list.el.prepend(scrollBox(t("ledger_title"), grid));
  const report = h("button", { type: "button", class: "primary" }, t("report_link"));
  report.addEventListener("click", () =>
    busy(report, msg, async () => {
      const file = await download("/ledger/report");
      saveBlob(file.blob, file.name);
    }),
  );
  root.append(
    title(t("ledger_title")),
    msg.el,
    h("p", {}, report, " ", h("span", { class: "hint" }, t("report_hint"))),
    summary,
    form(
      [field(t("ledger_search"), q), field(t("ledger_event"), event), h("div", { class: "check" }, newest, h("label", { for: (newest.id = "newest") }, t("newest_first")))],
      t("search"),
      msg,
      () => list.restart(),
      { role: "search" },
    ),
    csvButton("/ledger?format=csv"),
    list.el,
  );
  try {
    const s = await get("/ledger/summary");
    clear(event, h("option", { value: "" }, t("all_events")), s.events.map((x) => h("option", { value: x.event }, eventName(x.event))));
    clear(
      summary,
      s.months.length ? chart(s.months) : null,
      h("h2", {}, t("totals")),
      table(
        [t("event"), t("count"), t("amount")],
        s.events.map((x) => h("tr", {}, h("th", { scope: "row", "data-event": x.event }, eventName(x.event)), h("td", { class: "num" }, String(x.count)), h("td", { class: "num" }, x.amount.cents ? eur(x.amount) : ""))),
      ),
    );
  } catch (error) {
    msg.problem(error);
  }
  await list.reload();
}

/** A signal record's value as a person reads it. */
function signalValue(column, value) {
  if (value === null || value === undefined || value === "") return "—";
  if (column.amount && /^-?\d+$/.test(String(value))) return eur(centsText(String(value)));
  if (Array.isArray(value)) return value.join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function signalSection(s) {
  const status = t(`signal_status_${s.status}`);
  const parts = [
    h("h2", { id: `signal-${s.name}` }, `${s.title}: `, h("span", { class: `signal-${s.status}` }, status)),
    h("p", {}, `${s.looks_for.charAt(0).toUpperCase()}${s.looks_for.slice(1)}.`),
    facts([
      [t("signal_threshold"), h("span", { "data-threshold": s.name }, s.threshold)],
      [t("signal_shown"), String(s.shown)],
      s.skipped ? [t("signal_skipped"), s.skipped] : null,
    ]),
  ];
  if (s.records.length) {
    parts.push(
      scrollBox(
        s.title,
        table(
          s.columns.map((c) => c.label),
          s.records.map((r) => h("tr", {}, s.columns.map((c) => h("td", { class: c.amount ? "num" : null }, signalValue(c, r[c.key]))))),
        ),
      ),
    );
    if (s.shown > s.records.length) parts.push(h("p", { class: "hint" }, t("signal_more", { count: String(s.shown - s.records.length) })));
  }
  return h("section", { class: "signal", "data-signal": s.name, "data-status": s.status }, parts);
}

export async function signalsPage(root) {
  const msg = messages();
  const body = h("div", {}, h("p", { class: "muted" }, t("loading")), h("p", { class: "hint" }, t("signals_busy")));
  root.append(title(t("signals_title")), h("p", {}, t("signals_intro")), msg.el, body);
  try {
    const report = await get(`/ledger/signals${qs({ lang: language() })}`);
    const look = report.signals.filter((s) => s.status === "look");
    clear(
      body,
      h("p", { class: "pinned" }, t("public_pinned_block", { block: String(report.block) }), " ", h("code", { class: "hash" }, report.block_hash)),
      h("p", { class: look.length ? "error" : "ok" }, look.length ? t("signals_look", { count: String(look.length) }) : t("signals_quiet")),
      h(
        "ul",
        { class: "checks" },
        report.signals.map((s) => h("li", {}, h("a", { href: `#/signals`, "data-jump": s.name }, s.title), `: ${t(`signal_status_${s.status}`)}`)),
      ),
      report.signals.map(signalSection),
    );
    for (const link of body.querySelectorAll("a[data-jump]")) {
      link.addEventListener("click", (event) => {
        event.preventDefault();
        const target = document.getElementById(`signal-${link.dataset.jump}`);
        if (target) {
          target.setAttribute("tabindex", "-1");
          target.focus();
        }
      });
    }
  } catch (error) {
    clear(body);
    msg.problem(error);
  }
}
