// The municipality's pages: jobs, the inspector's queue, shops, residents (wallet recovery),
// budgets and the cap, and the treasurer's payouts.
import { download, get, post, put, qs } from "../api.js";
import { clear, day, field, h, saveBlob, when } from "../dom.js";
import { eur, language, t } from "../i18n.js";
import { askFirst, busy, centsText, csvButton, exchangeDates, facts, form, messages, neighbourhoodInput, pagedList, scrollBox, title } from "../ui.js";

function isoToday(plusDays = 0) {
  const d = new Date(Date.now() + plusDays * 86_400_000);
  return d.toISOString().slice(0, 10);
}

export async function manageJobsPage(root, { user }) {
  const msg = messages();
  const inputs = {
    title: h("input", { name: "title", maxlength: 120, required: true }),
    description: h("textarea", { name: "description", rows: 3, maxlength: 2000 }),
    neighbourhood: neighbourhoodInput(),
    reward: h("input", { name: "reward", inputmode: "decimal", required: true }),
    deadline: h("input", { name: "deadline", type: "date", min: isoToday(), value: isoToday(14), required: true }),
    places: h("input", { name: "places", type: "number", min: 1, max: 1000, value: 1, required: true }),
  };
  const parts = [
    field(t("title"), inputs.title),
    field(t("description"), inputs.description),
    field(t("neighbourhood"), inputs.neighbourhood, t("neighbourhood_hint")),
    field(t("reward"), inputs.reward, t("amount_hint")),
    field(t("deadline"), inputs.deadline),
    field(t("places"), inputs.places),
  ];
  let issuer = null;
  if (user.role === "admin") {
    issuer = h("select", { name: "issuer" });
    try {
      const issuers = await get("/issuers");
      clear(issuer, issuers.map((i) => h("option", { value: i.id }, i.name)));
    } catch (error) {
      msg.problem(error);
    }
    parts.push(field(t("issuer"), issuer));
  }
  const list = pagedList({
    fetchPage: (offset, limit) => get(`/jobs${qs({ offset, limit, status: "all" })}`),
    render: (job) => jobCard(job, () => list.reload()),
  });
  root.append(
    title(t("nav_manage_jobs")),
    h("h2", {}, t("post_job")),
    msg.el,
    form(parts, t("post"), msg, async (el) => {
      const body = {
        title: inputs.title.value.trim(),
        description: inputs.description.value.trim(),
        neighbourhood: inputs.neighbourhood.value.trim(),
        reward: inputs.reward.value.trim(),
        deadline: inputs.deadline.value,
        places: Number.parseInt(inputs.places.value, 10) || 1,
      };
      if (issuer) body.issuer_id = Number.parseInt(issuer.value, 10);
      const job = await post("/jobs", body);
      el.reset();
      inputs.deadline.value = isoToday(14);
      msg.ok(`${t("posted")} (${job.title})`);
      await list.restart();
    }, { class: "narrow" }),
    h("h2", {}, t("all_jobs")),
    csvButton("/jobs?status=all&format=csv"),
    list.el,
  );
  await list.reload();
}

/** A job as its issuer or an admin sees it: while open, it can be closed (no new claims) or
 *  called off with a reason (open claims lapse; work reported done is still inspected). */
