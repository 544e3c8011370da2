import DOMPurify, { type Config } from "dompurify";

/**
 * A program's `text/html` made safe to put in the page: DOMPurify (loaded only when a page first
 * shows HTML output) removes scripts, event handlers and `javascript:` URLs; on top of its
 * defaults nothing that loads another document, submits, restyles the page, takes focus or a
 * place in the keyboard order is kept, and its ids cannot be the page's, nor can it point at
 * the page's (`aria-labelledby`, `aria-owns`, `for`, `#fragment` links name its own elements).
 * Nothing in it makes the viewer's browser fetch anything by itself: an image, a video's poster
 * or a style's `url()` that is not inline (`data:`) is dropped, so a program with no network
 * cannot send what it read out through the page that shows it. What is left is drawn inside a
 * box that keeps it there (see `HtmlDisplay`).
 */
const CONFIG: Config = {
  FORBID_TAGS: [
    // Restyles the whole page, not just the output.
    "style",
    "link",
    // Other documents and plugins.
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "portal",
    // Forms post wherever they point; their controls serve no output.
    "form",
    "input",
    "button",
    "textarea",
    "select",
    "option",
    // Document-level: a refresh to another page, the page's base URL.
    "meta",
    "base",
  ],
  // A tabindex would put the program's elements in the page's keyboard order (a positive one
  // ahead of everything else); links stay focusable without it.
  FORBID_ATTR: ["autofocus", "autoplay", "formaction", "srcdoc", "ping", "tabindex"],
  // Ids and names become `user-content-…`: a program's element must never answer for one of the
  // page's (`getElementById`, `aria-labelledby`, `<label for>`, `#fragment`).
  SANITIZE_NAMED_PROPS: true,
  // Kept as markup strings: React puts them in the page.
  RETURN_TRUSTED_TYPE: false,
};

/** Attributes whose URL the browser fetches as soon as the element is shown. */
const FETCHED = ["src", "srcset", "poster", "background", "lowsrc", "dynsrc"];
/** A URL, or each of a `srcset`'s, that is inline data. */
const INLINE = /^\s*data:/i;
/** `url(…)` and `image-set(…)` in a style, each with what it names. */
const CSS_URL = /(?:url|image-set)\(\s*(['"]?)([^'")]*)/gi;

/** Whether `value` of attribute `name` would have the browser fetch something on its own. */
function fetches(name: string, value: string, element: Element): boolean {
  if (name === "srcset") return value.split(",").some((source) => !INLINE.test(source));
  if (FETCHED.includes(name)) return !INLINE.test(value);
  // An SVG <image>, <use> or <feImage> loads its href; a link waits for a click.
  if (name === "href" || name === "xlink:href") {
    const { localName } = element;
    return localName !== "a" && localName !== "area" && !INLINE.test(value);
  }
  if (name === "style") {
    for (const [, , url] of value.matchAll(CSS_URL)) if (!INLINE.test(url ?? "")) return true;
  }
  return false;
}

/** Attributes that name elements by id: a program's name its own (prefixed) elements only. */
const ID_REFERENCES = new Set([
  "aria-activedescendant",
  "aria-controls",
  "aria-describedby",
  "aria-details",
  "aria-errormessage",
  "aria-flowto",
  "aria-labelledby",
  "aria-owns",
  "for",
  "headers",
  "itemref",
  "popovertarget",
  "anchor",
]);
const PREFIX = "user-content-";
const own = (id: string) => (id.startsWith(PREFIX) ? id : `${PREFIX}${id}`);

/** `value` of attribute `name` made to point at the program's own elements, not the page's. */
function ownReference(name: string, value: string): string {
  if (ID_REFERENCES.has(name)) return value.split(/\s+/).filter(Boolean).map(own).join(" ");
  // A fragment link (or an image map) to an id or name of its own.
  if ((name === "href" || name === "usemap") && value.startsWith("#") && value.length > 1) {
    return `#${own(value.slice(1))}`;
  }
  return value;
}

let purifier: ReturnType<typeof DOMPurify> | null = null;

/** Our own DOMPurify instance, so its hook never changes the host app's DOMPurify. */
function createPurifier() {
  const instance = DOMPurify(window);
  instance.addHook("uponSanitizeAttribute", (node, data) => {
    if (fetches(data.attrName, data.attrValue, node)) data.keepAttr = false;
    else data.attrValue = ownReference(data.attrName, data.attrValue);
  });
  instance.addHook("afterSanitizeAttributes", (node) => {
    // Links open in a new tab, and the page they open gets no handle on this one.
    const name = node.localName;
    const linked = node.hasAttribute("href") || node.hasAttribute("xlink:href");
    if ((name === "a" || name === "area") && linked) {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer");
    }
  });
  return instance;
}

/** The markup of a program's `text/html`, with everything that could act on the page removed. */
export function sanitizeHtml(html: string): string {
  purifier ??= createPurifier();
  return purifier.sanitize(html, CONFIG) as unknown as string;
}
