"""Text people type into the service: names, pseudonyms, titles, neighbourhoods, receipts,
references (one line) and descriptions, notes and reasons (several lines).

Every such text is
- **NFC-normalised**, so `é` typed as one character or as `e` + accent is the same text;
- **refused (422) when it holds an invisible or control character**: control characters
  (Unicode category Cc: NUL, escape sequences, and in one-line texts also newlines and tabs),
  format characters (Cf: the zero-width space U+200B, the zero-width joiner outside an emoji,
  the soft hyphen, the byte-order mark, and the bidi embeddings, overrides and isolates
  U+202A-U+202E, U+2066-U+2069 that reverse how text is shown), line and paragraph separators
  (U+2028, U+2029), private-use, surrogate and unassigned code points, and the few letters and
  marks that show as nothing (the Hangul fillers such as U+3164, the combining grapheme joiner).
  The message names the character, so the person can remove it;
- in one line, **its spaces folded**: every Unicode space (the no-break space U+00A0, thin and
  ideographic spaces...) becomes a plain space, runs of spaces become one, and the ends are
  trimmed. A pseudonym, a shop code or a receipt number with a no-break space is therefore the
  same as one with a plain space: folded, not refused;
- in several lines, `\\r\\n` and `\\r` become `\\n`, a tab becomes a space, and the ends are
  trimmed.

Pseudonyms must also not be confusable with a resident's pseudonym already taken: `skeleton`
gives the form two pseudonyms share when they look alike (a documented fold after Unicode
TR39's skeleton: NFKC, the common look-alike letters of Cyrillic, Greek and Latin to Latin,
capital I and digit 1 to l, digit 0 to o, rn to m, vv to w, all dashes to `-`, variation
selectors dropped, then case folded), and `check_pseudonym_free` refuses a new pseudonym
whose skeleton is taken.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.errors import ApiError
from api.models import Resident

#: Categories refused everywhere: control, format, separators of lines and paragraphs,
#: private use, surrogates, unassigned.
_REFUSED = {"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"}
_ZWJ = "\u200d"
#: Characters of other categories that show as nothing (default-ignorable in Unicode): the
#: combining grapheme joiner, the Hangul fillers, Khmer's invisible vowels, Mongolian's
#: variation selectors.
_BLANK = frozenset("\u034f\u115f\u1160\u3164\uffa0\u17b4\u17b5\u180b\u180c\u180d\u180f")
#: Variation selectors choose how the character before them looks (an emoji in colour); a
#: text may have them, a skeleton does not.
_VARIATION = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")
_SPACES = re.compile(r" +")

_NAMES = {
    "\u0000": "a NUL character",
    "\u001b": "an escape character",
    "\u00ad": "a soft hyphen",
    "\u200b": "a zero-width space",
    "\u200c": "a zero-width non-joiner",
    "\u200d": "a zero-width joiner",
    "\u200e": "a left-to-right mark",
    "\u200f": "a right-to-left mark",
    "\u2060": "a word joiner",
    "\ufeff": "a byte-order mark",
    "\t": "a tab",
    "\n": "a new line",
    "\r": "a carriage return",
}


def _describe(char: str) -> str:
    code = f"U+{ord(char):04X}"
    if char in _NAMES:
        return f"{_NAMES[char]} ({code})"
    if char in _BLANK:
        return f"an invisible character ({code})"
    if "\u202a" <= char <= "\u202e" or "\u2066" <= char <= "\u2069":
        return f"a text-direction control ({code})"
    name = unicodedata.name(char, "")
    return f"{name.lower()} ({code})" if name else f"the character {code}"


def _refuse_invisible(text: str, allowed: str = "") -> None:
    for i, char in enumerate(text):
        if char in allowed or (unicodedata.category(char) not in _REFUSED and char not in _BLANK):
            continue
        if char == _ZWJ and allowed == "\n" and _emoji_join(text, i):
            continue  # inside an emoji such as a family or a flag, in a note
        if char in "\n\r\t":
            raise ValueError(f"must be one line: it contains {_describe(char)}")
        raise ValueError(
            f"contains {_describe(char)}, which is invisible or changes how the text is "
            "shown: remove it (retype the text if you cannot see it)"
        )


def _emoji_join(text: str, i: int) -> bool:
    """A zero-width joiner between two symbols (how emoji sequences are written)."""
    before, after = text[i - 1 : i], text[i + 1 : i + 2]
    symbol = {"So", "Sk"}
    return (
        bool(before)
        and bool(after)
        and (unicodedata.category(before) in symbol or before == "\ufe0f")
        and unicodedata.category(after) in symbol
    )


def one_line(text: str) -> str:
    """`text` as one line: NFC, spaces folded and trimmed; `ValueError` for an invisible or
    control character (a new line or tab too)."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(" " if unicodedata.category(c) == "Zs" else c for c in text)
    _refuse_invisible(text)
    return _SPACES.sub(" ", text).strip()


