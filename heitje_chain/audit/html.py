"""The audit report as one self-contained HTML file: inline CSS and SVG charts, no scripts, no
fonts or libraries fetched from anywhere, so it opens offline and can be attached to an audit
file as it is. In Dutch by default, in English with `lang="en"` (the report's own words:
headings, labels, the checks and signals; the records' descriptions are report.json's)."""

from __future__ import annotations

from html import escape
from typing import Any

from heitje_chain.amounts import eur
from heitje_chain.audit.signals import SignalSettings

LANGS = ("nl", "en")

#: The report's words in Dutch (English is the key).
_NL: dict[str, str] = {
    "none": "geen",
    "no data": "geen gegevens",
    "more rows in the CSV file.": "rijen meer in het CSV-bestand.",
    "under 1 day": "korter dan 1 dag",
    "1-7 days": "1-7 dagen",
    "7-14 days": "7-14 dagen",
    "14-30 days": "14-30 dagen",
    "30-90 days": "30-90 dagen",
    "90+ days": "90+ dagen",
    "check(s) FAILED": "controle(s) NIET GOED",
    "Every check passed.": "Alle controles in orde.",
    "Contract": "Contract",
    "Chain id": "Chain-id",
    "Audited at block": "Gecontroleerd bij blok",
    "Block hash": "Blokhash",
    "Block time (UTC)": "Bloktijd (UTC)",
    "Events read": "Gelezen gebeurtenissen",
    "from block": "vanaf blok",
    "Source": "Bron",
    "Service exports": "Exports van de dienst",
    "Generated": "Gemaakt",
    "Supply in circulation": "In omloop",
    "Rewarded in total": "Totaal beloond",
    "Redeemed in total": "Totaal ingewisseld",
    "Unpaid redemptions": "Nog niet uitbetaalde inwisselingen",
    "Euro liability (circulating + unpaid)": "Verplichting in euro (in omloop + onbetaald)",
    "Heitje audit, block": "Heitje-audit, blok",
    "Heitje ledger audit": "Controle van het Heitje-grootboek",
    "Checks": "Controles",
    "check": "controle",
    "result": "uitkomst",
    "what it verifies": "wat ze controleert",
    "offending records": "afwijkende records",
    "skipped": "overgeslagen",
    "pass": "in orde",
    "FAIL": "NIET GOED",
    "Money": "Geld",
    "redemptions paid": "inwisselingen uitbetaald",
    "unpaid": "onbetaald",
    "the oldest unpaid is no.": "de oudste onbetaalde is nr.",
    "waiting": "wacht al",
    "days": "dagen",
    "Supply over time (end of day)": "In omloop door de tijd (einde van de dag)",
    "Rewards per month": "Beloningen per maand",
    "Rewards per neighbourhood": "Beloningen per wijk",
    "Payments per merchant": "Betalingen per winkel",
    "(top 20)": "(top 20)",
    "Redemption lead times (request to payout)": "Doorlooptijd inwisselingen (aanvraag tot "
    "uitbetaling)",
    "Charts": "Grafieken",
    "offending record(s):": "afwijkende record(s):",
    "Minters": "Uitgevers (minters)",
    "Yearly cap": "Jaarplafond",
    "Role history": "Geschiedenis van de rollen",
    "Admin actions, in order": "Beheerhandelingen, op volgorde",
    "Redemptions": "Inwisselingen",
    "Signals": "Signalen",
    "signal": "signaal",
    "what it looks for": "waar het naar kijkt",
    "threshold": "drempel",
    "records": "records",
    "look": "bekijken",
    "quiet": "niets",
    "Signals are not failures: they point at patterns worth a question, with the records "
    "behind them and the threshold used (a setting).": "Signalen zijn geen fouten: ze wijzen "
    "op patronen die een vraag waard zijn, met de records erachter en de gebruikte drempel "
    "(een instelling).",
    "record(s) to look at:": "record(s) om te bekijken:",
    "The descriptions of records are in English, as in report.json.": "De omschrijvingen in "
    "de records zijn in het Engels, zoals in report.json.",
    # why a check or signal was skipped
    "no claims export given (--claims FILE)": "geen claims-export gegeven (--claims BESTAND)",
    "no redemptions export given (--payouts FILE)": "geen export van de inwisselingen gegeven "
    "(--payouts BESTAND)",
    "no jobs export given (--jobs FILE)": "geen klussen-export gegeven (--jobs BESTAND)",
    "the claims export has no decided_by column (export it again from a current service)": "de "
    "claims-export heeft geen kolom decided_by (exporteer opnieuw uit de huidige dienst)",
    "the jobs export has no created_by column (export it again from a current service)": "de "
    "klussen-export heeft geen kolom created_by (exporteer opnieuw uit de huidige dienst)",
    "the claims export has no claimed_at and decided_at times (export it again from a current "
    "service)": "de claims-export heeft geen tijden claimed_at en decided_at (exporteer opnieuw "
    "uit de huidige dienst)",
}

