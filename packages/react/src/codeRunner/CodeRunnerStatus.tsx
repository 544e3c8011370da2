"use client";

import { forwardRef, type HTMLAttributes, useContext } from "react";
import { cx } from "../internal/dom";
import { sessionPlace } from "../session/sessionPlace";
import { toLocation, useBackendStatus } from "../useBackendStatus";
import { CodeRunnerContext } from "./CodeRunnerContext";
import { describeBadge } from "./format";

export interface CodeRunnerStatusProps extends HTMLAttributes<HTMLSpanElement> {}

/**
 * Where code runs, in words and colour: on the server, in the browser, simulated, or offline;
 * "Checking server…" until a health check has succeeded (never "server" for a server it has
 * not reached). In a `CodeRunner` whose run goes on, where that run is; with an open session,
 * where that session lives ("Session on the server", "Session in your browser", "Simulated: no
 * state is kept"), or "Session lost".
 * Its `title` says why the last check failed. Works anywhere under `<MechaProvider>`.
 */
export const CodeRunnerStatus = forwardRef<HTMLSpanElement, CodeRunnerStatusProps>(
  function CodeRunnerStatus({ className, children, ...rest }, ref) {
    const { location, status, error } = useBackendStatus();
    const runner = useContext(CodeRunnerContext);
    const session = sessionPlace(runner?.session);
    // While the runner's own run goes on, it is where code runs now, even if it fell back while
    // the client still counts the server online.
    const going = runner?.run.isRunning ? toLocation(runner.run.backend) : null;
    const badge = describeBadge({ location: going ?? location, status }, session);
    return (
      <span
        ref={ref}
        role="status"
        aria-label="Backend"
        className={cx("mecha-status", className)}
        title={error?.message}
        {...rest}
        data-state={badge.state}
        data-status={status}
        data-session={session?.status}
      >
        <span aria-hidden="true" className="mecha-status-dot" />
        {children ?? badge.label}
      </span>
    );
  },
);
