"use client";

import { forwardRef, type ReactNode } from "react";
import { ActionButton, type ActionButtonProps } from "../internal/ActionButton";
import { useCodeRunnerPart } from "./CodeRunnerContext";

export interface CodeRunnerRunButtonProps extends ActionButtonProps {
  /**
   * Label while idle.
   * @default "Run"
   */
  runLabel?: ReactNode;
  /**
   * Label while running.
   * @default "Stop"
   */
  stopLabel?: ReactNode;
}

/** Runs the code, or stops it while it runs (`aria-busy` then). Shortcut: Ctrl/Cmd+Enter. */
export const CodeRunnerRunButton = forwardRef<HTMLButtonElement, CodeRunnerRunButtonProps>(
  function CodeRunnerRunButton({ runLabel = "Run", stopLabel = "Stop", ...props }, ref) {
    const { run, toggle } = useCodeRunnerPart("CodeRunner.RunButton");
    return (
      <ActionButton
        ref={ref}
        aria-busy={run.isRunning}
        aria-keyshortcuts="Control+Enter Meta+Enter"
        title={run.isRunning ? "Stop (Ctrl+Enter)" : "Run (Ctrl+Enter)"}
        {...props}
        part="mecha-codeRunner-run"
        state={run.state}
        label={run.isRunning ? stopLabel : runLabel}
        onAction={toggle}
      />
    );
  },
);
