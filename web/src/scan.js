// The camera scanner: frames from the back camera decoded with jsQR (npm, bundled into a
// chunk that is only loaded when someone opens the scanner).
import jsQR from "jsqr";


/** Starts the camera in `video`; calls `found(text)` once with the first QR code seen.
 *  Returns a function that stops the camera. */
export async function startScanner(video, found) {
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { facingMode: "environment" },
    audio: false,
  });
  video.srcObject = stream;
  video.setAttribute("playsinline", "");
  await video.play();
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  let stopped = false;
  let last = 0;
  const stop = () => {
    stopped = true;
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  };
  const tick = (now) => {
    if (stopped) return;
    if (now - last > 150 && video.videoWidth) {
      last = now;
      const scale = Math.min(1, 480 / video.videoWidth); // small frames: fast on cheap phones
      canvas.width = Math.round(video.videoWidth * scale);
      canvas.height = Math.round(video.videoHeight * scale);
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      const image = context.getImageData(0, 0, canvas.width, canvas.height);
      const code = jsQR(image.data, image.width, image.height, { inversionAttempts: "attemptBoth" });
      if (code && code.data) {
        stop();
        found(code.data);
        return;
      }
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  return stop;
}
