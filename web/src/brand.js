// The municipality's look (GET /config, from the service's settings): its name in the header
// and the title, its colour for the header, buttons and links (the service refuses a colour
// that does not contrast enough with white), its logo instead of the Heitje icon, the
// browser's theme colour. Until it is read,
// and without a connection, the built-in Heitje look stays.
import { get } from "./api.js";

let config = { municipality: "", remember_days: 0 };

export function brand() {
  return config;
}

const COLOUR = /^#[0-9a-f]{6}$/;

export async function loadBrand() {
  try {
    config = await get("/config");
  } catch {
    return config; // the built-in look
  }
  const root = document.documentElement.style;
  if (COLOUR.test(config.brand_colour)) {
    root.setProperty("--brand", config.brand_colour);
    const meta = document.querySelector('meta[name="theme-color"]');
    if (meta) meta.setAttribute("content", config.brand_colour);
  }
  if (COLOUR.test(config.brand_text_colour)) root.setProperty("--brand-ink", config.brand_text_colour);
  const place = document.getElementById("municipality");
  if (place) place.textContent = config.municipality;
  const icon = document.querySelector(".brand img");
  if (icon && config.logo_url === "/config/logo") {
    icon.src = "/config/logo"; // decorative: the name beside it says whose it is
    icon.classList.add("logo");
  }
  return config;
}
