"""The municipality's look: its name and colour in the web app's header, buttons and links,
and in the installed app's manifest (`HEITJE_API_MUNICIPALITY_NAME`,
`HEITJE_API_BRAND_COLOUR`).

The colour is the background of the header and of the main buttons, under white text, and
the colour of links and secondary buttons on white; so it must contrast with white by at
least 4.5 to 1 (WCAG 2.1 AA for normal text). A lighter colour is refused at start-up with
the contrast it has and a darker shade that would do.

A logo (`HEITJE_API_BRAND_LOGO`: a PNG or SVG file of at most 256 KB) replaces the Heitje
icon in the header; it is read once at start-up and served at `/config/logo`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

#: WCAG AA for normal text
MIN_CONTRAST = 4.5
DEFAULT_COLOUR = "#0b4f8a"
DEFAULT_NAME = "Gemeente Heerlen"
_HEX = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")


MAX_LOGO_BYTES = 256 * 1024
LOGO_TYPES = {".png": "image/png", ".svg": "image/svg+xml"}


@dataclass(frozen=True)
class Logo:
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Brand:
    municipality: str = DEFAULT_NAME
    colour: str = DEFAULT_COLOUR
    logo: Logo | None = None


def read_logo(path: Path) -> Logo:
    """The logo file at `path`, checked: a PNG or an SVG, not empty, at most 256 KB."""
    content_type = LOGO_TYPES.get(path.suffix.lower())
    if content_type is None:
        raise ValueError(f"{path} is not a .png or .svg file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    if not data or len(data) > MAX_LOGO_BYTES:
        raise ValueError(f"{path} must hold 1 byte to {MAX_LOGO_BYTES // 1024} KB")
    if content_type == "image/png" and not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError(f"{path} is not a PNG image")
    if content_type == "image/svg+xml" and b"<svg" not in data[:4096]:
        raise ValueError(f"{path} is not an SVG image")
    return Logo(content_type, data)


def parse_colour(text: str) -> str:
    """A colour written `#RRGGBB` or `#RGB` (the `#` may be left out), as `#rrggbb`."""
    match = _HEX.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a colour like #0b4f8a")
    digits = match.group(1).lower()
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return "#" + digits


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    """WCAG's relative luminance of `#rrggbb`."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(first: str, second: str) -> float:
    """WCAG's contrast ratio of two colours (1 to 21)."""
    a, b = sorted((luminance(first), luminance(second)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def darker_shade(colour: str) -> str:
    """The lightest shade of `colour` (its channels scaled down) that passes against white."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    for step in range(100, -1, -1):
        shade = "#" + "".join(f"{round(c * step / 100):02x}" for c in (r, g, b))
        if contrast(shade, "#ffffff") >= MIN_CONTRAST:
            return shade
    return "#000000"


def brand_colour_problem(colour: str) -> str | None:
    """Why `colour` (`#rrggbb`) cannot be the brand colour, or None."""
    ratio = contrast(colour, "#ffffff")
    if ratio >= MIN_CONTRAST:
        return None
    return (
        f"{colour} has a contrast of {ratio:.2f}:1 with white text; at least {MIN_CONTRAST}:1 "
        f"is needed (WCAG AA) so everyone can read the header and buttons. A darker shade "
        f"such as {darker_shade(colour)} would do"
    )