def several_lines(text: str) -> str:
    """`text` with its lines: NFC, new lines as `\\n`, tabs as spaces, ends trimmed;
    `ValueError` for any other invisible or control character."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\t", " ")
    _refuse_invisible(text, allowed="\n")
    return text.strip()


class _Cleaned:
    """The validator of a text type: `clean` it, then check its length."""

    def __init__(self, clean: Callable[[str], str], min_length: int, max_length: int) -> None:
        self.clean, self.min_length, self.max_length = clean, min_length, max_length

    def __call__(self, value: str) -> str:
        text = self.clean(value)
        if len(text) < self.min_length:
            raise ValueError("must not be empty" if self.min_length == 1 else "is too short")
        if len(text) > self.max_length:
            raise ValueError(f"is longer than {self.max_length} characters")
        return text


def one_line_of(min_length: int, max_length: int) -> Any:
    """The checks of a one-line text of `min_length` to `max_length` characters, for
    `Annotated[str, ...]` (with a `StringConstraints` of the same lengths, which bound the
    text before it is cleaned and describe it in the OpenAPI document)."""
    return AfterValidator(_Cleaned(one_line, min_length, max_length))


def several_lines_of(min_length: int, max_length: int) -> Any:
    """The same for a text of several lines."""
    return AfterValidator(_Cleaned(several_lines, min_length, max_length))


# ------------------------------------------------------------------ pseudonyms

#: Letters that look like a Latin letter, to that letter (before case folding, so a capital
#: that looks like a Latin capital maps to it): Cyrillic, Greek, Armenian and Latin variants,
#: by their Unicode names (so this file shows no look-alike itself).
_LOOK_ALIKE_NAMES = {
    "CYRILLIC CAPITAL LETTER": {
        "A": "A", "VE": "B", "ES": "C", "IE": "E", "EN": "H", "KA": "K", "EM": "M", "O": "O",
        "ER": "P", "TE": "T", "HA": "X", "U": "Y", "DZE": "S", "JE": "J", "QA": "Q", "WE": "W",
        "STRAIGHT U": "Y", "SHHA": "h", "BYELORUSSIAN-UKRAINIAN I": "l", "KOMI DE": "d",
    },
    "CYRILLIC SMALL LETTER": {
        "A": "a", "VE": "b", "ES": "c", "IE": "e", "EN": "h", "KA": "k", "EM": "m", "O": "o",
        "ER": "p", "TE": "t", "HA": "x", "U": "y", "DZE": "s", "JE": "j", "QA": "q", "WE": "w",
        "STRAIGHT U": "y", "SHHA": "h", "BYELORUSSIAN-UKRAINIAN I": "i", "KOMI DE": "d",
        "IZHITSA": "v", "PALOCHKA": "l",
    },
    "CYRILLIC LETTER": {"PALOCHKA": "l"},
    "GREEK CAPITAL LETTER": {
        "ALPHA": "A", "BETA": "B", "EPSILON": "E", "ZETA": "Z", "ETA": "H", "IOTA": "l",
        "KAPPA": "K", "MU": "M", "NU": "N", "OMICRON": "O", "RHO": "P", "TAU": "T",
        "UPSILON": "Y", "CHI": "X",
    },
    "GREEK SMALL LETTER": {
        "ALPHA": "a", "OMICRON": "o", "RHO": "p", "NU": "v", "IOTA": "i", "KAPPA": "k",
        "TAU": "t", "UPSILON": "u", "CHI": "x", "GAMMA": "y", "OMEGA": "w", "EPSILON": "e",
        "ETA": "n",
    },
    "ARMENIAN SMALL LETTER": {"OH": "o", "SEH": "u", "CO": "g"},
    "LATIN SMALL LETTER": {"DOTLESS I": "i", "ALPHA": "a", "SCRIPT G": "g"},
}  # fmt: skip
_LOOK_ALIKE = str.maketrans(
    {
        unicodedata.lookup(f"{script} {letter}"): latin
        for script, letters in _LOOK_ALIKE_NAMES.items()
        for letter, latin in letters.items()
    }
    # Digits and marks that look like letters, and capital I like small l.
    | {"0": "o", "1": "l", "I": "l", "|": "l", "!": "l"}
)
_DASHES = re.compile(r"[\u2010-\u2015\u2212\u2043\ufe58\ufe63\uff0d\u058a\u05be]")


def skeleton(text: str) -> str:
    """The form two pseudonyms share when they look alike (see the module's docstring)."""
    text = _VARIATION.sub("", unicodedata.normalize("NFKC", text))
    text = unicodedata.normalize("NFD", text).translate(_LOOK_ALIKE)
    text = _DASHES.sub("-", text).casefold().translate(_LOOK_ALIKE)
    text = text.replace("rn", "m").replace("vv", "w")
    return unicodedata.normalize("NFC", " ".join(text.split()))


def check_pseudonym_free(session: Session, pseudonym: str) -> None:
    """`ApiError` 409 `pseudonym_taken` when a resident's pseudonym looks like `pseudonym`
    (the same skeleton): `HRL-0001` against `HRL-OOO1`, `hrl-0001` or one in Cyrillic.
    (Two sign-ups at the same moment are not compared with each other.)"""
    wanted = skeleton(pseudonym)
    for (taken,) in session.execute(select(Resident.pseudonym)):
        if skeleton(taken) == wanted:
            raise ApiError(
                409,
                "pseudonym_taken",
                "this pseudonym is taken, or looks too much like one that is: choose another",
            )


#: The reusable text types of the request models (api.schemas).
Name = Annotated[str, StringConstraints(min_length=1, max_length=120), one_line_of(1, 120)]
Short = Annotated[str, StringConstraints(min_length=1, max_length=64), one_line_of(1, 64)]
Text = Annotated[str, StringConstraints(max_length=2000), several_lines_of(0, 2000)]
#: A receipt number or a bank's payment reference.
Reference = Annotated[str, StringConstraints(min_length=1, max_length=32), one_line_of(1, 32)]
#: A shop's code (on its sticker).
Code = Annotated[str, StringConstraints(min_length=4, max_length=12), one_line_of(4, 12)]
#: A unique id an app makes per payment or refund.
RequestId = Annotated[str, StringConstraints(min_length=8, max_length=64), one_line_of(8, 64)]
#: Why something was done, in a few lines (a recovery).
Reason = Annotated[str, StringConstraints(min_length=3, max_length=500), several_lines_of(3, 500)]