function jobCard(job, reload) {
  const msg = messages();
  const card = h(
    "li",
    { class: "card", "data-job": job.id },
    h("h3", {}, job.title),
    facts([
      [t("where"), job.neighbourhood],
      [t("reward"), eur(job.reward)],
      [t("deadline"), day(job.deadline, language())],
      [t("places_left"), `${job.places_left} / ${job.places}`],
      [t("by"), job.issuer],
      ["Status", h("span", { class: "job-status" }, job.status === "open" && job.places_left === 0 ? t("job_status_full") : t(`job_status_${job.status}`))],
    ]),
    msg.el,
  );
  if (job.status !== "open") return card;
  const done = async (text) => {
    await reload();
    const again = document.querySelector(`[data-job="${job.id}"] .messages`);
    if (again) again.append(h("p", { class: "ok", role: "status" }, text));
  };
  const close = h("button", { type: "button", class: "secondary" }, t("close_job"));
  close.addEventListener("click", () =>
    busy(close, msg, async () => {
      await post(`/jobs/${job.id}/close`);
      await done(t("job_closed_msg"));
    }),
  );
  const reason = h("textarea", { name: "cancel_reason", rows: 2, maxlength: 2000 });
  const cancel = h("button", { type: "button", class: "danger" }, t("cancel_job"));
  cancel.addEventListener("click", () =>
    busy(cancel, msg, async () => {
      reason.removeAttribute("aria-invalid");
      if (!reason.value.trim()) {
        reason.setAttribute("aria-invalid", "true");
        reason.focus();
        throw { code: "cancel_reason_needed" };
      }
      await post(`/jobs/${job.id}/cancel`, { reason: reason.value.trim() });
      await done(t("job_cancelled_msg"));
    }),
  );
  card.append(
    h("details", { class: "manage" },
      h("summary", {}, t("manage_job")),
      h("p", { class: "hint" }, t("close_job_hint")),
      close,
      h("p", { class: "hint" }, t("cancel_job_hint")),
      field(t("cancel_reason"), reason),
      cancel,
    ),
  );
  return card;
}

async function showPhoto(claim, button, place) {
  const { blob } = await download(`/claims/${claim.id}/photo`);
  const url = URL.createObjectURL(blob);
  const img = h("img", { src: url, alt: t("photo_alt", { title: claim.job_title }), class: "photo" });
  img.addEventListener("load", () => URL.revokeObjectURL(url));
  place.append(img);
  button.remove();
}

export async function queuePage(root) {
  const list = pagedList({
    fetchPage: (offset, limit) => get(`/claims${qs({ status: "done", offset, limit })}`),
    empty: t("queue_empty"),
    render: (claim) => {
      const msg = messages();
      const reason = h("textarea", { rows: 2, maxlength: 2000, name: "reason" });
      const approve = h("button", { type: "button", class: "primary" }, t("approve"));
      const reject = h("button", { type: "button", class: "danger" }, t("reject"));
      const photoPlace = h("div", {});
      const card = h(
        "li",
        { class: "card", "data-claim": claim.id },
        h("h2", { class: "card-title" }, claim.job_title),
        facts([
          [t("resident"), claim.resident],
          [t("reward"), eur(claim.reward)],
          [t("note_for_inspector"), claim.note || "—"],
        ]),
        photoPlace,
        field(t("reject_reason"), reason),
        h("div", { class: "actions" }, approve, reject),
        msg.el,
      );
      if (claim.photo) {
        const show = h("button", { type: "button", class: "secondary" }, t("show_photo"));
        show.addEventListener("click", () => busy(show, msg, () => showPhoto(claim, show, photoPlace)));
        photoPlace.append(show);
      }
      const decided = (text) => {
        card.querySelector(".actions").remove();
        reason.disabled = true;
        msg.ok(text);
      };
      approve.addEventListener("click", () =>
        busy(approve, msg, async () => {
          await post(`/claims/${claim.id}/approve`, reason.value.trim() ? { reason: reason.value.trim() } : {});
          decided(t("approved_msg"));
        }),
      );
      reject.addEventListener("click", () =>
        busy(reject, msg, async () => {
          if (!reason.value.trim()) {
            reason.focus();
            throw { code: "reason_needed" };
          }
          await post(`/claims/${claim.id}/reject`, { reason: reason.value.trim() });
          decided(t("rejected_msg"));
        }),
      );
      return card;
    },
  });
  root.append(title(t("queue_title")), list.el);
  await list.reload();
}

