import type { TerminalLine } from "@mecha/client/run-store";
import type { Virtualizer } from "@tanstack/react-virtual";
import { memo } from "react";
import { DisplayView } from "../display/DisplayView";
import { parseAnsi } from "./parseAnsi";

export interface TerminalRowProps {
  line: TerminalLine;
  index: number;
  start: number;
  measure: Virtualizer<HTMLDivElement, Element>["measureElement"];
}

/** One line of the transcript, placed by the virtualiser. */
export const TerminalRow = memo(function TerminalRow({
  line,
  index,
  start,
  measure,
}: TerminalRowProps) {
  const segments = line.display ? [] : parseAnsi(line.text, line.style);
  // A line of nothing but escape sequences shows as an empty line, as in a terminal.
  const empty = !line.display && !line.input && segments.every((segment) => segment.text === "");
  return (
    <div
      ref={measure}
      data-index={index}
      data-stream={line.stream}
      className="mecha-terminal-line"
      style={{
        position: "absolute",
        top: 0,
        left: 0,
        width: "100%",
        transform: `translateY(${start}px)`,
        whiteSpace: "pre-wrap",
        overflowWrap: "anywhere",
        // A terminal reads from the left edge, whatever the host's text-align.
        textAlign: "start",
      }}
    >
      {line.display && <DisplayView display={line.display} />}
      {segments.map((segment, i) =>
        segment.style ? (
          // biome-ignore lint/suspicious/noArrayIndexKey: segments of one line never reorder
          <span key={i} style={segment.style}>
            {segment.text}
          </span>
        ) : (
          segment.text
        ),
      )}
      {line.input !== undefined && line.input !== "" && (
        <span className="mecha-terminal-stdin" data-stream="stdin">
          {line.input}
        </span>
      )}
      {empty && <br />}
    </div>
  );
});
