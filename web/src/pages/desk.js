// The municipal desk, for residents without a smartphone who come in person: find the
// resident; make, block or unlock their Heitje card (a credit-card-size sheet to print, with
// the pseudonym, a QR code and the card's number); claim an open job for them and report it
// done; print a slip with the balance and the newest movements.
import { get, post, qs } from "../api.js";
import { clear, day, field, h, when } from "../dom.js";
import { eur, language, t } from "../i18n.js";
import { busy, facts, form, messages, pagedList, title } from "../ui.js";
import { residentForm } from "./signup.js";

/** A print sheet linked while what it prints is shown (like the sticker's; see build.mjs). */
function printSheet(meta) {
  const link = h("link", { rel: "stylesheet", media: "print", href: document.querySelector(`meta[name="${meta}"]`).content });
  const loaded = new Promise((resolve) => {
    link.addEventListener("load", resolve);
    link.addEventListener("error", resolve);
  });
  document.head.append(link);
  return { loaded, remove: () => link.remove() };
}

export async function deskPage(root, { params, go }) {
  const id = Number(params.get("r") || 0);
  const msg = messages();
  const q = h("input", { name: "q", maxlength: 64, autocomplete: "off", autocapitalize: "characters", value: params.get("q") || "" });
  const found = h("div", {});
  root.append(
    title(t("desk_title")),
    h("p", { class: "no-print" }, t("desk_intro")),
    msg.el,
    form([field(t("desk_find"), q, t("desk_find_hint"))], t("find"), msg, async () => {
      go(`/d${qs({ q: q.value.trim() })}`);
    }, { class: "narrow no-print", role: "search" }),
    found,
  );
  if (id) return residentAt(found, id, msg);
  const text = q.value.trim();
  const registerMsg = messages();
  root.append(
    h("section", { class: "no-print" },
      h("h2", {}, t("desk_register")),
      h("p", {}, t("desk_register_intro")),
      registerMsg.el,
      residentForm(registerMsg, "/desk/residents", t("desk_register_do"), (created) => go(`/d?r=${created.id}`)),
    ),
  );
  if (!text) return undefined;
  const list = pagedList({
    fetchPage: (offset, limit) => get(`/desk/residents${qs({ q: text, offset, limit })}`),
    render: (r) =>
      h(
        "li",
        { class: "card", "data-resident": r.id },
        h("h2", { class: "card-title" }, r.pseudonym),
        facts([[t("neighbourhood"), r.neighbourhood]]),
        h("a", { href: `#/d?r=${r.id}` }, t("desk_choose", { who: r.pseudonym })),
      ),
    empty: t("desk_none"),
  });
  found.append(list.el);
  await list.reload();
  return undefined;
}

