// The devices where one stays signed in (GET /auth/devices), on the account page: each with
// its name and last use, each to sign out on at once, or all of them.
import { api, device, get, session } from "../api.js";
import { clear, h, when } from "../dom.js";
import { language, t } from "../i18n.js";
import { go } from "../main.js";
import { askFirst, busy, messages } from "../ui.js";

function signedOutHere() {
  device.clear();
  session.clear();
  sessionStorage.setItem("heitje.notice", t("device_signed_out_here"));
  go("/login");
}

export function devicesSection() {
  const msg = messages();
  const list = h("ul", { class: "devices", id: "devices" });
  const all = h("button", { type: "button", class: "danger" }, t("devices_revoke_all"));
  const place = h("div", {});
  const section = h(
    "section",
    { "aria-labelledby": "devices-title" },
    h("h2", { id: "devices-title" }, t("devices_title")),
    h("p", { class: "hint" }, t("devices_intro")),
    msg.el,
    list,
    place,
  );

  async function load() {
    let rows;
    try {
      rows = await get("/auth/devices");
    } catch (error) {
      msg.problem(error);
      return;
    }
    clear(
      list,
      rows.length
        ? rows.map((d) => {
            const out = h(
              "button",
              { type: "button", class: "secondary", "aria-label": d.current ? t("device_revoke_this") : t("device_revoke_named", { name: d.name }) },
              d.current ? t("device_revoke_this") : t("device_revoke"),
            );
            out.addEventListener("click", () =>
              busy(out, msg, async () => {
                await api("DELETE", `/auth/devices/${d.id}`);
                if (d.current) return signedOutHere();
                msg.ok(t("device_revoked", { name: d.name }));
                return load();
              }),
            );
            return h(
              "li",
              { "data-device": d.id },
              h(
                "div",
                {},
                h("span", { class: "device-name" }, d.name, d.current ? ` (${t("device_this")})` : ""),
                h("span", { class: "hint" }, t("device_since", { when: when(d.created_at, language()) })),
                h("span", { class: "hint" }, t("device_last_used", { when: when(d.last_used_at, language()) })),
                h("span", { class: "hint" }, t("device_until", { when: when(d.expires_at, language()) })),
              ),
              out,
            );
          })
        : h("li", { class: "empty" }, t("devices_none")),
    );
    all.hidden = rows.length === 0;
    clear(place, all);
  }

  all.addEventListener("click", () =>
    askFirst(place, {
      heading: t("devices_revoke_all"),
      lines: [t("devices_revoke_all_line")],
      yesLabel: t("devices_revoke_all_yes"),
      msg,
      danger: true,
      no: () => clear(place, all),
      yes: async () => {
        const answer = await api("DELETE", "/auth/devices");
        if (device.get() || (session.get() && session.get().device)) return signedOutHere();
        msg.ok(t("devices_revoked", { count: answer.revoked }));
        return load();
      },
    }),
  );
  load();
  return section;
}
