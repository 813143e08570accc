// The Heitje web app: a hash router over the pages, the menu per role, the language switch.
// All rules live in the API; the pages only show what it says and send what people enter.
import { device, post, resumeDevice, session, whenSignedOut } from "./api.js";
import { loadBrand } from "./brand.js";
import { clear, h } from "./dom.js";
import { language, setLanguage, t } from "./i18n.js";
import { forgetNotices, noticesPanel } from "./notices.js";
import { loginPage } from "./pages/login.js";
import { accountsPage, passwordPage, resetPage } from "./pages/accounts.js";
import { applyPage, signupPage } from "./pages/signup.js";
import { accountPage, historyPage, jobsPage, payPage, receiptPage, shopsPage } from "./pages/resident.js";
import { dayPage, paymentsPage, redeemPage, stickerPage, tillPage } from "./pages/merchant.js";
import {
  budgetsPage,
  manageJobsPage,
  merchantsPage,
  queuePage,
  residentsPage,
  treasuryPage,
} from "./pages/municipality.js";
import { auditPage, ledgerPage, signalsPage } from "./pages/auditor.js";
import { cardTillPage } from "./pages/card-till.js";
import { deskPage } from "./pages/desk.js";
import { publicLedgerPage, verifyPage } from "./pages/public.js";
import { title } from "./ui.js";

const EVERYONE = ["resident", "merchant", "admin", "issuer", "inspector", "treasurer", "auditor", "desk"];
const ROUTES = {
  "/login": { page: loginPage, open: true },
  "/signup": { page: signupPage, open: true },
  "/apply": { page: applyPage, open: true },
  "/reset": { page: resetPage, open: true },
  "/openbaar": { page: publicLedgerPage, open: true },
  "/openbaar/verifieer": { page: verifyPage, open: true },
  "/r": { page: accountPage, roles: ["resident"], nav: "nav_account" },
  "/r/jobs": { page: jobsPage, roles: ["resident"], nav: "nav_jobs" },
  "/r/pay": { page: payPage, roles: ["resident"], nav: "nav_pay" },
  "/r/shops": { page: shopsPage, roles: ["resident"], nav: "nav_shops" },
  "/r/history": { page: historyPage, roles: ["resident"], nav: "nav_history" },
  "/r/receipt": { page: receiptPage, roles: ["resident"] },
  "/m": { page: tillPage, roles: ["merchant"], nav: "nav_till" },
  "/m/card": { page: cardTillPage, roles: ["merchant"], nav: "nav_card_till" },
  "/m/payments": { page: paymentsPage, roles: ["merchant"], nav: "nav_payments" },
  "/m/day": { page: dayPage, roles: ["merchant"], nav: "nav_day" },
  "/m/redeem": { page: redeemPage, roles: ["merchant"], nav: "nav_redeem" },
  "/m/sticker": { page: stickerPage, roles: ["merchant"] },
  "/a/jobs": { page: manageJobsPage, roles: ["admin", "issuer"], nav: "nav_manage_jobs" },
  "/i": { page: queuePage, roles: ["inspector"], nav: "nav_queue" },
  "/a/merchants": { page: merchantsPage, roles: ["admin"], nav: "nav_merchants" },
  "/a/residents": { page: residentsPage, roles: ["admin"], nav: "nav_residents" },
  "/t": { page: treasuryPage, roles: ["treasurer"], nav: "nav_treasury" },
  "/audit": { page: auditPage, roles: ["admin", "auditor"], nav: "nav_audit" },
  "/ledger": { page: ledgerPage, roles: ["admin", "auditor"], nav: "nav_ledger" },
  "/signals": { page: signalsPage, roles: ["admin", "auditor"], nav: "nav_signals" },
  "/a/budgets": { page: budgetsPage, roles: ["admin", "issuer", "auditor"], nav: "nav_budgets" },
  "/d": { page: deskPage, roles: ["desk", "admin"], nav: "nav_desk" },
  "/a/accounts": { page: accountsPage, roles: ["admin", "desk"], nav: "nav_accounts" },
  "/password": { page: passwordPage, roles: EVERYONE, nav: "nav_password" },
};

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const langButton = document.getElementById("lang");
const logoutButton = document.getElementById("logout");
let cleanup = null;
const NOTICE = "heitje.notice"; // a message for the sign-in page ("you were signed out")

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const at = raw.indexOf("?");
  const path = at < 0 ? raw : raw.slice(0, at);
  const params = new URLSearchParams(at < 0 ? "" : raw.slice(at + 1));
  return { path, params };
}

function homeOf(role) {
  const first = Object.entries(ROUTES).find(([, r]) => r.nav && r.roles.includes(role));
  return first ? first[0] : "/login";
}

export function go(path) {
  if (location.hash === `#${path}`) render();
  else location.hash = path;
}

