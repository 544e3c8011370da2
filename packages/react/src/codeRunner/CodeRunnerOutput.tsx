"use client";

import { forwardRef } from "react";
import { cx } from "../internal/dom";
import { Terminal, type TerminalProps } from "../terminal/Terminal";
import { useCodeRunnerPart } from "./CodeRunnerContext";

export interface CodeRunnerOutputProps extends Omit<TerminalProps, "run" | "buffer" | "lines"> {}

/** The run's terminal: streamed output, `input()` prompts, Copy and Clear. */
export const CodeRunnerOutput = forwardRef<HTMLDivElement, CodeRunnerOutputProps>(
  function CodeRunnerOutput({ label = "Program output", className, ...rest }, ref) {
    const { run } = useCodeRunnerPart("CodeRunner.Output");
    return (
      <Terminal
        ref={ref}
        run={run}
        label={label}
        className={cx("mecha-codeRunner-output", className)}
        {...rest}
      />
    );
  },
);
