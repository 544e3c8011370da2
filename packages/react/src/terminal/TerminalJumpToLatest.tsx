"use client";

import { forwardRef } from "react";
import { ActionButton } from "../internal/ActionButton";
import { useTerminalContext } from "./TerminalContext";
import type { TerminalButtonProps } from "./TerminalCopy";

/** Shown while the user has scrolled away from new output; brings them back to it. */
export const TerminalJumpToLatest = forwardRef<HTMLButtonElement, TerminalButtonProps>(
  function TerminalJumpToLatest(props, ref) {
    const { following, jumpToLatest } = useTerminalContext("Terminal.JumpToLatest");
    if (following) return null;
    return (
      <ActionButton
        ref={ref}
        {...props}
        part="mecha-terminal-jump"
        label="Jump to latest output"
        onAction={jumpToLatest}
      />
    );
  },
);