#: Dutch column headings of the tables (the records' keys; others stay as they are).
_NL_KEYS: dict[str, str] = {
    "block": "blok",
    "tx": "transactie",
    "problem": "probleem",
    "amount": "bedrag",
    "resident": "inwoner",
    "minter": "uitgever",
    "merchant": "winkel",
    "year": "jaar",
    "earned": "verdiend",
    "earned_before": "eerder verdiend",
    "cap": "plafond",
    "job_id": "klus-id",
    "job": "klus",
    "inspector": "inspecteur",
    "reward": "beloning",
    "source": "bron",
    "loops": "rondjes",
    "payments": "betalingen",
    "received": "ontvangen",
    "refunded": "terugbetaald",
    "redeemed": "ingewisseld",
    "excess": "te veel",
    "redemptions": "inwisselingen",
    "rewards": "beloningen",
    "residents": "inwoners",
    "share": "aandeel",
    "top_amount": "bedrag grootste ontvangers",
    "top_residents": "grootste ontvangers",
    "approvals": "goedkeuringen",
    "resident_approvals": "goedkeuringen van de inwoner",
    "inspector_share": "aandeel van de inspecteur",
    "claimed_at": "geclaimd",
    "decided_at": "beoordeeld",
    "minutes": "minuten",
    "posted_by": "geplaatst door",
    "days": "dagen",
    "first_block": "eerste blok",
    "first_tx": "eerste transactie",
    "txs": "transacties",
    "role": "rol",
    "by": "door",
    "action": "handeling",
    "needs": "vereiste rol",
    "balance": "saldo",
    "allowance": "budget",
    "allowance_left": "budget over",
    "minted": "uitgegeven",
    "from": "van",
    "to": "aan",
    "lost": "verloren wallet",
    "replacement": "nieuwe wallet",
    "reference": "referentie",
    "requested_at": "aangevraagd",
    "change": "wijziging",
}

