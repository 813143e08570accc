// Notices since the last visit (GET /notices): "Uw klus 'Bladeren ruimen' is goedgekeurd:
// € 12,50 betaald." Read once per sign-in and marked seen at once, so each shows on one
// visit only; the list stays at the top of the pages until it is hidden. The API gives money
// only once the chain has it, so nothing here says money moved before it did. The count is
// also said in the page's live region for screen readers.
import { get, post } from "./api.js";
import { h, when } from "./dom.js";
import { eur, language, t } from "./i18n.js";

const FOR = ["resident", "merchant"];
let readFor = null; // the sign-in the notices were read for
let shown = [];
let announce = false; // say the count once, when they were read

function sentence(n) {
  const amount = n.amount ? eur(n.amount) : "";
  switch (n.kind) {
    case "reward_paid":
      return t("notice_reward_paid", { title: n.title, amount });
    case "claim_rejected":
      return n.reason ? t("notice_claim_rejected", { title: n.title, reason: n.reason }) : t("notice_claim_rejected_plain", { title: n.title });
    case "refund_paid":
      return t("notice_refund_paid", { shop: n.shop, amount, receipt: n.receipt });
    case "wallet_recovered":
      return t("notice_wallet_recovered");
    case "payout_paid":
      return t("notice_payout_paid", { id: n.redemption, amount, ref: n.bank_reference });
    default:
      return null; // a kind this version of the app does not know: left out
  }
}

async function read(user) {
  if (readFor === user.token) return;
  readFor = user.token;
  try {
    const found = await get("/notices");
    shown = found.filter((n) => sentence(n) !== null);
    announce = shown.length > 0;
    if (found.length) await post("/notices/seen", { keys: found.map((n) => n.key) });
  } catch {
    /* no notices now; they stay unseen for the next visit */
  }
}

/** The notices panel for the top of the page, or null when there is nothing new. */
export async function noticesPanel(user) {
  if (!user || !FOR.includes(user.role)) return null;
  await read(user);
  if (!shown.length) return null;
  const hide = h("button", { type: "button", class: "secondary" }, t("notices_hide"));
  const panel = h(
    "section",
    { class: "notices", "aria-labelledby": "notices-title", id: "notices" },
    h("h2", { id: "notices-title" }, t("notices_title")),
    h(
      "ul",
      {},
      shown.map((n) =>
        h(
          "li",
          { class: n.kind === "claim_rejected" ? "bad" : null, "data-kind": n.kind },
          sentence(n),
          h("span", { class: "when" }, when(n.at, language())),
        ),
      ),
    ),
    hide,
  );
  hide.addEventListener("click", () => {
    shown = [];
    panel.remove();
  });
  const live = document.getElementById("live");
  if (live && announce) live.textContent = shown.length === 1 ? t("notices_live_one") : t("notices_live", { count: shown.length });
  announce = false;
  return panel;
}

/** Forget what was read (signing out). */
export function forgetNotices() {
  readFor = null;
  shown = [];
}
