import {
  createTerminalBuffer,
  type TerminalBuffer,
  type TerminalLineInput,
} from "@mecha/client/run-store";
import { useRef, useState } from "react";
import { useIsomorphicLayoutEffect } from "../internal/dom";

/**
 * The transcript of a terminal fed controlled `lines`: created once (with `maxLines`), appended to
 * when the new array extends the old one, redrawn on any other change.
 */
export function useControlledBuffer(
  lines: ReadonlyArray<TerminalLineInput> | undefined,
  maxLines?: number,
): TerminalBuffer {
  const [buffer] = useState(() => {
    const created = createTerminalBuffer({ maxLines });
    if (lines) created.writeLines(lines);
    return created;
  });
  const previous = useRef(lines);
  useIsomorphicLayoutEffect(() => {
    const before = previous.current;
    previous.current = lines;
    if (!lines || lines === before) return;
    const appended = before !== undefined && startsWith(lines, before);
    if (!appended) buffer.clear();
    buffer.writeLines(appended ? lines.slice(before.length) : lines);
  }, [lines, buffer]);
  return buffer;
}

/**
 * Whether `lines` begins with every entry of `prefix` (the same strings or objects), so the
 * change is an append. Checking every entry, not just the ends, takes under a millisecond for
 * 100,000 lines (less than the caller's copy of the array).
 */
function startsWith(
  lines: ReadonlyArray<TerminalLineInput>,
  prefix: ReadonlyArray<TerminalLineInput>,
): boolean {
  if (prefix.length > lines.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    if (lines[i] !== prefix[i]) return false;
  }
  return true;
}
