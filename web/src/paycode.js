// Reading and writing what a till's QR code says (kept apart from the scanner, so the
// scanner's decoder loads only when the camera is used).

/** What a till's QR code says: {code, amount, receipt}, or null for anything else. It is
 *  either the app's pay link (…#/r/pay?m=CODE&a=12.50&r=RECEIPT) or the bare shop code. */
export function readPayCode(text) {
  const bare = text.trim().toUpperCase();
  if (/^[A-Z0-9]{6}$/.test(bare)) return { code: bare, amount: "", receipt: "" };
  try {
    const url = new URL(text);
    const hash = url.hash || "";
    const at = hash.indexOf("?");
    if (!hash.startsWith("#/r/pay") || at < 0) return null;
    const params = new URLSearchParams(hash.slice(at + 1));
    const code = (params.get("m") || "").toUpperCase();
    if (!/^[A-Z0-9]{4,12}$/.test(code)) return null;
    return { code, amount: params.get("a") || "", receipt: params.get("r") || "" };
  } catch {
    return null;
  }
}

/** The link a till shows as a QR code: opens this app's pay page with the fields filled in
 *  (a phone's own camera app can follow it too). */
export function payLink(code, amount, receipt) {
  const params = new URLSearchParams({ m: code, a: amount, r: receipt });
  return `${location.origin}/app/#/r/pay?${params}`;
}

export function canScan() {
  return Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
}

/** The number a Heitje card's QR code (or a person typing it) gives, as printed on the card
 *  (K7M2-QX9P-4TRW-8NHD), or null: 16 letters and digits, spaces and dashes left out. */
export function readCardNumber(text) {
  const bare = String(text || "").toUpperCase().replace(/[\s-]/g, "");
  if (!/^[A-Z0-9]{16}$/.test(bare)) return null;
  return bare.match(/.{4}/g).join("-");
}
