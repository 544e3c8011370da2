"use client";

import { forwardRef, useEffect, useState } from "react";
import { ActionButton, type ActionButtonProps } from "../internal/ActionButton";
import { useTerminalContext } from "./TerminalContext";

/** Props of the terminal's buttons (Copy, Clear, Jump to latest output). */
export interface TerminalButtonProps extends ActionButtonProps {}

/** Copies the transcript as plain text. Says "Copied" for a moment afterwards. */
export const TerminalCopy = forwardRef<HTMLButtonElement, TerminalButtonProps>(
  function TerminalCopy(props, ref) {
    const { buffer } = useTerminalContext("Terminal.Copy");
    const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
    useEffect(() => {
      if (state === "idle") return;
      const timer = setTimeout(() => setState("idle"), 2000);
      return () => clearTimeout(timer);
    }, [state]);
    return (
      <ActionButton
        ref={ref}
        {...props}
        part="mecha-terminal-copy"
        state={state}
        label={state === "copied" ? "Copied" : state === "failed" ? "Copy failed" : "Copy"}
        onAction={() => {
          const clipboard = typeof navigator !== "undefined" ? navigator.clipboard : undefined;
          if (!clipboard) {
            setState("failed");
            return;
          }
          clipboard.writeText(buffer.toString()).then(
            () => setState("copied"),
            () => setState("failed"),
          );
        }}
      />
    );
  },
);