async function residentAt(place, id, msg) {
  const printable = h("div", { class: "printable" });
  let sheet = null;
  const cleanup = () => {
    if (sheet) sheet.remove();
    sheet = null;
  };
  let data;
  async function load() {
    data = await get(`/desk/residents/${id}`);
  }
  try {
    await load();
  } catch (error) {
    msg.problem(error);
    return cleanup;
  }
  const who = data.account.resident.pseudonym;
  const summary = h("div", {});
  const cards = h("div", {});
  const jobs = h("div", {});
  function drawSummary() {
    clear(
      summary,
      h("h2", {}, who),
      facts([
        [t("neighbourhood"), data.account.resident.neighbourhood],
        [t("balance"), h("strong", { id: "desk-balance" }, eur(data.account.balance))],
        [t("room", { year: data.account.year }), eur(data.account.room_under_cap)],
        [t("desk_card_today"), eur(data.card_spent_today)],
      ]),
    );
  }
  async function refresh() {
    await load();
    drawSummary();
    drawCards();
    await drawJobs();
  }

  function showCard(made) {
    cleanup();
    sheet = printSheet("heitje-card-css");
    const canvas = h("canvas", { role: "img", "aria-label": t("card_qr_label", { who: made.pseudonym }) });
    const print = h("button", { type: "button", class: "primary no-print" }, t("card_print"));
    print.addEventListener("click", () => window.print());
    clear(
      printable,
      h("p", { class: "ok no-print", role: "status" }, t("card_made", { last4: made.last4 })),
      h(
        "section",
        { class: "card-sheet", "aria-label": t("card_sheet_label") },
        canvas,
        h(
          "div",
          { class: "card-text" },
          h("p", { class: "card-head" }, t("card_head")),
          h("p", { class: "card-who" }, made.pseudonym),
          h("p", { class: "card-number" }, h("span", {}, t("card_number")), h("strong", { class: "code", "data-card": made.number }, made.number)),
          h("p", { class: "card-how" }, t("card_how")),
        ),
      ),
      h("p", { class: "hint no-print" }, t("card_once")),
      print,
    );
    import("../qr.js").then(({ drawQr }) => drawQr(canvas, made.number));
  }

  function cardRow(card) {
    const rowMsg = messages();
    const reason = h("input", { name: "reason", maxlength: 500, autocomplete: "off" });
    const actions = [];
    if (card.status !== "blocked") {
      actions.push(
        form([field(t("reason"), reason, t("card_block_hint"))], t("card_block"), rowMsg, async () => {
          await post(`/cards/${card.id}/block`, { reason: reason.value.trim() });
          await refresh();
          msg.ok(t("card_blocked_done", { last4: card.last4 }));
        }, { class: "inline" }),
      );
    }
    if (card.status === "locked") {
      const unlock = h("button", { type: "button", class: "primary" }, t("card_unblock"));
      unlock.addEventListener("click", () =>
        busy(unlock, rowMsg, async () => {
          await post(`/cards/${card.id}/unblock`, { reason: t("card_unblock_reason") });
          await refresh();
          msg.ok(t("card_unblocked_done", { last4: card.last4 }));
        }),
      );
      actions.unshift(unlock);
    }
    return h(
      "li",
      { class: `card card-${card.status}`, "data-card-id": card.id, "data-status": card.status },
      h("h3", { class: "card-title" }, t("card_ending", { last4: card.last4 })),
      facts([
        [t("state"), t(`card_state_${card.status}`)],
        card.status === "blocked" && card.reason ? [t("reason"), card.reason] : null,
        card.wrong_pins ? [t("card_wrong_pins"), String(card.wrong_pins)] : null,
        [t("card_made_at"), when(card.created_at, language())],
      ]),
      rowMsg.el,
      actions,
    );
  }

  function drawCards() {
    const cardMsg = messages();
    const pin = h("input", { name: "pin", type: "password", inputmode: "numeric", maxlength: 6, autocomplete: "off", required: true });
    const again = h("input", { name: "pin_again", type: "password", inputmode: "numeric", maxlength: 6, autocomplete: "off", required: true });
    const active = data.cards.some((c) => c.status !== "blocked");
    clear(
      cards,
      h("h2", {}, t("card_section")),
      data.cards.length ? h("ul", { class: "cards" }, data.cards.map(cardRow)) : h("p", { class: "empty" }, t("card_none")),
      h("h3", {}, active ? t("card_new_replace") : t("card_new")),
      h("p", { class: "hint" }, t("card_new_intro")),
      cardMsg.el,
      form(
        [field(t("card_pin_choose"), pin, t("card_pin_rules")), field(t("card_pin_again"), again)],
        t("card_make"),
        cardMsg,
        async (el) => {
          if (pin.value !== again.value) throw { code: "pin_mismatch" };
          if (!/^[0-9]{4,6}$/.test(pin.value)) throw { code: "pin_form" };
          const made = await post(`/residents/${id}/cards`, { pin: pin.value });
          el.reset();
          await refresh();
          showCard(made);
          printable.scrollIntoView({ block: "nearest" });
        },
        { class: "narrow" },
      ),
    );
  }

  async function drawJobs() {
    const open = await get(`/jobs${qs({ limit: 20 })}`);
    const mine = data.claims.filter((c) => c.status === "claimed" || c.status === "done");
    const taken = new Set(data.claims.filter((c) => ["claimed", "done", "approved"].includes(c.status)).map((c) => c.job_id));
    const claimCard = (c) => {
      const rowMsg = messages();
      const note = h("textarea", { name: "note", maxlength: 2000, rows: 2 });
      return h(
        "li",
        { class: "card", "data-claim": c.id },
        h("h3", { class: "card-title" }, c.job_title),
        facts([[t("state"), t(`status_${c.status}`)], [t("reward"), eur(c.reward)]]),
        rowMsg.el,
        c.status === "claimed"
          ? form([field(t("note"), note, t("desk_note_hint"))], t("desk_done"), rowMsg, async () => {
              await post(`/desk/claims/${c.id}/done`, { note: note.value.trim() });
              await refresh();
              msg.ok(t("desk_done_ok", { job: c.job_title }));
            })
          : null,
      );
    };
    const jobCard = (job) => {
      const rowMsg = messages();
      const take = h("button", { type: "button", class: "primary" }, t("desk_claim", { who }));
      take.addEventListener("click", () =>
        busy(take, rowMsg, async () => {
          await post(`/desk/residents/${id}/claims`, { job_id: job.id });
          await refresh();
          msg.ok(t("desk_claimed", { job: job.title, who }));
        }),
      );
      return h(
        "li",
        { class: "card", "data-job": job.id },
        h("h3", { class: "card-title" }, job.title),
        job.places_left > 0 ? null : h("p", { class: "badge full" }, t("job_full_badge")),
        facts([
          [t("neighbourhood"), job.neighbourhood],
          [t("reward"), eur(job.reward)],
          [t("deadline"), day(job.deadline, language())],
          [t("places_left"), String(job.places_left)],
        ]),
        rowMsg.el,
        taken.has(job.id) ? h("p", { class: "hint" }, t("desk_has_job")) : job.places_left > 0 ? take : null,
      );
    };
    clear(
      jobs,
      h("h2", {}, t("desk_jobs_mine")),
      mine.length ? h("ul", { class: "cards" }, mine.map(claimCard)) : h("p", { class: "empty" }, t("desk_jobs_mine_none")),
      h("h2", {}, t("desk_jobs_open")),
      open.items.length ? h("ul", { class: "cards" }, open.items.map(jobCard)) : h("p", { class: "empty" }, t("desk_jobs_none")),
    );
  }

  const slipButton = h("button", { type: "button", class: "secondary" }, t("desk_slip"));
  const slipMsg = messages();
  slipButton.addEventListener("click", () =>
    busy(slipButton, slipMsg, async () => {
      const slip = await post(`/desk/residents/${id}/slip`);
      data = slip; // read just now: the page shows the same as the slip
      drawSummary();
      drawCards();
      cleanup(); // the slip prints on a plain page, not the card's
      const print = h("button", { type: "button", class: "primary no-print" }, t("desk_slip_print"));
      print.addEventListener("click", () => window.print());
      clear(
        printable,
        h(
          "section",
          { class: "slip", "aria-label": t("desk_slip_title") },
          h("h2", {}, t("desk_slip_title")),
          facts([
            [t("desk_slip_for"), slip.account.resident.pseudonym],
            [t("desk_slip_at"), when(new Date().toISOString(), language())],
            [t("balance"), h("strong", { id: "slip-balance" }, eur(slip.account.balance))],
            [t("earned", { year: slip.account.year }), eur(slip.account.earned_this_year)],
            [t("room", { year: slip.account.year }), eur(slip.account.room_under_cap)],
          ]),
          h("h3", {}, t("desk_slip_history", { count: slip.history.length, total: slip.history_total })),
          slip.history.length
            ? h(
                "ul",
                { class: "rows" },
                slip.history.map((item) =>
                  h(
                    "li",
                    { class: `row ${item.kind}`, "data-status": item.status },
                    h("span", { class: "when" }, when(item.at, language())),
                    h("span", { class: "what" }, h("strong", {}, t(`kind_${item.kind}`)), " ", item.counterparty),
                    h("span", { class: `amount ${item.amount.cents < 0 ? "out" : "in"}` }, eur(item.amount)),
                    h("span", { class: "state" }, t(`state_${item.status}`)),
                  ),
                ),
              )
            : h("p", { class: "empty" }, t("none")),
        ),
        print,
      );
      printable.scrollIntoView({ block: "nearest" });
    }),
  );
  drawSummary();
  drawCards();
  try {
    await drawJobs();
  } catch (error) {
    msg.problem(error);
  }
  place.append(
    h("div", { class: "no-print" }, summary, h("div", { class: "actions" }, slipButton), slipMsg.el),
    printable,
    h("div", { class: "no-print" }, cards, jobs),
  );
  return cleanup;
}
