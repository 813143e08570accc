"""The audit report as one self-contained HTML file: inline CSS and SVG charts, no scripts, no
fonts or libraries fetched from anywhere, so it opens offline and can be attached to an audit
file as it is."""

from __future__ import annotations

from html import escape
from typing import Any

from heitje_chain.amounts import eur

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


def _cell(key: str, value: Any, amounts: frozenset[str]) -> str:
    if value is None:
        return "<td></td>"
    if key in amounts and isinstance(value, int) and not isinstance(value, bool):
        return f'<td class="num">{_money(value)}</td>'
    if isinstance(value, int) and not isinstance(value, bool):
        return f'<td class="num">{value}</td>'
    text = escape(str(value))
    return f"<td><code>{text}</code></td>" if text.startswith("0x") else f"<td>{text}</td>"


def _table(rows: list[dict[str, Any]], limit: int | None = None) -> str:
    from heitje_chain.audit.report import AMOUNT_KEYS

    if not rows:
        return "<p><em>none</em></p>"
    shown = rows if limit is None else rows[:limit]
    keys: list[str] = []
    for row in shown:
        keys.extend(k for k in row if k not in keys)
    head = "".join(f"<th>{escape(k)}</th>" for k in keys)
    body = "".join(
        "<tr>" + "".join(_cell(k, row.get(k), AMOUNT_KEYS) for k in keys) + "</tr>" for row in shown
    )
    more = (
        f"<p>{len(rows) - len(shown)} more rows in the CSV file.</p>"
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


def _histogram(values: list[float]) -> list[tuple[str, int]]:
    edges = [
        (0, 1, "under 1 day"),
        (1, 7, "1-7 days"),
        (7, 14, "7-14 days"),
        (14, 30, "14-30 days"),
        (30, 90, "30-90 days"),
        (90, float("inf"), "90+ days"),
    ]
    return [(label, sum(1 for v in values if lo <= v < hi)) for lo, hi, label in edges]


def _short(address: str) -> str:
    return f"{address[:8]}...{address[-4:]}" if address.startswith("0x") else address


# ------------------------------------------------------------------ the page


def render(report: dict[str, Any]) -> str:
    f = report["figures"]
    checks = report["checks"]
    failed = [c for c in checks if c["status"] == "FAIL"]
    verdict = (
        f'<div class="verdict bad">{len(failed)} check(s) FAILED: '
        + escape(", ".join(c["title"] for c in failed))
        + "</div>"
        if failed
        else '<div class="verdict ok">Every check passed.</div>'
    )
    meta = [
        ("Contract", report["contract"]),
        ("Chain id", report["chain_id"]),
        ("Audited at block", report["block"]),
        ("Block hash", report["block_hash"]),
        ("Block time (UTC)", report["block_time"]),
        ("Events read", f"{report['events']:,} (from block {report['from_block']})"),
        ("Source", report["source"]),
        ("Service exports", ", ".join(report["exports"]) or "none"),
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
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Heitje audit, block {report['block']}</title><style>{_CSS}</style></head><body>",
        "<h1>Heitje ledger audit</h1>",
        verdict,
        '<table class="meta">'
        + "".join(
            f"<tr><td>{escape(k)}</td><td><code>{escape(str(v))}</code></td></tr>" for k, v in meta
        )
        + "</table>",
        "<h2>Checks</h2><table><tr><th>check</th><th>result</th><th>what it verifies</th>"
        "<th>offending records</th></tr>",
    ]
    for c in checks:
        result = c["status"] if not c["skipped"] else f"skipped: {c['skipped']}"
        out.append(
            f"<tr><td><a href='#check-{c['name']}'>{escape(c['title'])}</a></td>"
            f"<td class='{c['status']}'>{escape(result)}</td><td>{escape(c['verifies'])}</td>"
            f"<td class='num'>{c['offending']}</td></tr>"
        )
    out.append("</table>")
    out.append(
        "<h2>Money</h2><table>"
        + "".join(
            f"<tr><td>{escape(k)}</td><td class='num'>{_money(v)}</td></tr>" for k, v in money_rows
        )
        + "</table>"
    )
    summary = f["redemption_summary"]
    oldest = summary["oldest_unpaid"]
    out.append(
        f"<p>{summary['paid']} redemptions paid, {summary['unpaid']} unpaid"
        + (
            f"; the oldest unpaid is no. {oldest['id']} ({_money(oldest['amount'])}), "
            f"waiting {oldest['age_days']} days."
            if oldest
            else "."
        )
        + "</p>"
    )
    charts = [
        ("Supply over time (end of day)", line_chart([(d, v) for d, v in f["supply_by_day"]])),
        ("Rewards per month", bar_chart(list(f["rewards_by_month"].items()))),
    ]
    if f["rewards_by_neighbourhood"] is not None:
        charts.append(
            ("Rewards per neighbourhood", bar_chart(list(f["rewards_by_neighbourhood"].items())))
        )
    merchants = f["payments_by_merchant"][:20]
    charts.append(
        (
            "Payments per merchant" + (" (top 20)" if len(f["payments_by_merchant"]) > 20 else ""),
            bar_chart([(_short(m["merchant"]), m["amount"]) for m in merchants]),
        )
    )
    charts.append(
        (
            "Redemption lead times (request to payout)",
            bar_chart(_histogram(summary["lead_time_days"]["values"]), money=False),
        )
    )
    out.append("<h2>Charts</h2><div class='charts'>")
    for title, svg in charts:
        out.append(f"<div class='chart'><h3>{escape(title)}</h3>{svg}</div>")
    out.append("</div>")
    for c in checks:
        out.append(
            f"<h2 id='check-{c['name']}'>{escape(c['title'])}: "
            f"<span class='{c['status']}'>{escape(c['status'])}</span></h2>"
        )
        out.append(f"<p>{escape(c['verifies'])}.</p>")
        for note in c["notes"]:
            out.append(f"<p>{escape(note)}</p>")
        if c["offending"]:
            out.append(f"<p>{c['offending']} offending record(s):</p>")
            out.append(_table(c["records"], SHOWN))
    out.append("<h2>Minters</h2>" + _table(f["minters"]))
    out.append("<h2>Yearly cap</h2>" + _table(f["yearly_cap"]["history"]))
    out.append(_table([{"year": y, **v} for y, v in f["yearly_cap"]["highest_per_year"].items()]))
    out.append("<h2>Role history</h2>" + _table(report["tables"]["role_history"]))
    out.append("<h2>Admin actions, in order</h2>" + _table(report["tables"]["admin_actions"], 500))
    out.append("<h2>Redemptions</h2>" + _table(report["tables"]["redemption_list"], 500))
    out.append("</body></html>")
    return "\n".join(out)
