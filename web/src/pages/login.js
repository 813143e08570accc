import { ApiProblem, device, post } from "../api.js";
import { brand } from "../brand.js";
import { clear, field, h } from "../dom.js";
import { t } from "../i18n.js";
import { signedIn } from "../main.js";
import { busy, form, messages, title } from "../ui.js";
import { connectWallet, hasWallet, signText, walletProblem } from "../wallet.js";

/** Signing in with one's own wallet (EIP-4361, Sign-In with Ethereum): the service hands out
 *  a one-time text, the wallet in the browser signs it, the service checks the signature. */
function walletSignIn(msg) {
  if (!hasWallet()) return null;
  const button = h("button", { type: "button", class: "secondary" }, t("login_wallet"));
  button.addEventListener("click", () =>
    busy(button, msg, async () => {
      let address;
      let signature;
      let text;
      try {
        address = await connectWallet();
        ({ text } = await post("/auth/challenge", { wallet: address }));
        signature = await signText(address, text);
      } catch (error) {
        if (error instanceof ApiProblem) throw error; // the service's answer, in its words
        clear(msg.el, h("p", { class: "error", role: "alert" }, t(`wallet_login_${walletProblem(error)}`)));
        return;
      }
      const answer = await post("/auth/wallet", { message: text, signature });
      device.clear(); // another account's "stay signed in" does not stay
      signedIn({ token: answer.token, role: answer.role, user: answer.user_id, name: address });
    }),
  );
  return h(
    "section",
    { class: "wallet-login", "aria-labelledby": "with-wallet" },
    h("h2", { id: "with-wallet" }, t("login_wallet_title")),
    h("p", { class: "hint" }, t("login_wallet_hint")),
    button,
  );
}

export function loginPage(root, { notice }) {
  const msg = messages();
  const username = h("input", { name: "username", autocomplete: "username", required: true, autocapitalize: "none" });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  // "Stay signed in on this device": opt-in, for one's own phone only (web/src/api.js).
  const remember = h("input", { type: "checkbox", name: "remember", id: "remember", "aria-describedby": "remember-hint" });
  const rememberField = brand().remember_days
    ? h(
        "div",
        { class: "field" },
        h("div", { class: "check" }, remember, h("label", { for: "remember" }, t("remember_device"))),
        h("span", { class: "hint", id: "remember-hint" }, t("remember_hint", { days: brand().remember_days })),
      )
    : null;
  // clear(), not root.append(): a DOM append writes a missing notice as the text "null"
  clear(
    root,
    title(t("login_title")),
    notice ? h("p", { class: "ok", role: "status" }, notice) : null,
    h("p", {}, t("login_intro")),
    msg.el,
    form(
      [field(t("username"), username, t("login_hint")), field(t("password"), password), rememberField],
      t("login"),
      msg,
      async () => {
        const kept = Boolean(rememberField && remember.checked);
        const answer = await post("/auth/login", {
          username: username.value.trim(),
          password: password.value,
          remember: kept,
        });
        const name = username.value.trim();
        if (kept && answer.device_token) device.save({ token: answer.device_token, name });
        else device.clear(); // another account on this device: the old one does not stay
        signedIn({ token: answer.token, role: answer.role, user: answer.user_id, name, device: kept });
      },
      { class: "narrow" },
    ),
    walletSignIn(msg),
    h(
      "section",
      { class: "newcomers", "aria-labelledby": "new-here" },
      h("h2", { id: "new-here" }, t("new_here")),
      h(
        "ul",
        {},
        h("li", {}, h("a", { href: "#/signup" }, t("signup_link"))),
        h("li", {}, h("a", { href: "#/apply" }, t("apply_link"))),
        h("li", {}, h("a", { href: "#/reset" }, t("reset_link"))),
        h("li", {}, h("a", { href: "#/openbaar" }, t("public_link"))),
      ),
    ),
  );
}