function renderShell(user) {
  document.documentElement.lang = language();
  document.querySelector(".skip").textContent = t("skip");
  langButton.textContent = t("switch_language");
  langButton.setAttribute("aria-label", t("switch_language_label"));
  langButton.setAttribute("lang", language() === "nl" ? "en" : "nl");
  logoutButton.textContent = t("logout");
  logoutButton.hidden = !user;
  const { path } = parseHash();
  const items = user
    ? Object.entries(ROUTES).filter(([, r]) => r.nav && r.roles.includes(user.role))
    : [];
  clear(
    nav,
    items.length
      ? h(
          "ul",
          {},
          items.map(([p, r]) =>
            h("li", {}, h("a", { href: `#${p}`, "aria-current": p === path ? "page" : null }, t(r.nav))),
          ),
        )
      : null,
  );
}

// Each rendering's number: a page that was left while it still waited for the service (its
// answers found the session over, say) must not take the focus from the page shown since.
let rendering = 0;

async function render() {
  const mine = ++rendering;
  if (cleanup) {
    try {
      cleanup();
    } catch {
      /* a page's own clean-up never stops the next page */
    }
    cleanup = null;
  }
  let user = session.get();
  if (!user && device.get()) {
    user = await resumeDevice(); // stays signed in on this device
    if (mine !== rendering) return;
  }
  let { path, params } = parseHash();
  const open = ROUTES[path] && ROUTES[path].open;
  if (!user && !open) {
    if (path !== "/" && path !== "") sessionStorage.setItem("heitje.next", location.hash);
    location.replace("#/login");
    return;
  }
  if (user && (path === "/" || path === "/login")) {
    location.replace(`#${homeOf(user.role)}`);
    return;
  }
  renderShell(user);
  const route = ROUTES[path];
  const root = h("div", { class: "page" });
  // a page's root.append(…, null) must never show the text "null": missing parts are left out
  root.append = (...parts) => Element.prototype.append.call(root, ...parts.filter((x) => x !== null && x !== undefined && x !== false));
  clear(main, root);
  if (!route) {
    clear(root, title(t("not_found")));
  } else if (route.roles && (!user || !route.roles.includes(user.role))) {
    clear(
      root,
      title(t("refused_title")),
      h(
        "p",
        { class: "error", role: "alert" },
        t("refused_text", {
          role: t(`role_${user.role}`),
          roles: route.roles.map((r) => t(`role_${r}`)).join(", "),
        }),
      ),
    );
  } else {
    let notice = "";
    if (route.open) {
      // Kept until the next sign-in: two answers that find the session over can each send
      // the app to the sign-in page, and every rendering of it must still say why.
      notice = sessionStorage.getItem(NOTICE) || "";
    }
    const result = await route.page(root, { params, user, go, notice });
    if (mine !== rendering) {
      // another page is being shown (and takes the focus): this one's timers stop now
      if (typeof result === "function") {
        try {
          result();
        } catch {
          /* as above */
        }
      }
      return;
    }
    if (typeof result === "function") cleanup = result;
    const news = await noticesPanel(user); // what happened since the last visit, once
    if (mine !== rendering) return;
    if (news && root.isConnected) {
      const top = root.querySelector("h1");
      if (top) top.after(news);
      else root.prepend(news);
    }
  }
  const heading = main.querySelector("h1");
  document.title = heading ? `${heading.textContent} – Heitje` : "Heitje";
  (heading || main).focus({ preventScroll: false });
}

export function signedIn(data) {
  session.save(data);
  sessionStorage.removeItem(NOTICE);
  const next = sessionStorage.getItem("heitje.next");
  sessionStorage.removeItem("heitje.next");
  const target = next && next.startsWith("#/") && next !== "#/login" ? next : `#${homeOf(data.role)}`;
  location.replace(target);
}

whenSignedOut((code) => {
  sessionStorage.setItem(NOTICE, code === "device_signed_out" ? t("device_ended") : t("signed_out_expired"));
  // Several answers can find the session over; the first one sends the app to the sign-in
  // page, the others must not render it again (a second rendering took the focus).
  if (location.hash !== "#/login") go("/login");
});
// The skip link moves the focus to the page's content (its href is no route).
document.querySelector(".skip").addEventListener("click", (event) => {
  event.preventDefault();
  const heading = main.querySelector("h1");
  (heading || main).focus();
});
langButton.addEventListener("click", () => {
  setLanguage(language() === "nl" ? "en" : "nl");
  render();
});
logoutButton.addEventListener("click", async () => {
  if (session.get() && device.get()) {
    // signing out here also ends "stay signed in on this device"
    await post("/auth/logout").catch(() => {});
  }
  device.clear();
  forgetNotices();
  session.clear();
  localStorage.removeItem("heitje.last-balance"); // signed out: not kept on this phone
  sessionStorage.setItem(NOTICE, t("signed_out"));
  go("/login");
});
window.addEventListener("hashchange", render);
loadBrand().finally(render);
// Installable, and the shell opens without a network (web/src/sw.js keeps no API answer).
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("sw.js").catch(() => {
    /* without it the app works as before, online */
  });
}
