"use client";

import { forwardRef, type ReactNode } from "react";
import { TerminalClear } from "./TerminalClear";
import { TerminalCopy } from "./TerminalCopy";
import { TerminalInput } from "./TerminalInput";
import { TerminalJumpToLatest } from "./TerminalJumpToLatest";
import { TerminalRoot, type TerminalRootProps } from "./TerminalRoot";
import { TerminalViewport, type TerminalViewportProps } from "./TerminalViewport";

export interface TerminalProps extends TerminalRootProps {
  /** Extra controls for the toolbar, after Copy and Clear. */
  actions?: ReactNode;
  /** Props for the viewport (e.g. `rowHeight`). */
  viewportProps?: TerminalViewportProps;
}

/**
 * A terminal: ANSI colours, `\r` progress lines, stdout/stderr told apart, sticky scrolling,
 * 100,000 lines, an input line while the program waits for input, Copy and Clear. Fed by
 * `useRun`, a buffer, or lines.
 * @example
 * const run = useRun();
 * <Terminal run={run} />
 * @example
 * <Terminal lines={["\x1b[32mready\x1b[0m", { text: "oops", stream: "stderr" }]} />
 */
const TerminalComponent = forwardRef<HTMLDivElement, TerminalProps>(function Terminal(
  { actions, viewportProps, ...props },
  ref,
) {
  return (
    <TerminalRoot ref={ref} {...props}>
      <div className="mecha-terminal-toolbar">
        <TerminalCopy />
        <TerminalClear />
        {actions}
      </div>
      <TerminalViewport {...viewportProps} />
      <TerminalJumpToLatest />
      <TerminalInput />
    </TerminalRoot>
  );
});

type TerminalCompound = typeof TerminalComponent & {
  Root: typeof TerminalRoot;
  Viewport: typeof TerminalViewport;
  Input: typeof TerminalInput;
  Copy: typeof TerminalCopy;
  Clear: typeof TerminalClear;
  JumpToLatest: typeof TerminalJumpToLatest;
};

export const Terminal = Object.assign(TerminalComponent, {
  Root: TerminalRoot,
  Viewport: TerminalViewport,
  Input: TerminalInput,
  Copy: TerminalCopy,
  Clear: TerminalClear,
  JumpToLatest: TerminalJumpToLatest,
}) as TerminalCompound;
