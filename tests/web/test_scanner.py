"""The camera scanner, end to end: the till shows a QR code; that very picture is made into a
video and played as the resident's camera (Chromium's fake capture device); the pay page
reads it, fills in the shop, the amount and the receipt, and the payment goes through."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

from PIL import Image
from playwright.sync_api import expect
from support.web import Served

WIDTH, HEIGHT = 640, 480


def write_y4m(picture: Image.Image, path: Path, frames: int = 10) -> None:
    """`picture` centred on a white 640x480 frame, as a YUV4MPEG2 video (4:2:0): a header
    line, then per frame `FRAME`, the luma plane and two neutral chroma planes (grey)."""
    frame = Image.new("L", (WIDTH, HEIGHT), 255)
    gray = picture.convert("L")
    gray.thumbnail((HEIGHT - 40, HEIGHT - 40), Image.Resampling.NEAREST)
    frame.paste(gray, ((WIDTH - gray.width) // 2, (HEIGHT - gray.height) // 2))
    luma = frame.tobytes()
    chroma = bytes([128]) * ((WIDTH // 2) * (HEIGHT // 2))
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F25:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + luma + chroma + chroma)


def test_a_resident_pays_by_scanning_the_tills_qr_code(
    camera_browser: Any, person: Any, served: Served, tmp_path: Path
) -> None:
    resident_api = served.resident("HRL-0111")
    served.fund(resident_api, "10.00")
    shop = person()
    till = shop.sign_in(f"merchant-{served.shop_code.lower()}")
    till.get_by_label("Bedrag in euro").fill("3,40")
    till.get_by_role("button", name="Toon QR-code").click()
    qr = till.get_by_role("img", name="QR-code om € 3,40 te betalen aan Bakkerij Op de Kamp")
    expect(qr).to_be_visible()
    receipt = till.get_by_text("Bon: T").inner_text().split("Bon: ")[1].strip()
    data_url = qr.evaluate("canvas => canvas.toDataURL('image/png')")
    picture = Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1])))
    video = tmp_path / "till-qr.y4m"
    write_y4m(picture, video)

    resident = person(on=camera_browser(video))
    page = resident.sign_in("HRL-0111")
    resident.open("/r/pay")
    expect(page.get_by_label("Winkelcode")).to_have_value("")
    page.get_by_role("button", name="Scan de QR-code van de winkel").click()
    # The scanner stops the camera and fills in what the till's code says.
    expect(page.get_by_label("Winkelcode")).to_have_value(served.shop_code, timeout=15_000)
    expect(page.get_by_label("Bedrag in euro")).to_have_value("3.40")
    expect(page.get_by_label("Bonnummer")).to_have_value(receipt)
    expect(page.locator("video.camera")).to_be_hidden()
    resident.shot("resident-pay-scanned")
    page.get_by_role("button", name="Verder").click()
    expect(page.get_by_text("U betaalt € 3,40 aan Bakkerij Op de Kamp.")).to_be_visible()
    page.get_by_role("button", name="Betaal € 3,40").click()
    expect(page.get_by_role("status")).to_contain_text("Betaald! € 3,40 aan Bakkerij Op de Kamp.")

    # The till recognises its own receipt and is ready for the next sale.
    expect(till.get_by_text("Ontvangen: € 3,40 van HRL-0111.")).to_be_visible(timeout=15_000)
    expect(till.get_by_role("button", name="Toon QR-code")).to_be_visible()
    assert served.call("GET", "/residents/me", resident_api)["balance"]["cents"] == 6_60
    history = served.call("GET", "/residents/me/history", resident_api)["items"]
    assert [(i["kind"], i["receipt"]) for i in history if i["kind"] == "payment"] == [
        ("payment", receipt)
    ]
