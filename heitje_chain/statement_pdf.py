"""The annual statement (jaaropgave) as a PDF to print or keep, with a QR code that opens the
public verification page.

    from heitje_chain.statement_pdf import render_pdf, verify_url
    url = verify_url("https://heitje.heerlen.nl", statement)
    pdf = render_pdf(statement, "nl", url)          # bytes

The PDF carries the same figures as the statement's JSON (heitje_chain.statements), its
block number and hash, the resident's wallet and the digest; the whole statement travels
inside it as an attached file (heitje-statement.json), so `heitje statements --verify` reads
a PDF as it reads the HTML page. The QR code holds only what the verification needs (year,
wallet, block, digest), so it stays small enough to scan from paper.

`labels` (optional) names what the chain knows only by hash: a job id (hex) -> the job's title,
an issuer's or shop's address (lowercase) -> its name. Labels are printed beside the chain's
values and are no part of the digest.

fpdf2 writes the PDF (pure Python) with its built-in Helvetica, which covers Latin-1: the euro
sign is written as "EUR" and any other character outside Latin-1 as "?".
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

import segno
from fpdf import FPDF

from heitje_chain.statements import _WORDS, money

#: The attachment holding the statement's JSON.
ATTACHMENT = "heitje-statement.json"
#: The web app's verification page, under a site's address.
VERIFY_PATH = "/app/#/openbaar/verifieer"

_PDF_WORDS = {
    "nl": {
        "date": "datum",
        "job": "klus",
        "issuer": "uitgever",
        "shop": "winkel",
        "scan": "Scan de code of open het adres hieronder: de openbare pagina rekent de "
        "bedragen opnieuw uit de blockchain en zegt of deze opgave klopt.",
        "page": "Pagina",
        "of": "van",
        "wallet_time": "Alle tijden in UTC.",
    },
    "en": {
        "date": "date",
        "job": "job",
        "issuer": "issuer",
        "shop": "shop",
        "scan": "Scan the code or open the address below: the public page computes the "
        "amounts again from the blockchain and says whether this statement is right.",
        "page": "Page",
        "of": "of",
        "wallet_time": "All times in UTC.",
    },
}


def verify_url(site: str, statement: dict[str, Any]) -> str:
    """The public verification page's address for `statement` (short enough for a QR code
    on paper: about 200 characters)."""
    query = urlencode(
        {
            "j": statement["year"],
            "a": statement["address"],
            "b": statement["block"],
            "d": statement["digest"],
        }
    )
    return f"{site.rstrip('/')}{VERIFY_PATH}?{query}"


def qr_png(text: str, scale: int = 6) -> bytes:
    """`text` as a QR code (error correction M), a PNG image."""
    out = io.BytesIO()
    segno.make_qr(text, error="m").save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def _latin(text: str) -> str:
    return text.replace("€", "EUR").encode("latin-1", "replace").decode("latin-1")


def _short(value: str) -> str:
    return value if len(value) <= 20 else f"{value[:10]}...{value[-6:]}"


def _amount(cents: int, lang: str) -> str:
    return _latin(money(cents, lang))


class _Pdf(FPDF):
    def __init__(self, footer_text: str, lang: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self._footer_text = footer_text
        self._lang = lang

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=7)
        self.set_text_color(90, 90, 90)
        w = _PDF_WORDS[self._lang]
        self.cell(0, 4, _latin(f"{self._footer_text} - {w['page']} {self.page_no()}"))
        self.set_text_color(0, 0, 0)


def render_pdf(
    statement: dict[str, Any],
    lang: str = "nl",
    url: str | None = None,
    labels: dict[str, str] | None = None,
) -> bytes:
    """The statement as an A4 PDF (bytes): totals, every reward, the payments and refunds,
    and the verification block with `url` as a QR code (none without `url`)."""
    if lang not in _WORDS:
        raise ValueError(f"the statement's language is nl or en, not {lang!r}")
    w = _WORDS[lang] | _PDF_WORDS[lang]
    s = statement
    labels = labels or {}
    pdf = _Pdf(f"{w['title']} {s['year']} - {s['address']}", lang)
    pdf.set_title(_latin(f"{w['title']} {s['year']}"))
    pdf.set_creator("Heitje")
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 9, _latin(f"{w['title']} {s['year']}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    pdf.cell(0, 5, _latin(f"{w['resident']}:"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Courier", size=9)
    pdf.cell(0, 5, s["address"], new_x="LMARGIN", new_y="NEXT")
    others = [x for x in s["wallets"] if x != s["address"]]
    if others:
        pdf.set_font("Helvetica", size=9)
        pdf.cell(0, 5, _latin(f"{w['wallets']}:"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Courier", size=9)
        for other in others:
            pdf.cell(0, 5, other, new_x="LMARGIN", new_y="NEXT")
    if not s["complete"]:
        pdf.set_font("Helvetica", "B", 9)
        pdf.multi_cell(0, 5, _latin(w["incomplete"]), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    # The totals.
    pdf.set_font("Helvetica", size=10)
    for key in ("earned", "cap", "cap_left", "spent", "refunded", "net_spent"):
        bold = "B" if key in ("earned", "net_spent") else ""
        pdf.set_font("Helvetica", bold, 10)
        pdf.cell(80, 6, _latin(w[key]), border="B")
        pdf.cell(40, 6, _amount(s[key], lang), border="B", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=8)
    pdf.ln(1)
    pdf.multi_cell(0, 4, _latin(f"{w['note']} {w['wallet_time']}"), new_x="LMARGIN", new_y="NEXT")

    def table(title: str, heads: Sequence[tuple[str, float, str]], rows: list[list[str]]) -> None:
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(0, 7, _latin(title), new_x="LMARGIN", new_y="NEXT")
        if not rows:
            pdf.set_font("Helvetica", "I", 9)
            pdf.cell(0, 5, _latin(w["none"]), new_x="LMARGIN", new_y="NEXT")
            return
        pdf.set_font("Helvetica", "B", 8)
        pdf.set_fill_color(236, 239, 242)
        for head, width, align in heads:
            pdf.cell(width, 5, _latin(head), border=1, align=align, fill=True)
        pdf.ln()
        pdf.set_font("Helvetica", size=8)
        for row in rows:
            for (_, width, align), value in zip(heads, row, strict=True):
                pdf.cell(width, 5, fit(_latin(value), width - 2), border=1, align=align)
            pdf.ln()

    def fit(text: str, width: float) -> str:
        """`text` cut to `width` (mm) at the current font, ending in "..." when cut."""
        if pdf.get_string_width(text) <= width:
            return text
        while text and pdf.get_string_width(text + "...") > width:
            text = text[:-1]
        return text.rstrip() + "..."

    def who(address: str) -> str:
        name = labels.get(address.lower())
        return f"{name} ({_short(address)})" if name else _short(address)

    def job(job_id: str) -> str:
        name = labels.get(job_id.lower())
        return f"{name} ({_short(job_id)})" if name else _short(job_id)

    table(
        w["rewards"],
        [(w["date"], 24, "L"), (w["job"], 78, "L"), (w["issuer"], 60, "L"), (w["amount"], 28, "R")],
        [
            [r["time"][:10], job(r["job_id"]), who(r["minter"]), _amount(r["amount"], lang)]
            for r in s["rewards"]
        ],
    )
    shop_heads = [
        (w["date"], 24, "L"),
        (w["shop"], 88, "L"),
        (w["receipt"], 50, "L"),
        (w["amount"], 28, "R"),
    ]
    table(
        w["payments"],
        shop_heads,
        [
            [r["time"][:10], who(r["merchant"]), r["receipt"], _amount(r["amount"], lang)]
            for r in s["payments"]
        ],
    )
    table(
        w["refunds"],
        shop_heads,
        [
            [r["time"][:10], who(r["merchant"]), r["receipt"], _amount(r["amount"], lang)]
            for r in s["refunds"]
        ],
    )
    if s["recoveries"]:
        table(
            w["recoveries"],
            [
                (w["date"], 24, "L"),
                (w["lost"], 55, "L"),
                (w["replacement"], 55, "L"),
                (w["amount"], 28, "R"),
                (w["carried"], 28, "R"),
            ],
            [
                [
                    r["time"][:10],
                    _short(r["lost"]),
                    _short(r["replacement"]),
                    _amount(r["amount"], lang),
                    _amount(r["carried"], lang),
                ]
                for r in s["recoveries"]
            ],
        )

    # The verification block, kept on one page.
    if pdf.get_y() > 297 - 16 - 84:
        pdf.add_page()
    pdf.ln(5)
    top = pdf.get_y()
    pdf.set_line_width(0.5)
    pdf.rect(10, top, 190, 78)
    pdf.set_line_width(0.2)
    pdf.set_xy(14, top + 3)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 6, _latin(w["verification"]), new_x="LMARGIN", new_y="NEXT")
    text_width = 128 if url else 182
    pdf.set_x(14)
    pdf.set_font("Helvetica", size=8)
    pdf.multi_cell(text_width, 4, _latin(w["verify_text"]), new_x="LMARGIN", new_y="NEXT")
    meta = [
        (w["block"], str(s["block"])),
        (w["block_hash"], s["block_hash"]),
        (w["block_time"], s["block_time"]),
        (w["resident"], s["address"]),
        (w["contract"], s["contract"]),
        (w["chain_id"], str(s["chain_id"])),
        (w["digest"], s["digest"]),
    ]
    for key, value in meta:
        pdf.set_x(14)
        pdf.set_font("Helvetica", "B", 7)
        pdf.cell(text_width, 3.6, _latin(key), new_x="LMARGIN", new_y="NEXT")
        pdf.set_x(14)
        pdf.set_font("Courier", size=6.5)
        pdf.cell(text_width, 3.6, value, new_x="LMARGIN", new_y="NEXT")
    if url:
        pdf.image(io.BytesIO(qr_png(url)), x=148, y=top + 4, w=48, h=48)
        pdf.set_xy(146, top + 53)
        pdf.set_font("Helvetica", size=6.5)
        pdf.multi_cell(52, 3, _latin(w["scan"]))
        pdf.set_xy(14, top + 78 - 8)
        pdf.set_font("Courier", size=5.5)
        pdf.multi_cell(182, 2.6, _latin(url))
    pdf.embed_file(
        basename=ATTACHMENT,
        bytes=json.dumps(s, sort_keys=True, default=str).encode(),
        desc="the statement's data (JSON), for heitje statements --verify",
        compress=True,
    )
    return bytes(pdf.output())


def read_pdf_statement(data: bytes) -> dict[str, Any] | None:
    """The statement attached to a PDF of `render_pdf` (None when it has none)."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    for name, contents in reader.attachments.items():
        if name == ATTACHMENT and contents:
            found = json.loads(contents[0])
            return found if isinstance(found, dict) else None
    return None
