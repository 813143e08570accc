import { post } from "../api.js";
import { clear, field, h } from "../dom.js";
import { t } from "../i18n.js";
import { signedIn } from "../main.js";
import { form, messages, title } from "../ui.js";

export function loginPage(root, { notice }) {
  const msg = messages();
  const username = h("input", { name: "username", autocomplete: "username", required: true, autocapitalize: "none" });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  // clear(), not root.append(): a DOM append writes a missing notice as the text "null"
  clear(
    root,
    title(t("login_title")),
    notice ? h("p", { class: "ok", role: "status" }, notice) : null,
    h("p", {}, t("login_intro")),
    msg.el,
    form(
      [field(t("username"), username, t("login_hint")), field(t("password"), password)],
      t("login"),
      msg,
      async () => {
        const answer = await post("/auth/login", {
          username: username.value.trim(),
          password: password.value,
        });
        signedIn({ token: answer.token, role: answer.role, user: answer.user_id, name: username.value.trim() });
      },
      { class: "narrow" },
    ),
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
