// The annual statement (jaaropgave) in the app: a year to choose and the buttons that
// download it as a PDF or as a printable page. The resident gets their own; the desk and an
// admin print one for a resident.
import { download } from "./api.js";
import { h, saveBlob } from "./dom.js";
import { language, t } from "./i18n.js";
import { busy, messages } from "./ui.js";

/** `pathOf(year, format, lang)` is the API's address of the statement. */
export function statementBox(pathOf, { heading = true, hint = t("statement_hint") } = {}) {
  const msg = messages();
  const now = new Date().getUTCFullYear();
  const year = h(
    "select",
    { name: "statement-year" },
    [0, 1, 2, 3, 4].map((back) => h("option", { value: String(now - back) }, String(now - back))),
  );
  year.id = `statement-year-${Math.random().toString(36).slice(2, 8)}`;
  const button = (format, label) => {
    const el = h("button", { type: "button", class: format === "pdf" ? "primary" : "secondary", "data-format": format }, label);
    el.addEventListener("click", () =>
      busy(el, msg, async () => {
        const file = await download(pathOf(year.value, format, language()));
        saveBlob(file.blob, file.name);
        msg.ok(t("statement_saved", { name: file.name }));
      }),
    );
    return el;
  };
  return h(
    "section",
    { class: "statement" },
    heading ? h("h2", {}, t("statement_title")) : null,
    h("p", { class: "hint" }, hint),
    h("div", { class: "field" }, h("label", { for: year.id }, t("statement_year")), year),
    h("p", { class: "actions" }, button("pdf", t("statement_pdf")), " ", button("html", t("statement_html"))),
    msg.el,
  );
}
