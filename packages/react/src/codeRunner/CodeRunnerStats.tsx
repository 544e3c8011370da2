"use client";

import { forwardRef, type HTMLAttributes } from "react";
import { cx } from "../internal/dom";
import { useCodeRunnerPart } from "./CodeRunnerContext";
import { describeRun, formatDuration, formatMemory } from "./format";

export interface CodeRunnerStatsProps extends HTMLAttributes<HTMLDivElement> {}

/**
 * The run's state in words (announced), then time, CPU, memory, exit status and backend; for
 * simulated output only that it was simulated.
 */
export const CodeRunnerStats = forwardRef<HTMLDivElement, CodeRunnerStatsProps>(
  function CodeRunnerStats({ className, ...rest }, ref) {
    const { run } = useCodeRunnerPart("CodeRunner.Stats");
    const { result } = run;
    return (
      <div
        ref={ref}
        className={cx("mecha-codeRunner-stats", className)}
        {...rest}
        data-state={run.state}
      >
        <p role="status" aria-label="Run status" className="mecha-codeRunner-message">
          {describeRun(run)}
        </p>
        {result && result.backend === "mock" && (
          <dl className="mecha-codeRunner-figures">
            <div>
              <dt>Ran on</dt>
              <dd data-state="mock">simulation</dd>
            </div>
          </dl>
        )}
        {result && result.backend !== "mock" && (
          <dl className="mecha-codeRunner-figures">
            <div>
              <dt>Time</dt>
              <dd>{formatDuration(result.durationMs)}</dd>
            </div>
            {result.cpuTimeMs !== null && (
              <div>
                <dt>CPU</dt>
                <dd>{formatDuration(result.cpuTimeMs)}</dd>
              </div>
            )}
            {result.memoryKb !== null && (
              <div>
                <dt>Memory</dt>
                <dd>{formatMemory(result.memoryKb)}</dd>
              </div>
            )}
            <div>
              <dt>Exit</dt>
              <dd>
                {result.signal
                  ? `signal ${result.signal}`
                  : result.exitCode !== null
                    ? `code ${result.exitCode}`
                    : "none"}
              </dd>
            </div>
            <div>
              <dt>Ran on</dt>
              <dd data-state={result.backend}>{result.backend}</dd>
            </div>
          </dl>
        )}
      </div>
    );
  },
);
