// Draws a QR code on a canvas (npm qrcode, bundled; no network).
import QRCode from "qrcode";

export function drawQr(canvas, text) {
  return QRCode.toCanvas(canvas, text, { errorCorrectionLevel: "M", margin: 2, width: 264 });
}
