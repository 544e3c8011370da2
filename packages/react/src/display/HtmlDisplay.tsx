import { type CSSProperties, useMemo, useSyncExternalStore } from "react";
import { sanitizerStore } from "./sanitizerStore";

/**
 * The box a program's HTML is drawn in, set inline so that it holds without the stylesheet.
 * `contain: paint` clips everything inside to the box and makes it the containing block of
 * `position: fixed` and `absolute` descendants, so no overlay reaches the page; `isolation`
 * keeps its z-indexes among themselves; wide tables scroll inside it.
 */
const CONTAINED: CSSProperties = {
  contain: "paint",
  isolation: "isolate",
  position: "relative",
  overflow: "auto",
  maxWidth: "100%",
  whiteSpace: "normal",
  textAlign: "start",
};

export interface HtmlDisplayProps {
  html: string;
  /** The display's `text/plain`, shown until the sanitiser has loaded (and on the server). */
  fallback: string;
}

/**
 * A program's `text/html`, sanitised (see `sanitizeHtml`) and contained. Until the sanitiser's
 * chunk has loaded, and for good if it cannot be, the display's `text/plain` stands in for it.
 * `data-state`: `loading`, `ready` or `plain`.
 */
export function HtmlDisplay({ html, fallback }: HtmlDisplayProps) {
  const { sanitize, failed } = useSyncExternalStore(
    sanitizerStore.subscribe,
    sanitizerStore.get,
    sanitizerStore.getServer,
  );
  const markup = useMemo(() => (sanitize ? sanitize(html) : null), [sanitize, html]);
  if (markup === null) {
    return (
      <div className="mecha-display-text" data-state={failed ? "plain" : "loading"}>
        {fallback}
      </div>
    );
  }
  return (
    <div
      className="mecha-display-html"
      data-state="ready"
      style={CONTAINED}
      // biome-ignore lint/security/noDangerouslySetInnerHtml: sanitised by DOMPurify just above
      dangerouslySetInnerHTML={{ __html: markup }}
    />
  );
}
