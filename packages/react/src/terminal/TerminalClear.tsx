"use client";

import { forwardRef } from "react";
import { ActionButton } from "../internal/ActionButton";
import { useTerminalContext } from "./TerminalContext";
import type { TerminalButtonProps } from "./TerminalCopy";

/** Empties the transcript. Renders only when clearing is possible (see `onClear`). */
export const TerminalClear = forwardRef<HTMLButtonElement, TerminalButtonProps>(
  function TerminalClear(props, ref) {
    const { clear } = useTerminalContext("Terminal.Clear");
    if (!clear) return null;
    return (
      <ActionButton
        ref={ref}
        {...props}
        part="mecha-terminal-clear"
        label="Clear"
        onAction={clear}
      />
    );
  },
);