function shopCard(m, action, label, done) {
  const msg = messages();
  const place = h("div", {});
  const send = async () => {
    await post(`/merchants/${m.id}/${action}`);
    clear(place);
    msg.ok(done);
  };
  function showButton() {
    const button = h("button", { type: "button", class: action === "remove" ? "danger" : "primary" }, label);
    if (action === "remove") {
      // Taking a shop off the list stops its payments: asked first, with what it means.
      button.addEventListener("click", () =>
        askFirst(place, {
          heading: t("remove_confirm_title", { shop: m.name }),
          lines: [t("remove_confirm", { shop: m.name, code: m.code })],
          yesLabel: t("remove_yes"),
          danger: true,
          msg,
          no: showButton,
          yes: send,
        }),
      );
    } else {
      button.addEventListener("click", () => busy(button, msg, send));
    }
    clear(place, button);
  }
  showButton();
  return h(
    "li",
    { class: "card", "data-merchant": m.id },
    h("h3", {}, m.name),
    facts([
      [t("neighbourhood"), m.neighbourhood],
      [t("shop_code"), m.code],
    ]),
    place,
    msg.el,
  );
}

export async function merchantsPage(root) {
  const applied = pagedList({
    fetchPage: (offset, limit) => get(`/merchants${qs({ status: "applied", offset, limit })}`),
    render: (m) => shopCard(m, "approve", t("approve_shop"), t("shop_approved", { shop: m.name })),
    empty: t("no_applications"),
  });
  const approved = pagedList({
    fetchPage: (offset, limit) => get(`/merchants${qs({ status: "approved", offset, limit })}`),
    render: (m) => shopCard(m, "remove", t("remove_shop"), t("shop_removed", { shop: m.name })),
  });
  root.append(
    title(t("merchants_title")),
    h("h2", {}, t("applications")),
    applied.el,
    h("h2", {}, t("approved_shops")),
    csvButton("/merchants?format=csv"),
    approved.el,
  );
  await Promise.all([applied.reload(), approved.reload()]);
}

function recoveryForm(resident, place) {
  const msg = messages();
  const reason = h("textarea", { name: "reason", rows: 2, maxlength: 500, required: true });
  const parts = [field(t("recover_reason"), reason)];
  let wallet = null;
  if (!resident.custodial) {
    wallet = h("input", { name: "new_wallet", maxlength: 42, autocomplete: "off", spellcheck: "false" });
    parts.push(field(t("new_wallet"), wallet));
  }
  const ask = h("div", {});
  function showForm() {
    clear(ask, form(parts, t("next"), msg, async () => {
      reason.removeAttribute("aria-invalid");
      if (!reason.value.trim()) {
        reason.setAttribute("aria-invalid", "true");
        reason.focus();
        throw { code: "recover_reason_needed" };
      }
      const body = { reason: reason.value.trim() };
      if (wallet) body.new_wallet = wallet.value.trim();
      // Moving a balance: asked first, with whose it is and where it goes.
      askFirst(ask, {
        heading: t("recover_confirm_title"),
        lines: [
          t(body.new_wallet ? "recover_confirm_own" : "recover_confirm", { who: resident.pseudonym, wallet: body.new_wallet || "" }),
          t("recover_confirm_reason", { reason: body.reason }),
        ],
        yesLabel: t("recover_yes", { who: resident.pseudonym }),
        danger: true,
        msg,
        no: showForm,
        yes: async () => {
          const done = await post(`/residents/${resident.id}/recover`, body);
          clear(place, h("p", { class: "ok", role: "status" }, t("recovered", { who: done.pseudonym })));
        },
      });
    }));
  }
  showForm();
  return h(
    "section",
    { class: "card" },
    h("h2", {}, t("recover_title")),
    h("p", {}, t("recover_intro")),
    msg.el,
    ask,
  );
}