#: Dutch titles and descriptions of the checks and signals, by name.
_NL_NAMED: dict[str, tuple[str, str]] = {
    "supply": (
        "Geldhoeveelheid klopt",
        "totale hoeveelheid (van de node, bij het gecontroleerde blok) == hoeveelheid uit de "
        "gebeurtenissen == som van de saldi == beloningen - inwisselingen; elk saldo zoals de "
        "node het heeft == het saldo uit de gebeurtenissen; geen saldo onder nul",
    ),
    "mints": (
        "Elke uitgifte is een beloning",
        "elke nieuwe Heitje is een JobRewarded met een klus-id die nooit eerder beloond is, "
        "verstuurd door een houder van de minter-rol, binnen diens budget, aan een inwoner, en "
        "niet tijdens een pauze",
    ),
    "yearly_cap": (
        "Jaarplafond",
        "geen inwoner verdiende meer dan het plafond in een kalenderjaar (UTC); de verdiensten "
        "van een vervangen wallet tellen mee voor de nieuwe",
    ),
    "recoveries": (
        "Herstel van wallets",
        "een herstel zette het hele saldo over naar een ongebruikte inwonerwallet, nam de "
        "verdiensten van dit jaar mee (EarningsCarried), en de oude wallet werd niet meer "
        "gebruikt",
    ),
    "payments": (
        "Betalingen en terugbetalingen",
        "elke overboeking is een inwoner die een winkel betaalt, een (voormalige) winkel die "
        "een inwoner terugbetaalt, of een herstel; niet van inwoner naar inwoner of winkel "
        "naar winkel; niet tijdens een pauze",
    ),
    "redemptions": (
        "Inwisselingen en uitbetalingen",
        "elke vernietiging is een genummerde inwisseling door een (voormalige) winkel; "
        "nummers lopen 1, 2, 3, ...; een uitbetaling wordt één keer vastgelegd",
    ),
    "roles": (
        "Rollen en beheerhandelingen",
        "elke beheerhandeling is verstuurd door een account dat op dat moment de benodigde rol had",
    ),
    "reconcile_jobs": (
        "Goedgekeurde klussen tegen beloningen",
        "elke goedgekeurde claim van de dienst is on-chain beloond onder haar klus-id, met "
        "hetzelfde bedrag, en andersom",
    ),
    "reconcile_payouts": (
        "Uitbetalingen tegen de export",
        "elke inwisseling on-chain staat in de export van de dienst en andersom, met hetzelfde "
        "bedrag, dezelfde status en dezelfde bankreferentie",
    ),
    "fast_cap": (
        "Plafond snel bereikt bij één uitgever",
        "een inwoner verdiende het grootste deel van het jaarplafond bij één uitgever, kort na "
        "diens eerste beloning aan hem dat jaar",
    ),
    "refund_loops": (
        "Rondjes van betalen en terugbetalen",
        "een inwoner en een winkel die steeds dezelfde bedragen heen en weer boeken: een "
        "betaling, dan een terugbetaling van precies dat bedrag",
    ),
    "shop_overredeem": (
        "Winkel wisselde meer in dan hij ontving",
        "een winkel die meer Heitjes inwisselde dan hij aan betalingen ontving, min zijn "
        "terugbetalingen",
    ),
    "minter_cluster": (
        "Beloningen van een uitgever bij weinig inwoners",
        "een uitgever wiens beloningen grotendeels naar een handvol inwoners gaan",
    ),
    "inspector_favours": (
        "Inspecteur keurt één inwoner vaak goed",
        "één inspecteur die dezelfde inwoner veel vaker goedkeurt dan zijn aandeel in alle "
        "goedkeuringen doet verwachten (uit de claims-export)",
    ),
    "quick_approval": (
        "Goedgekeurd binnen minuten na de claim",
        "een klus met een beloning voor uren werk, goedgekeurd binnen minuten nadat de inwoner "
        "hem claimde (uit de claims-export)",
    ),
    "own_job_approved": (
        "Klus geplaatst en goedgekeurd door dezelfde persoon",
        "een claim goedgekeurd door de medewerker die de klus plaatste (uit de claims- en "
        "klussen-export)",
    ),
}


def _nl_thresholds(s: SignalSettings) -> dict[str, str]:
    def pct(x: float) -> str:
        return f"{x * 100:.0f}%"

    return {
        "fast_cap": f"één uitgever betaalde {pct(s.cap_fraction)} van het plafond of meer "
        f"binnen {s.cap_days} dagen na zijn eerste beloning aan de inwoner dat jaar "
        "(cap_fraction, cap_days)",
        "refund_loops": f"{s.loop_count} of meer terugbetalingen van precies het bedrag van "
        "een eerdere betaling, voor één inwoner en één winkel (loop_count)",
        "shop_overredeem": f"minstens {eur(s.redeem_excess)} meer ingewisseld dan de "
        "ontvangen betalingen min de terugbetalingen (redeem_excess)",
        "minter_cluster": f"de {s.cluster_top} grootste ontvangers kregen {pct(s.cluster_share)}"
        f" of meer van de beloningen van een uitgever met {s.cluster_min_rewards} of meer "
        "beloningen (cluster_top, cluster_share, cluster_min_rewards)",
        "inspector_favours": f"{s.inspector_min} of meer goedkeuringen van één inwoner door "
        f"één inspecteur, en diens aandeel daarin minstens {s.inspector_factor:g} keer zijn "
        "aandeel in alle goedkeuringen (inspector_min, inspector_factor)",
        "quick_approval": f"goedgekeurd binnen {s.quick_minutes} minuten na de claim, voor "
        f"klussen met een beloning van {eur(s.quick_min_reward)} of meer (quick_minutes, "
        "quick_min_reward)",
        "own_job_approved": "elke goedkeuring door de medewerker die de klus plaatste",
    }


