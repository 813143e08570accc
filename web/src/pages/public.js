// The public pages, without signing in: the currency's figures for everyone (the council,
// journalists, residents), each of one block of the chain, and the check of an annual
// statement (jaaropgave) that its QR code opens. Nothing here names a person.
import { api, get, qs } from "../api.js";
import { clear, field, h, when } from "../dom.js";
import { eur, language, t } from "../i18n.js";
import { busy, centsText, facts, messages, scrollBox, title } from "../ui.js";

function table(label, headers, rows) {
  return scrollBox(
    label,
    h(
      "table",
      { class: "figures-table" },
      h("thead", {}, h("tr", {}, headers.map((x, i) => h("th", { scope: "col", class: i ? "num" : null }, x)))),
      h("tbody", {}, rows),
    ),
  );
}

function pinned(block, hash, at) {
  return h(
    "p",
    { class: "pinned" },
    t("public_pinned", { block: String(block), at: when(at, language()) }),
    " ",
    h("span", { class: "hint" }, t("public_block_hash")),
    " ",
    h("code", { class: "hash" }, hash),
  );
}

/** Figures beside their labels, the numbers right-aligned. */
function figureList(pairs) {
  const list = facts(pairs);
  list.classList.add("figures");
  return list;
}

function checkName(name) {
  const key = `check_${name}`;
  const text = t(key);
  return text === key ? name : text;
}

export async function publicLedgerPage(root) {
  const msg = messages();
  const body = h("div", {}, h("p", { class: "muted" }, t("loading")));
  root.append(
    title(t("public_title")),
    h("p", {}, t("public_intro")),
    msg.el,
    body,
    h("p", {}, h("a", { href: "#/openbaar/verifieer" }, t("public_verify_link"))),
  );
  let f;
  try {
    f = await get("/public/ledger");
  } catch (error) {
    clear(body);
    msg.problem(error);
    return;
  }
  const red = f.redemptions;
  const audit = f.audit;
  const failed = audit.checks.filter((c) => c.status === "FAIL");
  clear(
    body,
    pinned(f.block, f.block_hash, f.block_time),
    h("h2", {}, t("public_money")),
    figureList([
      [t("public_circulating"), h("strong", { "data-figure": "circulating" }, eur(f.circulating))],
      [t("public_liability"), h("span", { "data-figure": "liability" }, eur(f.liability.total))],
      [t("public_unpaid"), eur(f.liability.unpaid_redemptions)],
      [t("public_rewards_total"), eur(f.rewards_total)],
      [t("public_redeemed_total"), eur(f.redemptions_total)],
      [t("public_shops"), h("span", { "data-figure": "shops" }, String(f.shops))],
      [t("public_residents"), String(f.residents_rewarded)],
      [t("public_paid"), String(red.paid)],
      [t("public_paid_amount"), eur(red.paid_amount)],
      [t("public_waiting"), h("span", { "data-figure": "waiting" }, String(red.waiting))],
      [t("public_waiting_amount"), eur(red.waiting_amount)],
      red.oldest_waiting_days === null ? null : [t("public_oldest"), t("public_days", { days: String(red.oldest_waiting_days) })],
    ]),
    h("p", { class: "hint" }, t("public_liability_hint")),
    h("h2", {}, t("public_audit")),
    h(
      "p",
      { class: failed.length ? "error" : "ok", "data-audit": audit.passed ? "passed" : "failed" },
      failed.length ? t("public_audit_failed", { count: String(failed.length) }) : t("public_audit_passed"),
    ),
    h(
      "ul",
      { class: "checks" },
      audit.checks.map((c) =>
        h("li", { "data-check": c.name }, `${checkName(c.name)}: `, h("strong", {}, t(`check_status_${c.status}`))),
      ),
    ),
    h("h2", {}, t("public_by_month")),
    f.rewards_by_month.length
      ? table(
          t("public_by_month"),
          [t("public_month"), t("public_rewards")],
          f.rewards_by_month.map((m) => h("tr", {}, h("th", { scope: "row" }, m.month), h("td", { class: "num" }, eur(m.amount)))),
        )
      : h("p", {}, t("none")),
    h("h2", {}, t("public_by_place")),
    h("p", { class: "hint" }, t("public_suppressed_hint", { min: String(f.min_residents) })),
    f.rewards_by_neighbourhood.length
      ? table(
          t("public_by_place"),
          [t("neighbourhood"), t("public_residents_short"), t("public_rewards")],
          f.rewards_by_neighbourhood.map((r) =>
            h(
              "tr",
              { "data-place": r.neighbourhood, "data-suppressed": r.suppressed ? "yes" : "no" },
              h("th", { scope: "row" }, r.neighbourhood),
              h("td", { class: "num" }, r.suppressed ? t("public_hidden") : String(r.residents)),
              h("td", { class: "num" }, r.suppressed ? t("public_hidden") : eur(r.amount)),
            ),
          ),
        )
      : h("p", {}, t("none")),
    h("h2", {}, t("public_downloads")),
    h(
      "p",
      {},
      h("a", { href: "/public/ledger?format=csv", download: `heitje-openbaar-${f.block}.csv` }, t("public_csv")),
      " · ",
      h("a", { href: "/public/ledger", download: `heitje-openbaar-${f.block}.json` }, t("public_json")),
    ),
    h("p", { class: "hint" }, t("public_cached", { at: when(f.computed_at, language()) })),
  );
}

