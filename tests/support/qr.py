"""Reading QR codes in tests: the image's pixels (Pillow) decoded by jsQR, the same decoder the
web app's camera scanner uses (node_modules/jsqr), so a code that passes here scans in the app."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
_SCRIPT = """
const jsQR = require(process.argv[1]);
let raw = "";
process.stdin.on("data", (d) => (raw += d));
process.stdin.on("end", () => {
  const { width, height, pixels } = JSON.parse(raw);
  const found = jsQR(Uint8ClampedArray.from(Buffer.from(pixels, "base64")), width, height);
  process.stdout.write(JSON.stringify(found ? found.data : null));
});
"""


def decode_qr(image: bytes) -> str | None:
    """The text of the QR code in `image` (PNG, JPEG, ...), or None when none is found."""
    import base64

    picture = Image.open(io.BytesIO(image)).convert("RGBA")
    node = shutil.which("node")
    assert node, "node is needed to decode QR codes (it comes with the project's set-up)"
    payload = json.dumps(
        {
            "width": picture.width,
            "height": picture.height,
            "pixels": base64.b64encode(picture.tobytes()).decode(),
        }
    )
    done = subprocess.run(
        [node, "-e", _SCRIPT, str(ROOT / "node_modules" / "jsqr" / "dist" / "jsQR.js")],
        input=payload,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found = json.loads(done.stdout)
    return str(found) if found is not None else None
