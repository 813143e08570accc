"""Photos of finished jobs: checked to be a JPEG or PNG image, and stripped of the metadata a
phone writes into them (GPS position, camera serial number, owner name, time) before they are
stored. A JPEG keeps only its orientation, so it still shows the right way up.

Only the container is rewritten, never the pixels: the image data the resident sent is stored
byte for byte. Only the first image is kept: whatever follows a JPEG's end-of-image marker
(the second image of a multi-picture file, MPF, with its own metadata) or a PNG's IEND chunk
is dropped. Anything that does not parse as a whole JPEG or PNG is refused.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass

#: The largest photo accepted, in bytes (a phone photo is 2-5 MB).
MAX_BYTES = 8 * 1024 * 1024

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: PNG chunks kept: the critical ones and those that change how the pixels look.
_PNG_KEEP = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP"}
_PNG_KEEP |= {b"sBIT", b"pHYs", b"bKGD", b"acTL", b"fcTL", b"fdAT", b"cICP"}
_JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RSTn carry no length


class PhotoError(ValueError):
    """The upload is not a photo this service can keep; the message says why in plain words."""


class PhotoTooLarge(PhotoError):
    pass


@dataclass(frozen=True)
class Photo:
    content_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def clean_photo(data: bytes) -> Photo:
    """The photo with its metadata removed, or PhotoError."""
    if not data:
        raise PhotoError("the photo is empty")
    if len(data) > MAX_BYTES:
        raise PhotoTooLarge(f"the photo is larger than {MAX_BYTES // (1024 * 1024)} MB")
    if data.startswith(b"\xff\xd8\xff"):
        return Photo("image/jpeg", _clean_jpeg(data))
    if data.startswith(_PNG_SIGNATURE):
        return Photo("image/png", _clean_png(data))
    raise PhotoError("this is not a photo: send a JPEG or PNG image")


def _clean_jpeg(data: bytes) -> bytes:
    """The first image of the file, segment by segment, up to and including its end-of-image
    marker. What follows that marker is dropped: the second image of a multi-picture file
    (MPF: how phones store depth maps, HDR gain maps and previews, each with its own EXIF) or
    anything appended. A segment is skipped by its length, so a thumbnail inside EXIF (with
    its own FFD8...FFD9) does not end the image; the scans' entropy-coded data is read to the
    next real marker (FF00 is a stuffed FF byte, FFD0-FFD7 are restart markers inside it)."""
    out = bytearray(b"\xff\xd8")
    pos = 2
    orientation: int | None = None
    scanned = False
    while True:
        if pos + 2 > len(data) or data[pos] != 0xFF:
            raise PhotoError("the JPEG photo is damaged or cut off")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _JPEG_STANDALONE:
            out += data[pos : pos + 2]
            pos += 2
            continue
        if marker == 0xD9:  # end of image: keep it, drop everything after it
            if not scanned:
                raise PhotoError("the JPEG photo is damaged or cut off: it has no image data")
            if orientation not in (None, 1):
                out[2:2] = _exif_segment(orientation)
            return bytes(out + b"\xff\xd9")
        if marker == 0xD8 or pos + 4 > len(data):
            raise PhotoError("the JPEG photo is damaged or cut off")
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        end = pos + 2 + length
        if length < 2 or end > len(data):
            raise PhotoError("the JPEG photo is damaged or cut off")
        body = data[pos + 4 : end]
        if marker == 0xE1 and body.startswith(b"Exif\x00\x00"):
            orientation = _exif_orientation(body[6:]) or orientation
        elif marker == 0xDA:  # start of scan: its header, then the pixels as they are
            scanned = True
            out += data[pos:end]
            pos = _scan_end(data, end)
            out += data[end:pos]
            continue
        # Keep what decoding needs: tables, frame headers, JFIF (APP0), the colour profile
        # (APP2 ICC_PROFILE) and Adobe's colour transform (APP14). Drop the rest: EXIF, XMP,
        # IPTC, MPF (the index of the other images), comments, makers' notes.
        keep = (
            (not 0xE0 <= marker <= 0xEF and marker != 0xFE)
            or marker == 0xE0
            or (marker == 0xE2 and body.startswith(b"ICC_PROFILE\x00"))
            or (marker == 0xEE and body.startswith(b"Adobe"))
        )
        if keep:
            out += data[pos:end]
        pos = end


def _scan_end(data: bytes, pos: int) -> int:
    """Where the entropy-coded data from `pos` ends: at the first marker that is neither a
    stuffed byte (FF00), a restart marker (FFD0-FFD7) nor fill (FF FF ...)."""
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            raise PhotoError("the JPEG photo is damaged or cut off")
        following = data[pos + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            pos += 2
        elif following == 0xFF:
            pos += 1
        else:
            return pos


def _exif_orientation(tiff: bytes) -> int | None:
    """The Orientation tag (0x0112) of IFD0, if the EXIF block is readable."""
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return None
    order = "<" if tiff[:2] == b"II" else ">"
    (ifd,) = struct.unpack(order + "I", tiff[4:8])
    if ifd + 2 > len(tiff):
        return None
    (count,) = struct.unpack(order + "H", tiff[ifd : ifd + 2])
    for i in range(count):
        entry = tiff[ifd + 2 + 12 * i : ifd + 14 + 12 * i]
        if len(entry) < 12:
            return None
        tag, kind = struct.unpack(order + "HH", entry[:4])
        if tag == 0x0112 and kind == 3:
            (value,) = struct.unpack(order + "H", entry[8:10])
            return value if 1 <= value <= 8 else None
    return None


def _exif_segment(orientation: int) -> bytes:
    """A minimal EXIF block holding only the orientation."""
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8)
    tiff += struct.pack(">H", 1) + struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)
    tiff += struct.pack(">I", 0)
    body = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def _clean_png(data: bytes) -> bytes:
    out = bytearray(_PNG_SIGNATURE)
    pos = len(_PNG_SIGNATURE)
    first = True
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            break
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(data[pos + 4 : end - 4]) != crc:
            raise PhotoError("the PNG photo is damaged")
        if first and kind != b"IHDR":
            break
        first = False
        if kind in _PNG_KEEP:
            out += data[pos:end]
        if kind == b"IEND":
            return bytes(out)
        pos = end
    raise PhotoError("the PNG photo is damaged or cut off")