/** A difference the check found, in words. */
function differenceText(d) {
  const money = new Set(["earned", "cap", "cap_left", "spent", "refunded", "net_spent", "amount", "carried"]);
  const shown = (key, value) => {
    if (value === null || value === undefined) return t("verify_nothing");
    if (money.has(key) && /^-?\d+$/.test(String(value))) return eur(centsText(value));
    return String(value);
  };
  const name = (key) => {
    const label = t(`stmt_${key}`);
    return label === `stmt_${key}` ? key : label;
  };
  switch (d.kind) {
    case "digest":
      return t("verify_diff_digest");
    case "block_hash":
      return t("verify_diff_block_hash");
    case "contract":
      return t("verify_diff_contract");
    case "missing":
      return t("verify_diff_missing");
    case "block":
      return t("verify_diff_block");
    case "rows":
      return t("verify_diff_rows", { field: name(d.field), statement: String(d.statement), chain: String(d.chain) });
    case "value":
      if (d.row) {
        return t("verify_diff_row", {
          field: name(d.field),
          row: String(d.row),
          key: name(d.key || ""),
          statement: shown(d.key, d.statement),
          chain: shown(d.key, d.chain),
        });
      }
      return t("verify_diff_value", { field: name(d.field), statement: shown(d.field, d.statement), chain: shown(d.field, d.chain) });
    default:
      return t("verify_diff_other");
  }
}

function verdict(result) {
  const c = result.chain;
  return h(
    "section",
    { class: "verdict", "data-matches": result.matches ? "yes" : "no" },
    h("p", { class: result.matches ? "ok big" : "error big", role: result.matches ? "status" : "alert" }, result.matches ? t("verify_ok") : t("verify_bad")),
    result.differences.length ? h("ul", { class: "differences" }, result.differences.map((d) => h("li", {}, differenceText(d)))) : null,
    facts([
      [t("stmt_year"), String(result.year)],
      [t("stmt_address"), h("code", { class: "hash" }, result.address)],
      [t("public_block"), String(result.block)],
      result.block_hash ? [t("stmt_block_hash"), h("code", { class: "hash" }, result.block_hash)] : null,
      result.digest ? [t("stmt_digest"), h("code", { class: "hash" }, result.digest)] : null,
    ]),
    c
      ? [
          h("h2", {}, t("verify_chain_says")),
          h("p", { class: "hint" }, t("verify_compare")),
          figureList([
            [t("stmt_earned"), h("strong", { "data-figure": "earned" }, eur(c.earned))],
            [t("stmt_cap"), eur(c.cap)],
            [t("stmt_spent"), eur(c.spent)],
            [t("stmt_refunded"), eur(c.refunded)],
            [t("stmt_net_spent"), eur(c.net_spent)],
            [t("verify_rewards"), String(c.rewards)],
          ]),
        ]
      : null,
  );
}

export async function verifyPage(root, { params }) {
  const msg = messages();
  const result = h("div", { "aria-live": "polite" });
  const file = h("input", { type: "file", name: "file", accept: ".pdf,.html,.htm,.json,application/pdf,text/html,application/json" });
  const check = h("button", { type: "submit", class: "primary" }, t("verify_file_submit"));
  const upload = h("form", { novalidate: true }, field(t("verify_file"), file, t("verify_file_hint")), check);
  upload.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(check, msg, async () => {
      clear(result); // an earlier verdict is not this file's
      if (!file.files || !file.files.length) {
        msg.problem({ code: "verify_no_file" });
        return;
      }
      const data = new FormData();
      data.append("file", file.files[0]);
      clear(result, verdict(await api("POST", "/public/verify", data)));
    });
  });
  root.append(
    title(t("verify_title")),
    h("p", {}, t("verify_intro")),
    msg.el,
    result,
    h("h2", {}, t("verify_file_title")),
    upload,
    h("p", {}, h("a", { href: "#/openbaar" }, t("public_back"))),
  );
  const [year, address, block, digest] = ["j", "a", "b", "d"].map((k) => params.get(k) || "");
  if (!year && !address && !block && !digest) return;
  clear(result, h("p", { class: "muted" }, t("loading")), h("p", { class: "hint" }, t("verify_busy")));
  try {
    clear(result, verdict(await get(`/public/verify${qs({ year, address, block, digest })}`)));
  } catch (error) {
    clear(result);
    msg.problem(error);
  }
}
