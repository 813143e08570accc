// Accounts: changing one's own password, setting a new one with the desk's one-time code,
// and the desk's and admins' page to find an account, make a reset code (shown once, to give
// on paper) and switch accounts off and on.
import { get, post, qs, session } from "../api.js";
import { clear, field, h, when } from "../dom.js";
import { language, t } from "../i18n.js";
import { signedIn } from "../main.js";
import { busy, facts, form, messages, pagedList, title } from "../ui.js";
import { statementBox } from "../statement.js";
import { devicesSection } from "./devices.js";

function passwordInput(name, autocomplete) {
  return h("input", { name, type: "password", autocomplete, required: true, maxlength: 200 });
}

function mismatch() {
  return Object.assign(new Error("mismatch"), { code: "password_mismatch" });
}

export function passwordPage(root) {
  const msg = messages();
  const old = passwordInput("old_password", "current-password");
  const fresh = passwordInput("new_password", "new-password");
  const again = passwordInput("new_password_again", "new-password");
  root.append(
    title(t("password_title")),
    h("p", {}, t("password_intro")),
    msg.el,
    form(
      [
        field(t("password_old"), old),
        field(t("password_new"), fresh, t("password_rules")),
        field(t("password_new_again"), again),
      ],
      t("password_change"),
      msg,
      async (el) => {
        if (fresh.value !== again.value) throw mismatch();
        const answer = await post("/accounts/me/password", {
          old_password: old.value,
          new_password: fresh.value,
        });
        // the old sign-in has ended: go on with the new token
        session.save({ ...session.get(), token: answer.token });
        el.reset();
        msg.ok(t("password_changed"));
      },
      { class: "narrow" },
    ),
    devicesSection(),
  );
}

export function resetPage(root) {
  const msg = messages();
  const name = h("input", { name: "name", autocomplete: "username", required: true, autocapitalize: "none" });
  const code = h("input", { name: "code", autocomplete: "one-time-code", required: true, autocapitalize: "characters", maxlength: 32 });
  const fresh = passwordInput("new_password", "new-password");
  const again = passwordInput("new_password_again", "new-password");
  root.append(
    title(t("reset_title")),
    h("p", {}, t("reset_intro")),
    msg.el,
    form(
      [
        field(t("username"), name, t("login_hint")),
        field(t("reset_code"), code, t("reset_code_hint")),
        field(t("password_new"), fresh, t("password_rules")),
        field(t("password_new_again"), again),
      ],
      t("reset_submit"),
      msg,
      async () => {
        if (fresh.value !== again.value) throw mismatch();
        const answer = await post("/auth/reset", {
          name: name.value.trim(),
          code: code.value.trim(),
          new_password: fresh.value,
        });
        signedIn({ token: answer.token, role: answer.role, user: answer.user_id, name: name.value.trim() });
      },
      { class: "narrow" },
    ),
    h("p", {}, h("a", { href: "#/login" }, t("back_to_login"))),
  );
}

/** The code as the desk gives it: large, with what to type and until when, printable. */
function codeSlip(made) {
  const printButton = h("button", { type: "button", class: "secondary" }, t("reset_print"));
  printButton.addEventListener("click", () => window.print());
  return h(
    "section",
    { class: "card code-slip", "aria-live": "polite" },
    h("h2", {}, t("reset_slip_title")),
    facts([
      [t("username"), made.sign_in_name],
      [t("reset_code"), h("strong", { class: "code", "data-code": made.code }, made.code)],
      [t("reset_valid_until"), when(made.expires_at, language())],
    ]),
    h("p", {}, t("reset_slip_text")),
    h("p", { class: "hint" }, t("reset_once")),
    printButton,
  );
}

export async function accountsPage(root, { user }) {
  const msg = messages();
  const q = h("input", { name: "q", maxlength: 120, autocomplete: "off" });
  const slip = h("div", {});
  const list = pagedList({
    fetchPage: (offset, limit) => get(`/accounts${qs({ q: q.value.trim(), offset, limit })}`),
    render: (account) => accountCard(account, user, slip, () => list.reload()),
    empty: t("accounts_none"),
  });
  root.append(
    title(t("nav_accounts")),
    h("p", {}, user.role === "admin" ? t("accounts_intro_admin") : t("accounts_intro_desk")),
    msg.el,
    form([field(t("accounts_find"), q, t("accounts_find_hint"))], t("find"), msg, async () => {
      clear(slip);
      await list.restart();
    }, { class: "narrow", role: "search" }),
    slip,
    list.el,
  );
  await list.reload();
}

function accountCard(account, user, slip, reload) {
  const msg = messages();
  const actions = h("div", { class: "actions" });
  const card = h(
    "li",
    { class: "card", "data-account": account.id },
    h("h2", { class: "card-title" }, account.name),
    facts([
      [t("username"), account.role === "resident" ? account.name : account.username],
      [t("accounts_role"), t(`role_${account.role}`)],
      ["", account.active ? t("accounts_active") : t("accounts_disabled")],
    ]),
    msg.el,
    actions,
  );
  if (account.id === user.user) return card;
  if (account.signs_in_with === "password" && account.active) {
    const make = h("button", { type: "button", class: "primary" }, t("reset_make"));
    make.addEventListener("click", () =>
      busy(make, msg, async () => {
        const made = await post(`/accounts/${account.id}/reset-code`);
        clear(slip, codeSlip(made));
        slip.scrollIntoView({ block: "nearest" });
        msg.ok(t("reset_made"));
      }),
    );
    actions.append(make);
  }
  if (account.role === "resident") {
    const path = (year, format, lang) => `/accounts/${account.id}/statement${qs({ year, format, lang })}`;
    actions.append(h("details", { class: "statement-print" }, h("summary", {}, t("statement_print")), statementBox(path, { heading: false, hint: t("statement_hint_desk") })));
  }
  if (user.role === "admin") {
    const reason = h("input", { name: "reason", maxlength: 2000, autocomplete: "off" });
    const label = account.active ? t("accounts_disable") : t("accounts_enable");
    actions.append(
      form([field(t("reason"), reason, t("accounts_reason_hint"))], label, msg, async () => {
        const path = account.active ? "disable" : "enable";
        await post(`/accounts/${account.id}/${path}`, { reason: reason.value.trim() });
        await reload();
      }),
    );
  }
  return card;
}