export async function residentsPage(root) {
  const msg = messages();
  const pseudonym = h("input", { name: "pseudonym", maxlength: 64, autocomplete: "off", autocapitalize: "characters" });
  const result = h("div", {});
  root.append(
    title(t("residents_title")),
    msg.el,
    form([field(t("pseudonym"), pseudonym, t("username_hint"))], t("find"), msg, async () => {
      clear(result);
      const page = await get(`/residents${qs({ pseudonym: pseudonym.value.trim() })}`);
      if (!page.items.length) {
        clear(result, h("p", { class: "error", role: "alert" }, t("no_resident_found")));
        return;
      }
      const resident = page.items[0];
      const place = h("div", {});
      clear(
        result,
        h(
          "section",
          { class: "card" },
          h("h2", {}, resident.pseudonym),
          facts([
            [t("neighbourhood"), resident.neighbourhood],
            ["", resident.custodial ? t("kept_wallet") : t("own_wallet")],
          ]),
        ),
        place,
      );
      place.append(recoveryForm(resident, place));
    }, { class: "narrow", role: "search" }),
    result,
    csvButton("/residents?format=csv"),
  );
}

export async function budgetsPage(root, { user }) {
  const msg = messages();
  root.append(title(t("budgets_title")), msg.el);
  const shown = h("div", {});
  root.append(shown);
  async function show() {
    const b = await get("/budgets");
    clear(
      shown,
      facts([[t("cap", { year: b.year }), eur(b.yearly_cap)]]),
      h("p", { class: b.paused ? "error" : "ok" }, b.paused ? t("paused") : t("running")),
      h(
        "table",
        {},
        h("caption", {}, t("budget_left")),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("issuer")), h("th", { scope: "col" }, t("budget_left")))),
        h(
          "tbody",
          {},
          b.issuers.map((i) => h("tr", {}, h("th", { scope: "row" }, i.name), h("td", { class: "num" }, i.budget_left ? eur(i.budget_left) : "—"))),
        ),
      ),
      h("p", { class: "hint" }, t("budgets_note")),
    );
    return b;
  }
  let b;
  try {
    b = await show();
  } catch (error) {
    msg.problem(error);
    return;
  }
  try {
    root.append(chainStatus(await get("/status")));
  } catch (error) {
    msg.problem(error);
  }
  if (user.role === "admin") {
    // Changed on-chain with the admin key, when this server holds it; otherwise the API says
    // which heitje command to use, and that sentence is shown.
    const issuer = h("select", { name: "issuer" }, b.issuers.map((i) => h("option", { value: i.id }, i.name)));
    const budget = h("input", { name: "budget", inputmode: "decimal", autocomplete: "off", required: true });
    const cap = h("input", { name: "cap", inputmode: "decimal", autocomplete: "off", required: true });
    root.append(
      h("h2", {}, t("budget_set_title")),
      form([field(t("budget_issuer"), issuer), field(t("budget_new"), budget, t("amount_hint"))], t("budget_set"), msg, async () => {
        await put(`/budgets/issuers/${issuer.value}`, { budget: budget.value.trim() });
        await show();
        msg.ok(t("budget_done"));
      }),
      h("h2", {}, t("cap_set_title")),
      form([field(t("cap_new"), cap, t("amount_hint"))], t("cap_set"), msg, async () => {
        await put("/budgets/cap", { cap: cap.value.trim() });
        await show();
        msg.ok(t("cap_done"));
      }),
    );
  }
  root.append(
    h("h2", {}, t("budgets_how")),
    h("p", {}, t("budgets_how_intro")),
    h(
      "ul",
      { class: "commands" },
      h("li", {}, h("code", {}, "heitje allowance set job-office 5000"), " – ", t("budgets_how_allowance")),
      h("li", {}, h("code", {}, "heitje cap set 1500"), " – ", t("budgets_how_cap")),
      h("li", {}, h("code", {}, "heitje pause"), " / ", h("code", {}, "heitje unpause"), " – ", t("budgets_how_pause")),
    ),
  );
}

