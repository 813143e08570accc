"""Photos of finished jobs: only whole JPEG and PNG images are kept, without the location,
camera and time details a phone writes into them; the pixels stay exactly as sent."""

from __future__ import annotations

import io
import zlib

import pytest
from PIL import Image, ImageCms
from support.service import PASSWORD, Service, post_job, setup_people

from api.photos import MAX_BYTES, PhotoError, PhotoTooLarge, clean_photo

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def picture() -> Image.Image:
    image = Image.new("RGB", (64, 48))
    image.putdata([(x * 4, y * 5, (x * y) % 256) for y in range(48) for x in range(64)])
    return image


def phone_jpeg(orientation: int = 6) -> bytes:
    """A JPEG as a phone writes it: EXIF with GPS position, make, model, owner and time, an
    XMP packet, a comment and a colour profile."""
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Model X"  # Model
    exif[0x013B] = "Jan Jansen"  # Artist
    exif[0x0132] = "2026:11:23 10:00:00"  # DateTime
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (50.0, 53.0, 17.0), 3: "E", 4: (5.0, 58.0, 50.0)})
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    picture().save(out, "JPEG", quality=90, exif=exif, icc_profile=srgb, comment=b"Jan's phone")
    data = out.getvalue()
    xmp = b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>GPS 50.88</x:xmpmeta>"
    segment = b"\xff\xe1" + (len(xmp) + 2).to_bytes(2, "big") + xmp
    return data[:2] + segment + data[2:]


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")


def phone_png() -> bytes:
    out = io.BytesIO()
    picture().save(out, "PNG")
    data = out.getvalue()
    extra = png_chunk(b"tEXt", b"Author\x00Jan Jansen") + png_chunk(b"eXIf", b"MM\x00*GPS")
    return data[:33] + extra + data[33:]  # after the signature and IHDR


def test_a_jpeg_keeps_its_pixels_and_orientation_and_loses_the_rest() -> None:
    original = phone_jpeg()
    photo = clean_photo(original)
    assert photo.content_type == "image/jpeg" and len(photo.sha256) == 64
    for secret in (b"PhoneMaker", b"Model X", b"Jan Jansen", b"Jan's phone", b"xmpmeta"):
        assert secret in original and secret not in photo.data
    cleaned = Image.open(io.BytesIO(photo.data))
    assert cleaned.tobytes() == Image.open(io.BytesIO(original)).tobytes()  # same pixels
    exif = cleaned.getexif()
    assert dict(exif) == {ORIENTATION: 6} and not exif.get_ifd(GPS_IFD)
    assert cleaned.info.get("icc_profile")  # the colour profile stays
    # Upright already: no EXIF at all.
    upright = clean_photo(phone_jpeg(orientation=1))
    assert b"Exif" not in upright.data
    assert clean_photo(photo.data).data == photo.data  # cleaning twice changes nothing


def test_a_png_keeps_its_pixels_and_loses_text_and_exif() -> None:
    original = phone_png()
    photo = clean_photo(original)
    assert photo.content_type == "image/png"
    assert b"Jan Jansen" in original and b"Jan Jansen" not in photo.data
    assert b"eXIf" not in photo.data
    assert Image.open(io.BytesIO(photo.data)).tobytes() == picture().tobytes()


