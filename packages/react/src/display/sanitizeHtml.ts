import DOMPurify, { type Config } from "dompurify";

/**
 * A program's `text/html` made safe to put in the page: DOMPurify (loaded only when a page first
 * shows HTML output) removes scripts, event handlers and `javascript:` URLs; on top of its
 * defaults nothing that loads another document, submits, restyles the page, takes focus or a
 * place in the keyboard order is kept, and its ids cannot be the page's. What is left is drawn
 * inside a box that keeps it there (see `HtmlDisplay`).
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

let purifier: ReturnType<typeof DOMPurify> | null = null;

/** Our own DOMPurify instance, so its hook never changes the host app's DOMPurify. */
function createPurifier() {
  const instance = DOMPurify(window);
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