#: Offending records shown per check in the HTML (the CSV files have them all).
SHOWN = 50

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:72rem;
color:#1d2430;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;
border-bottom:1px solid #d0d7de;padding-bottom:.3rem}
table{border-collapse:collapse;width:100%;font-size:.85rem;margin:.5rem 0}
th,td{border:1px solid #d0d7de;padding:.25rem .45rem;text-align:left;vertical-align:top}
th{background:#f3f5f7}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#116329;font-weight:600}.FAIL{color:#b3261e;font-weight:700}
.skipped{color:#6e7781}.meta td:first-child{width:14rem;color:#57606a}
code{font-size:.8rem;word-break:break-all}.charts{display:flex;flex-wrap:wrap;gap:1.5rem}
.chart{flex:1 1 30rem}.chart h3{font-size:.95rem;margin:.2rem 0}
.verdict{font-size:1.1rem;padding:.6rem .8rem;border-radius:.3rem;margin:1rem 0}
.ok{background:#dafbe1}.bad{background:#ffebe9}svg text{font-size:11px;fill:#1d2430}
"""


def _money(cents: int | None) -> str:
    return "" if cents is None else escape(eur(cents))


class Words:
    """The report's words in one language."""

    def __init__(self, lang: str = "nl") -> None:
        if lang not in LANGS:
            raise ValueError(f"the report's language is nl or en, not {lang!r}")
        self.lang = lang

    def __call__(self, text: str) -> str:
        return _NL.get(text, text) if self.lang == "nl" else text

    def key(self, key: str) -> str:
        """A table's column heading."""
        return _NL_KEYS.get(key, key) if self.lang == "nl" else key

    def named(self, name: str, title: str, text: str) -> tuple[str, str]:
        """A check's or signal's title and description."""
        return _NL_NAMED.get(name, (title, text)) if self.lang == "nl" else (title, text)


def _cell(key: str, value: Any, amounts: frozenset[str]) -> str:
    if value is None:
        return "<td></td>"
    if key in amounts and isinstance(value, int) and not isinstance(value, bool):
        return f'<td class="num">{_money(value)}</td>'
    if isinstance(value, int) and not isinstance(value, bool):
        return f'<td class="num">{value}</td>'
    text = escape(str(value))
    return f"<td><code>{text}</code></td>" if text.startswith("0x") else f"<td>{text}</td>"


def _table(rows: list[dict[str, Any]], limit: int | None = None, w: Words | None = None) -> str:
    from heitje_chain.audit.report import AMOUNT_KEYS

    w = w or Words("en")
    if not rows:
        return f"<p><em>{escape(w('none'))}</em></p>"
    shown = rows if limit is None else rows[:limit]
    keys: list[str] = []
    for row in shown:
        keys.extend(k for k in row if k not in keys)
    head = "".join(f"<th>{escape(w.key(k))}</th>" for k in keys)
    body = "".join(
        "<tr>" + "".join(_cell(k, row.get(k), AMOUNT_KEYS) for k in keys) + "</tr>" for row in shown
    )
    more = (
        f"<p>{len(rows) - len(shown)} {escape(w('more rows in the CSV file.'))}</p>"
        if len(rows) > len(shown)
        else ""
    )
    return f"<table><tr>{head}</tr>{body}</table>{more}"


# ------------------------------------------------------------------ charts (inline SVG)


def _scale(values: list[int]) -> int:
    top = max(values, default=0)
    return top if top > 0 else 1


def line_chart(points: list[tuple[str, int]], width: int = 560, height: int = 220) -> str:
    """A line of amounts (cents) over labelled points (dates)."""
    if not points:
        return "<p><em>no data</em></p>"
    left, bottom, top_pad = 70, 30, 10
    top = _scale([v for _, v in points])
    span = max(1, len(points) - 1)
    xy = [
        (
            left + (width - left - 10) * i / span,
            top_pad + (height - bottom - top_pad) * (1 - v / top),
        )
        for i, (_, v) in enumerate(points)
    ]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    return (
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img">'
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" '
        'stroke="#8c959f"/>'
        f'<line x1="{left}" y1="{top_pad}" x2="{left}" y2="{height - bottom}" stroke="#8c959f"/>'
        f'<text x="{left - 4}" y="{top_pad + 4}" text-anchor="end">{_money(top)}</text>'
        f'<text x="{left - 4}" y="{height - bottom}" text-anchor="end">0</text>'
        f'<polyline fill="none" stroke="#0969da" stroke-width="2" points="{path}"/>'
        + "".join(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#0969da"/>'
            for x, y in (xy if len(xy) <= 60 else [])
        )
        + f'<text x="{left}" y="{height - 10}">{escape(points[0][0])}</text>'
        f'<text x="{width - 10}" y="{height - 10}" text-anchor="end">'
        f"{escape(points[-1][0])}</text></svg>"
    )


def bar_chart(bars: list[tuple[str, int]], money: bool = True, width: int = 560) -> str:
    """Horizontal bars, one per label (amounts in cents, or counts)."""
    if not bars:
        return "<p><em>no data</em></p>"
    row, label_w = 20, 170
    height = row * len(bars) + 10
    top = _scale([v for _, v in bars])
    parts = [f'<svg viewBox="0 0 {width} {height}" width="100%" role="img">']
    for i, (label, value) in enumerate(bars):
        y = 5 + i * row
        w = (width - label_w - 110) * value / top
        shown = _money(value) if money else f"{value:,}"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{escape(label[:28])}</text>'
            f'<rect x="{label_w}" y="{y + 2}" width="{max(w, 1):.1f}" height="{row - 6}" '
            f'fill="#2da44e"/><text x="{label_w + w + 4:.1f}" y="{y + 13}">{shown}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _histogram(values: list[float], w: Words | None = None) -> list[tuple[str, int]]:
    w = w or Words("en")
    edges = [
        (0, 1, "under 1 day"),
        (1, 7, "1-7 days"),
        (7, 14, "7-14 days"),
        (14, 30, "14-30 days"),
        (30, 90, "30-90 days"),
        (90, float("inf"), "90+ days"),
    ]
    return [(w(label), sum(1 for v in values if lo <= v < hi)) for lo, hi, label in edges]


def _short(address: str) -> str:
    return f"{address[:8]}...{address[-4:]}" if address.startswith("0x") else address


# ------------------------------------------------------------------ the page


def render(report: dict[str, Any], lang: str = "nl") -> str:
    w = Words(lang)
    f = report["figures"]
    checks = report["checks"]
    signals = report.get("signals", [])
    failed = [c for c in checks if c["status"] == "FAIL"]

    def title(item: dict[str, Any], text_key: str) -> tuple[str, str]:
        return w.named(item["name"], item["title"], item[text_key])

    verdict = (
        f'<div class="verdict bad">{len(failed)} {escape(w("check(s) FAILED"))}: '
        + escape(", ".join(title(c, "verifies")[0] for c in failed))
        + "</div>"
        if failed
        else f'<div class="verdict ok">{escape(w("Every check passed."))}</div>'
    )
    meta = [
        ("Contract", report["contract"]),
        ("Chain id", report["chain_id"]),
        ("Audited at block", report["block"]),
        ("Block hash", report["block_hash"]),
        ("Block time (UTC)", report["block_time"]),
        ("Events read", f"{report['events']:,} ({w('from block')} {report['from_block']})"),
        ("Source", report["source"]),
        ("Service exports", ", ".join(report["exports"]) or w("none")),
        ("Generated", report["generated_at"]),
    ]
    liability = f["liability"]
    money_rows = [
        ("Supply in circulation", f["supply"]),
        ("Rewarded in total", f["rewards"]),
        ("Redeemed in total", f["redemptions"]),
        ("Unpaid redemptions", liability["unpaid_redemptions"]),
        ("Euro liability (circulating + unpaid)", liability["total"]),
    ]
    out = [
        f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'>",
        f"<title>{escape(w('Heitje audit, block'))} {report['block']}</title>"
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{escape(w('Heitje ledger audit'))}</h1>",
        verdict,
        '<table class="meta">'
        + "".join(
            f"<tr><td>{escape(w(k))}</td><td><code>{escape(str(v))}</code></td></tr>"
            for k, v in meta
        )
        + "</table>",
        f"<h2>{escape(w('Checks'))}</h2><table><tr><th>{escape(w('check'))}</th>"
        f"<th>{escape(w('result'))}</th><th>{escape(w('what it verifies'))}</th>"
        f"<th>{escape(w('offending records'))}</th></tr>",
    ]
    for c in checks:
        name, verifies = title(c, "verifies")
        result = w(c["status"]) if not c["skipped"] else f"{w('skipped')}: {w(c['skipped'])}"
        out.append(
            f"<tr><td><a href='#check-{c['name']}'>{escape(name)}</a></td>"
            f"<td class='{c['status']}'>{escape(result)}</td><td>{escape(verifies)}</td>"
            f"<td class='num'>{c['offending']}</td></tr>"
        )
    out.append("</table>")
    if signals:
        words = (
            _nl_thresholds(SignalSettings(**report["signal_settings"]))
            if lang == "nl" and "signal_settings" in report
            else {}
        )
        out.append(
            f"<h2>{escape(w('Signals'))}</h2><p>"
            + escape(
                w(
                    "Signals are not failures: they point at patterns worth a question, with "
                    "the records behind them and the threshold used (a setting)."
                )
            )
            + f"</p><table><tr><th>{escape(w('signal'))}</th><th>{escape(w('result'))}</th>"
            f"<th>{escape(w('what it looks for'))}</th><th>{escape(w('threshold'))}</th>"
            f"<th>{escape(w('records'))}</th></tr>"
        )
        for sig in signals:
            name, looks = title(sig, "looks_for")
            result = (
                w(sig["status"]) if not sig["skipped"] else f"{w('skipped')}: {w(sig['skipped'])}"
            )
            css = {"look": "FAIL", "quiet": "pass"}.get(sig["status"], "skipped")
            out.append(
                f"<tr><td><a href='#signal-{sig['name']}'>{escape(name)}</a></td>"
                f"<td class='{css}'>{escape(result)}</td><td>{escape(looks)}</td>"
                f"<td>{escape(words.get(sig['name'], sig['threshold']))}</td>"
                f"<td class='num'>{sig['shown']}</td></tr>"
            )
        out.append("</table>")
    out.append(
        f"<h2>{escape(w('Money'))}</h2><table>"
        + "".join(
            f"<tr><td>{escape(w(k))}</td><td class='num'>{_money(v)}</td></tr>"
            for k, v in money_rows
        )
        + "</table>"
    )
    summary = f["redemption_summary"]
    oldest = summary["oldest_unpaid"]
    out.append(
        f"<p>{summary['paid']} {escape(w('redemptions paid'))}, {summary['unpaid']} "
        f"{escape(w('unpaid'))}"
        + (
            f"; {escape(w('the oldest unpaid is no.'))} {oldest['id']} "
            f"({_money(oldest['amount'])}), {escape(w('waiting'))} {oldest['age_days']} "
            f"{escape(w('days'))}."
            if oldest
            else "."
        )
        + "</p>"
    )
    charts = [
        (w("Supply over time (end of day)"), line_chart([(d, v) for d, v in f["supply_by_day"]])),
        (w("Rewards per month"), bar_chart(list(f["rewards_by_month"].items()))),
    ]
    if f["rewards_by_neighbourhood"] is not None:
        charts.append(
            (
                w("Rewards per neighbourhood"),
                bar_chart(list(f["rewards_by_neighbourhood"].items())),
            )
        )
    merchants = f["payments_by_merchant"][:20]
    charts.append(
        (
            w("Payments per merchant")
            + (" " + w("(top 20)") if len(f["payments_by_merchant"]) > 20 else ""),
            bar_chart([(_short(m["merchant"]), m["amount"]) for m in merchants]),
        )
    )
    charts.append(
        (
            w("Redemption lead times (request to payout)"),
            bar_chart(_histogram(summary["lead_time_days"]["values"], w), money=False),
        )
    )
    out.append(f"<h2>{escape(w('Charts'))}</h2><div class='charts'>")
    for chart_title, svg in charts:
        out.append(f"<div class='chart'><h3>{escape(chart_title)}</h3>{svg}</div>")
    out.append("</div>")
    if lang != "en":
        out.append(
            f"<p><em>{escape(w('The descriptions of records are in English, as in report.json.'))}"
            "</em></p>"
        )
    for c in checks:
        name, verifies = title(c, "verifies")
        out.append(
            f"<h2 id='check-{c['name']}'>{escape(name)}: "
            f"<span class='{c['status']}'>{escape(w(c['status']))}</span></h2>"
        )
        out.append(f"<p>{escape(verifies)}.</p>")
        for note in c["notes"]:
            out.append(f"<p>{escape(note)}</p>")
        if c["offending"]:
            out.append(f"<p>{c['offending']} {escape(w('offending record(s):'))}</p>")
            out.append(_table(c["records"], SHOWN, w))
    for sig in signals:
        name, looks = title(sig, "looks_for")
        css = {"look": "FAIL", "quiet": "pass"}.get(sig["status"], "skipped")
        out.append(
            f"<h2 id='signal-{sig['name']}'>{escape(w('signal'))}: {escape(name)}: "
            f"<span class='{css}'>{escape(w(sig['status']))}</span></h2>"
        )
        out.append(f"<p>{escape(looks)}.</p>")
        for note in sig["notes"]:
            out.append(f"<p>{escape(note)}</p>")
        if sig["shown"]:
            out.append(f"<p>{sig['shown']} {escape(w('record(s) to look at:'))}</p>")
            out.append(_table(sig["records"], SHOWN, w))
    out.append(f"<h2>{escape(w('Minters'))}</h2>" + _table(f["minters"], None, w))
    out.append(f"<h2>{escape(w('Yearly cap'))}</h2>" + _table(f["yearly_cap"]["history"], None, w))
    out.append(
        _table([{"year": y, **v} for y, v in f["yearly_cap"]["highest_per_year"].items()], None, w)
    )
    out.append(
        f"<h2>{escape(w('Role history'))}</h2>" + _table(report["tables"]["role_history"], None, w)
    )
    out.append(
        f"<h2>{escape(w('Admin actions, in order'))}</h2>"
        + _table(report["tables"]["admin_actions"], 500, w)
    )
    out.append(
        f"<h2>{escape(w('Redemptions'))}</h2>" + _table(report["tables"]["redemption_list"], 500, w)
    )
    out.append("</body></html>")
    return "\n".join(out)


def localized_signals(report: dict[str, Any], lang: str = "nl") -> list[dict[str, Any]]:
    """The report's fraud signals as a page shows them in `lang`: each with its title, what
    it looks for and its threshold in words, why it was skipped, and its records with their
    columns named (`label`; `amount`: the values are cents). The records' English
    descriptions (`problem`) are left out: the title says what they are."""
    from heitje_chain.audit.report import AMOUNT_KEYS

    w = Words(lang)
    words = (
        _nl_thresholds(SignalSettings(**report["signal_settings"]))
        if lang == "nl" and "signal_settings" in report
        else {}
    )
    out = []
    for sig in report.get("signals", []):
        title, looks = w.named(sig["name"], sig["title"], sig["looks_for"])
        records = [{k: v for k, v in r.items() if k != "problem"} for r in sig["records"]]
        keys: list[str] = []
        for record in records:
            keys.extend(k for k in record if k not in keys)
        out.append(
            {
                "name": sig["name"],
                "status": sig["status"],
                "title": title,
                "looks_for": looks,
                "threshold": words.get(sig["name"], sig["threshold"]),
                "skipped": w(sig["skipped"]) if sig["skipped"] else "",
                "shown": sig["shown"],
                "columns": [
                    {"key": k, "label": w.key(k), "amount": k in AMOUNT_KEYS} for k in keys
                ],
                "records": records,
            }
        )
    return out
