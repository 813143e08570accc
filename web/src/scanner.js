// The camera button of a page that reads a QR code (the resident's pay page: a till's code;
// the shop's card till: a Heitje card). The decoder (scan.js, with jsQR) loads only when the
// camera is switched on.
import { clear, h } from "./dom.js";
import { t } from "./i18n.js";
import { messages } from "./ui.js";

/** A scan button with its video and messages: `found(text, msg)` gets the first QR code the
 *  camera sees (the camera is off again by then). `stop()` switches the camera off. */
export function scanner({ label, hint, denied, found }) {
  let stopCamera = null;
  const video = h("video", { class: "camera", muted: true, playsinline: true, hidden: true, "aria-label": hint });
  const msg = messages();
  const button = h("button", { type: "button", class: "secondary" }, label);
  const off = () => {
    video.hidden = true;
    button.textContent = label;
  };
  const stop = () => {
    if (stopCamera) stopCamera();
    stopCamera = null;
    off();
  };
  button.addEventListener("click", async () => {
    if (stopCamera) {
      stop();
      return;
    }
    msg.clear();
    try {
      const { startScanner } = await import("./scan.js");
      video.hidden = false;
      button.textContent = t("scan_stop");
      msg.ok(hint);
      stopCamera = await startScanner(video, (text) => {
        stopCamera = null;
        off();
        found(text, msg);
      });
    } catch {
      off();
      clear(msg.el, h("p", { class: "error", role: "alert" }, denied));
    }
  });
  return { el: h("div", { class: "scan" }, button, video, msg.el), stop };
}