// Whether the chain lost blocks the service had seen (and what was repaired), and the
// approved rewards the chain refuses for now, with its reason (GET /status).
function chainStatus(st) {
  const parts = [];
  if (st.chain_forgot) {
    parts.push(h("p", { class: "error", role: "alert" }, t("chain_forgot", { block: st.forgot_from_block ?? 0, count: st.repaired.length })));
  }
  if (st.rewards_waiting.length) {
    parts.push(
      h(
        "table",
        {},
        h("caption", {}, t("rewards_waiting")),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("waiting_claim")), h("th", { scope: "col" }, t("waiting_amount")), h("th", { scope: "col" }, t("reason")))),
        h(
          "tbody",
          {},
          st.rewards_waiting.map((r) => h("tr", {}, h("td", {}, String(r.claim)), h("td", { class: "num" }, eur(r.amount)), h("td", {}, r.reason || ""))),
        ),
      ),
      h("p", { class: "hint" }, t("rewards_waiting_note")),
    );
  }
  return h("section", {}, parts);
}

export async function treasuryPage(root) {
  const msg = messages();
  const sepa = h("button", { type: "button", class: "primary" }, t("sepa"));
  sepa.addEventListener("click", () =>
    busy(sepa, msg, async () => {
      const { blob, name } = await download("/redemptions/sepa");
      saveBlob(blob, name);
    }),
  );
  const open = pagedList({
    fetchPage: (offset, limit) => get(`/redemptions${qs({ open: true, offset, limit })}`),
    empty: t("treasury_empty"),
    render: (r) => {
      const rowMsg = messages();
      const reference = h("input", { name: "bank_reference", maxlength: 32, autocomplete: "off" });
      return h(
        "li",
        { class: "card", "data-redemption": r.id },
        h("h2", { class: "card-title" }, `#${r.id} · ${r.merchant}`),
        facts([
          [t("amount"), eur(r.amount)],
          [t("iban"), r.iban || "—"],
          r.requested_at ? [t("exchange_requested_label"), when(r.requested_at, language())] : null,
        ]),
        rowMsg.el,
        form([field(t("bank_reference"), reference)], t("confirm_payout"), rowMsg, async () => {
          await post(`/redemptions/${r.id}/payout`, { bank_reference: reference.value.trim() });
          msg.ok(t("payout_done", { id: r.id }));
          await Promise.all([open.reload(), all.reload(), showTotal()]);
        }),
      );
    },
  });
  const all = pagedList({
    fetchPage: (offset, limit) => get(`/redemptions${qs({ offset, limit })}`),
    render: (r) =>
      h(
        "li",
        { class: "row" },
        h("span", { class: "what" }, `#${r.id} · ${r.merchant}`),
        h("span", { class: "amount" }, eur(r.amount)),
        h("span", { class: "state" }, r.paid ? t("paid_out", { ref: r.bank_reference }) : t("not_paid_out")),
        exchangeDates(r),
      ),
    tag: "ul",
    className: "rows",
  });
  const total = h("p", { class: "big", id: "open-total" });
  async function showTotal() {
    let cents = 0n;
    let count = 0;
    for (let offset = 0; ; offset += 1000) {
      const page = await get(`/redemptions${qs({ open: true, offset, limit: 1000 })}`);
      for (const r of page.items) cents += BigInt(r.amount.cents);
      count += page.items.length;
      if (offset + page.items.length >= page.total || !page.items.length) break;
    }
    total.textContent = t("treasury_total", { count, amount: eur(centsText(cents)) });
  }
  root.append(
    title(t("treasury_title")),
    msg.el,
    total,
    sepa,
    open.el,
    h("h2", {}, t("redemptions")),
    csvButton("/redemptions?format=csv"),
    all.el,
  );
  await Promise.all([open.reload(), all.reload(), showTotal().catch((error) => msg.problem(error))]);
}
