"use client";

import type { Display } from "@mecha/protocol";
import { forwardRef, type HTMLAttributes, memo } from "react";
import { cx } from "../internal/dom";
import { HtmlDisplay } from "./HtmlDisplay";
import { pickRepresentation } from "./pickRepresentation";

export interface DisplayViewProps extends HTMLAttributes<HTMLDivElement> {
  /** A display of a run: from `RunResult.displays`, a `display` event, or a terminal line. */
  display: Display;
}

/**
 * Rich output of a program, as a notebook shows it: PNG, JPEG, GIF and WebP images inline (scaled
 * to the width, "Save image as…" works), SVG as an image (never as markup in the page), HTML such
 * as a pandas DataFrame sanitised and kept inside its box, Markdown and JSON as text, and
 * `text/plain` for any other type. `<Terminal>` shows displays with it, in order with the text;
 * use it to show `result.displays` elsewhere. `data-mime` says which type is shown.
 * @example result.displays?.map((display, i) => <DisplayView key={i} display={display} />)
 */
export const DisplayView = memo(
  forwardRef<HTMLDivElement, DisplayViewProps>(function DisplayView(
    { display, className, ...rest },
    ref,
  ) {
    const shown = pickRepresentation(display);
    return (
      <div ref={ref} className={cx("mecha-display", className)} {...rest} data-mime={shown.mime}>
        {shown.kind === "image" && (
          <img
            className="mecha-display-image"
            src={shown.src}
            alt={shown.alt}
            width={shown.width}
            height={shown.height}
            decoding="async"
            // Large figures scale down to the width; the stylesheet is optional, this is not.
            style={{ maxWidth: "100%", height: "auto" }}
          />
        )}
        {shown.kind === "html" && <HtmlDisplay html={shown.html} fallback={shown.fallback} />}
        {shown.kind === "text" && <div className="mecha-display-text">{shown.text}</div>}
      </div>
    );
  }),
);
