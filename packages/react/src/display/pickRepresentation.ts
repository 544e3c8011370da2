import type { Display } from "@mecha/protocol";

/** How a display is shown: the one representation of its MIME bundle this package renders. */
export type Representation =
  | {
      kind: "image";
      mime: string;
      /** A `data:` URL: the browser decodes it, and "Save image as…" works as for any image. */
      src: string;
      alt: string;
      width?: number;
      height?: number;
    }
  | { kind: "html"; mime: "text/html"; html: string; fallback: string }
  | { kind: "text"; mime: string; text: string };

/** Binary images, as base64 in the bundle. */
const BINARY_IMAGES = ["image/png", "image/jpeg", "image/gif", "image/webp"];

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function dimension(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value > 0
    ? Math.round(value)
    : undefined;
}

/** Jupyter's per-type metadata: `{"image/png": {width, height}}`. */
function sizeOf(display: Display, mime: string): { width?: number; height?: number } {
  const meta = display.metadata?.[mime];
  if (typeof meta !== "object" || meta === null) return {};
  const { width, height } = meta as { width?: unknown; height?: unknown };
  const size: { width?: number; height?: number } = {};
  const w = dimension(width);
  const h = dimension(height);
  if (w !== undefined) size.width = w;
  if (h !== undefined) size.height = h;
  return size;
}

function json(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/**
 * Picks what to show of a display, richest first as a notebook does: `text/html` (sanitised
 * where it is drawn), `image/svg+xml` (as an image, never as markup in the page), PNG, JPEG, GIF
 * and WebP, then `text/markdown` and `application/json` as their text, and `text/plain` for
 * everything else. An image whose data is not base64 falls through to the next type.
 */
export function pickRepresentation(display: Display): Representation {
  const { data } = display;
  const plain = data["text/plain"];
  const html = data["text/html"];
  if (typeof html === "string") {
    return { kind: "html", mime: "text/html", html, fallback: plain };
  }
  const svg = data["image/svg+xml"];
  if (typeof svg === "string") {
    return {
      kind: "image",
      mime: "image/svg+xml",
      // As an image, SVG's scripts and event handlers never run, and it cannot touch the page.
      src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`,
      alt: plain,
      ...sizeOf(display, "image/svg+xml"),
    };
  }
  for (const mime of BINARY_IMAGES) {
    const base64 = data[mime]?.replace(/\s+/g, "");
    if (base64 && BASE64.test(base64)) {
      return {
        kind: "image",
        mime,
        src: `data:${mime};base64,${base64}`,
        alt: plain,
        ...sizeOf(display, mime),
      };
    }
  }
  const markdown = data["text/markdown"];
  if (typeof markdown === "string") return { kind: "text", mime: "text/markdown", text: markdown };
  const value = data["application/json"];
  if (typeof value === "string")
    return { kind: "text", mime: "application/json", text: json(value) };
  return { kind: "text", mime: "text/plain", text: plain };
}
