// Builds the web app into web/dist (git-ignored): `node web/build.mjs` (tools/setup.sh runs it).
// esbuild bundles web/src/main.js with its npm packages (qrcode; jsqr in a chunk loaded only
// when the camera scanner opens) and the stylesheet, minified, with content hashes in the
// file names; index.html is written with those names. Nothing is fetched at run time.
import { copyFileSync, cpSync, readFileSync, writeFileSync, rmSync, mkdirSync } from "node:fs";
import { createHash } from "node:crypto";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

const result = await esbuild.build({
  entryPoints: { app: join(here, "src", "main.js"), style: join(here, "src", "app.css") },
  outdir: join(dist, "assets"),
  bundle: true,
  splitting: true,
  format: "esm",
  minify: true,
  target: "es2020", // Android phones with Chrome 80+, iOS 14+
  entryNames: "[name]-[hash]",
  chunkNames: "[name]-[hash]",
  legalComments: "none",
  metafile: true,
  logLevel: "warning",
});

const outputs = Object.entries(result.metafile.outputs);
const entry = (name) => {
  const found = outputs.find(([, out]) => out.entryPoint && out.entryPoint.endsWith(name));
  if (!found) throw new Error(`no output for ${name}`);
  return "assets/" + relative(join(dist, "assets"), found[0]);
};
// The sticker's print sheet (A6): linked by the sticker page only while it is shown, since an
// @page size can't be kept to one page of a single-page app otherwise. Hashed like the rest
// (assets are cached for a year); index.html names it in a meta tag for the page to find.
// The Heitje card's print sheet (a bank card's size) is linked by the desk page the same way.
function printSheet(name) {
  const source = join(here, "src", `${name}.css`);
  const hash = createHash("sha256").update(readFileSync(source)).digest("hex").slice(0, 8).toUpperCase();
  const built = `assets/${name}-${hash}.css`;
  copyFileSync(source, join(dist, built));
  return built;
}
const stickerName = printSheet("sticker-print");
const cardName = printSheet("card-print");
const html = readFileSync(join(here, "index.html"), "utf8")
  .replace("%APP_JS%", entry("src/main.js"))
  .replace("%APP_CSS%", entry("src/app.css"))
  .replace("%STICKER_CSS%", stickerName)
  .replace("%CARD_CSS%", cardName);
writeFileSync(join(dist, "index.html"), html);
// Installable: the manifest and the icons, and the service worker that keeps the shell (every
// built file but the worker itself) for opening the app offline; its version is the shell's hash.
copyFileSync(join(here, "manifest.json"), join(dist, "manifest.json"));
cpSync(join(here, "icons"), join(dist, "icons"), { recursive: true });
const shell = ["./", "index.html", "manifest.json", "icons/icon.svg", "icons/icon-192.png",
  ...outputs.map(([file]) => "assets/" + relative(join(dist, "assets"), file)), stickerName, cardName];
const version = createHash("sha256").update(html + shell.join("\n")).digest("hex").slice(0, 12);
writeFileSync(
  join(dist, "sw.js"),
  readFileSync(join(here, "src", "sw.js"), "utf8")
    .replace("%VERSION%", version)
    .replace("%SHELL%", JSON.stringify(shell)),
);
const bytes = outputs.reduce((sum, [, out]) => sum + out.bytes, 0);
console.log(`web app built into web/dist (${outputs.length} files, ${Math.round(bytes / 1024)} KiB)`);