def phone_mpo() -> bytes:
    """A multi-picture JPEG (MPF, as phones store a depth map or an HDR gain map), written by
    Pillow: two whole JPEGs one after the other, each with the phone's EXIF (GPS, make,
    owner), and an MPF index in the first one's APP2."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x013B] = "Jan Jansen"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (50.0, 53.0, 17.0), 3: "E", 4: (5.0, 58.0, 50.0)})
    second = Image.new("RGB", (32, 24), (200, 10, 10))
    out = io.BytesIO()
    picture().save(out, "MPO", save_all=True, append_images=[second], exif=exif)
    return out.getvalue()


def test_a_multi_picture_jpeg_keeps_only_its_first_image() -> None:
    original = phone_mpo()
    assert Image.open(io.BytesIO(original)).format == "MPO"
    assert original.count(b"PhoneMaker") == 2  # both images carry the metadata
    photo = clean_photo(original)
    for secret in (b"PhoneMaker", b"Jan Jansen", b"MPF\x00"):
        assert secret not in photo.data
    assert photo.data.count(b"\xff\xd8") == 1 and photo.data.endswith(b"\xff\xd9")
    cleaned = Image.open(io.BytesIO(photo.data))
    assert cleaned.format == "JPEG" and getattr(cleaned, "n_frames", 1) == 1
    assert cleaned.size == (64, 48)
    assert cleaned.tobytes() == Image.open(io.BytesIO(original)).tobytes()  # the first image
    assert clean_photo(photo.data).data == photo.data


def test_data_after_the_end_of_the_image_is_dropped() -> None:
    tail = b"Jan Jansen, 50.88N 5.98E" + b"\xff\xd8\xff\xe1secret"
    jpeg = phone_jpeg()
    assert clean_photo(jpeg + tail).data == clean_photo(jpeg).data
    png = phone_png()
    assert clean_photo(png + tail).data == clean_photo(png).data
    assert b"Jan Jansen" not in clean_photo(png + tail).data


def exif_with_thumbnail() -> bytes:
    """An APP1 EXIF segment holding a whole JPEG thumbnail (its own FFD8 ... FFD9), as phones
    write one."""
    small = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(small, "JPEG", comment=b"thumbnail")
    tiff = b"MM\x00\x2a" + (8).to_bytes(4, "big") + (0).to_bytes(2, "big") + bytes(4)
    body = b"Exif\x00\x00" + tiff + small.getvalue()
    return b"\xff\xe1" + (len(body) + 2).to_bytes(2, "big") + body


@pytest.mark.parametrize(
    "options",
    [{}, {"progressive": True}, {"restart_marker_blocks": 1}, {"restart_marker_rows": 1}],
)
def test_the_first_image_is_found_by_its_segments_not_by_searching(
    options: dict[str, object],
) -> None:
    """A thumbnail's end-of-image marker inside EXIF, restart markers (FFD0-FFD7) and several
    scans with tables between them (progressive) do not end the image early."""
    out = io.BytesIO()
    picture().save(out, "JPEG", quality=90, **options)
    plain = out.getvalue()
    data = plain[:2] + exif_with_thumbnail() + plain[2:]
    photo = clean_photo(data + b"trailing")
    assert b"thumbnail" not in photo.data
    assert photo.data == clean_photo(plain).data == plain  # Pillow writes no metadata
    assert Image.open(io.BytesIO(photo.data)).tobytes() == Image.open(io.BytesIO(plain)).tobytes()


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "empty"),
        (b"GIF89a" + b"\x00" * 100, "not a photo"),
        (b"%PDF-1.7 hello", "not a photo"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "damaged or cut off"),
        (b"\xff\xd8\xff\xd9", "damaged or cut off"),
    ],
)
def test_what_is_not_a_photo_is_refused(data: bytes, says: str) -> None:
    with pytest.raises(PhotoError, match=says):
        clean_photo(data)


def test_damaged_and_oversized_photos_are_refused() -> None:
    jpeg = phone_jpeg()
    with pytest.raises(PhotoError, match="damaged or cut off"):
        clean_photo(jpeg[: len(jpeg) // 2])
    png = bytearray(phone_png())
    png[40] ^= 0xFF  # inside the tEXt chunk: its checksum no longer matches
    with pytest.raises(PhotoError, match="damaged"):
        clean_photo(bytes(png))
    with pytest.raises(PhotoError, match="cut off"):
        clean_photo(phone_png()[:-12])  # no IEND
    with pytest.raises(PhotoTooLarge, match="larger than 8 MB"):
        clean_photo(b"\xff\xd8\xff" + b"\x00" * MAX_BYTES)


def test_a_resident_adds_a_photo_and_the_inspector_sees_it(service: Service) -> None:
    s = service
    p = setup_people(s)
    claim = s.call("POST", f"/jobs/{post_job(s, p)['id']}/claim", p.resident, 201)
    assert claim["photo"] is None
    url = f"/claims/{claim['id']}/photo"

    # Not a photo: refused, nothing kept.
    answer = s.http.put(url, headers=p.resident, files={"photo": ("a.txt", b"hello", "text/plain")})
    assert answer.status_code == 422 and answer.json()["error"] == "bad_photo"
    assert "JPEG or PNG" in answer.json()["message"]
    assert s.http.get(url, headers=p.inspector).status_code == 404

    sent = phone_jpeg()
    with_photo = s.call("PUT", url, p.resident, files={"photo": ("IMG_0001.jpg", sent)})
    info = with_photo["photo"]
    assert info["content_type"] == "image/jpeg" and info["url"] == url
    assert info["size"] < len(sent)
    done = s.call("POST", f"/claims/{claim['id']}/done", p.resident, json={"note": "all clean"})
    assert done["photo"] == info  # the inspector's queue shows it
    queue = s.call("GET", "/claims?status=done", p.inspector)["items"]
    assert [c["photo"]["sha256"] for c in queue] == [info["sha256"]]

    shown = s.http.get(url, headers=p.inspector)
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
    assert shown.headers["x-content-type-options"] == "nosniff"
    assert shown.content == clean_photo(sent).data and b"Jan Jansen" not in shown.content
    assert s.http.get(url, headers=p.resident).status_code == 200  # the resident's own
    assert s.http.get(url, headers=p.admin).status_code == 200

    # A newer photo replaces it while the job waits for inspection.
    s.call("PUT", url, p.resident, files={"photo": ("later.png", phone_png())})
    assert s.http.get(url, headers=p.inspector).headers["content-type"] == "image/png"

    # Others can't see or change it.
    other = {"pseudonym": "R-0002", "neighbourhood": "Palemig", "password": PASSWORD}
    s.call("POST", "/residents", {}, 201, json=other)
    stranger = s.login("R-0002", PASSWORD)
    assert s.http.get(url, headers=stranger).status_code == 404
    answer = s.http.put(url, headers=stranger, files={"photo": ("x.png", phone_png())})
    assert answer.status_code == 404
    assert s.http.get(url, headers=p.issuer).json()["error"] == "wrong_role"
    assert s.http.get(url).status_code == 401

    # Once decided, the photo is part of the record and can't change.
    s.call("POST", f"/claims/{claim['id']}/approve", p.inspector, json={})
    answer = s.http.put(url, headers=p.resident, files={"photo": ("x.jpg", sent)})
    assert answer.status_code == 409 and answer.json()["error"] == "decided"
    assert s.http.get(url, headers=p.inspector).headers["content-type"] == "image/png"
