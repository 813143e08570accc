// Signing up, for people who have no account yet: a resident (a pseudonym, the neighbourhood,
// a password; the municipality keeps the wallet) and a shop that applies to accept Heitjes.
// Both pages are open without signing in; the API decides what is allowed.
import { post } from "../api.js";
import { clear, field, h } from "../dom.js";
import { errorText, t } from "../i18n.js";
import { signedIn } from "../main.js";
import { form, messages, neighbourhoodInput, title } from "../ui.js";

const MIN_PASSWORD = 10; // the API's minimum (api/security.py MIN_PASSWORD_LENGTH)

/** A problem with one field, found before asking the API: its own sentence (i18n `code`). */
function fieldProblem(code, input) {
  return { code, field: input, local: true };
}

/** Marks every input as fine again, then the one with the problem (if any) as invalid. */
function markInvalid(inputs, problem) {
  for (const input of inputs) input.removeAttribute("aria-invalid");
  let target = problem && problem.field;
  if (!target && problem && problem.code === "invalid_input") {
    // The API names the fields it refused ("password: String should have at least 8 ...").
    const problems = (problem.details && problem.details.problems) || [];
    target = inputs.find((input) => problems.some((p) => p.startsWith(`${input.name}:`)));
  }
  if (target) {
    target.setAttribute("aria-invalid", "true");
    target.focus();
  }
  return target;
}

/** The sentence for a problem: a field's own sentence where we know which field it was. */
function problemText(problem, target) {
  if (problem && problem.code === "invalid_input" && target) {
    // the API refuses a password that is too short, blank or much used: say all of that
    if (target.name === "password") return errorText({ code: "weak_password" });
    return t(`bad_${target.name}`);
  }
  if (problem && problem.local) return t(problem.code);
  return errorText(problem);
}

function passwords() {
  const password = h("input", { name: "password", type: "password", autocomplete: "new-password", required: true, minlength: MIN_PASSWORD });
  const again = h("input", { name: "password_again", type: "password", autocomplete: "new-password", required: true });
  return { password, again };
}

function checkPasswords({ password, again }) {
  if (password.value.length < MIN_PASSWORD) throw fieldProblem("bad_password", password);
  if (password.value !== again.value) throw fieldProblem("passwords_differ", again);
}

function required(input, code) {
  if (!input.value.trim()) throw fieldProblem(code, input);
}

/** Runs `work`; a problem is shown as one plain sentence and its field is marked.
 *  `fieldOf` names the field of an API error code (pseudonym_taken: the pseudonym). */
function guarded(msg, inputs, work, fieldOf = {}) {
  return async (el) => {
    try {
      markInvalid(inputs, null);
      await work(el);
    } catch (problem) {
      if (problem && !problem.field && fieldOf[problem.code]) problem.field = fieldOf[problem.code];
      const target = markInvalid(inputs, problem);
      clear(msg.el, h("p", { class: "error", role: "alert" }, problemText(problem, target)));
    }
  };
}

function backToLogin() {
  return h("p", {}, h("a", { href: "#/login" }, t("have_account")));
}

/** The resident's sign-up form (pseudonym, neighbourhood, password twice), sent to `path`:
 *  the resident's own sign-up, or the desk's for a resident who is there. `done(created,
 *  body)` follows. */
export function residentForm(msg, path, submitLabel, done) {
  const pseudonym = h("input", { name: "pseudonym", maxlength: 64, required: true, autocomplete: "username", autocapitalize: "none", spellcheck: "false" });
  const neighbourhood = neighbourhoodInput();
  const pw = passwords();
  const inputs = [pseudonym, neighbourhood, pw.password, pw.again];
  return form(
    [
      field(t("pseudonym"), pseudonym, t("pseudonym_hint")),
      field(t("neighbourhood"), neighbourhood, t("your_hood_hint")),
      field(t("new_password"), pw.password, t("password_hint")),
      field(t("password_again"), pw.again),
    ],
    submitLabel,
    msg,
    guarded(msg, inputs, async () => {
      required(pseudonym, "bad_pseudonym");
      required(neighbourhood, "bad_neighbourhood");
      checkPasswords(pw);
      const body = { pseudonym: pseudonym.value.trim(), neighbourhood: neighbourhood.value.trim(), password: pw.password.value };
      const created = await post(path, body);
      await done(created, body);
    }, { pseudonym_taken: pseudonym, username_taken: pseudonym, unknown_neighbourhood: neighbourhood }),
    { class: "narrow" },
  );
}

export function signupPage(root) {
  const msg = messages();
  root.append(
    title(t("signup_title")),
    h("p", {}, t("signup_intro")),
    msg.el,
    residentForm(msg, "/residents", t("signup_do"), async (_, body) => {
      const answer = await post("/auth/login", { username: body.pseudonym, password: body.password });
      signedIn({ token: answer.token, role: answer.role, user: answer.user_id, name: body.pseudonym });
    }),
    backToLogin(),
  );
}

export function applyPage(root) {
  const msg = messages();
  const stage = h("div", {});
  const name = h("input", { name: "name", maxlength: 120, required: true, autocomplete: "organization" });
  const neighbourhood = neighbourhoodInput();
  const iban = h("input", { name: "iban", maxlength: 42, required: true, autocomplete: "off", autocapitalize: "characters", spellcheck: "false" });
  const pw = passwords();
  const inputs = [name, neighbourhood, iban, pw.password, pw.again];
  clear(
    stage,
    h("p", {}, t("apply_intro")),
    msg.el,
    form(
      [
        field(t("shop_name"), name),
        field(t("neighbourhood"), neighbourhood, t("shop_hood_hint")),
        field(t("iban"), iban, t("iban_hint")),
        field(t("new_password"), pw.password, t("password_hint")),
        field(t("password_again"), pw.again),
      ],
      t("apply_do"),
      msg,
      guarded(msg, inputs, async () => {
        required(name, "bad_name");
        required(neighbourhood, "bad_neighbourhood");
        const account = iban.value.replace(/\s+/g, "").toUpperCase();
        if (account.length < 15) throw fieldProblem("bad_iban", iban);
        checkPasswords(pw);
        const shop = await post("/merchants", {
          name: name.value.trim(),
          neighbourhood: neighbourhood.value.trim(),
          iban: account,
          password: pw.password.value,
        });
        const username = `merchant-${shop.code.toLowerCase()}`;
        clear(
          stage,
          h("p", { class: "ok", role: "status", tabindex: "-1" }, t("applied", { shop: shop.name })),
          h(
            "dl",
            { class: "facts" },
            h("dt", {}, t("shop_code")),
            h("dd", {}, h("strong", { class: "code", id: "shop-code" }, shop.code)),
            h("dt", {}, t("username")),
            h("dd", {}, h("strong", { class: "code", id: "shop-username" }, username)),
          ),
          h("p", {}, t("applied_next", { username, code: shop.code })),
          h("p", { class: "hint" }, t("applied_keep")),
          h("p", {}, h("a", { href: "#/login" }, t("to_login"))),
        );
        stage.querySelector("p").focus();
      }, { bad_iban: iban, unknown_neighbourhood: neighbourhood }),
      { class: "narrow" },
    ),
    backToLogin(),
  );
  root.append(title(t("apply_title")), stage);
}
