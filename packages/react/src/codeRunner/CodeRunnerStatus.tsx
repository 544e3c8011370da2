"use client";

import { forwardRef, type HTMLAttributes } from "react";
import { cx } from "../internal/dom";
import { useBackendStatus } from "../useBackendStatus";
import { LOCATION_LABELS } from "./format";

export interface CodeRunnerStatusProps extends HTMLAttributes<HTMLSpanElement> {}

/**
 * Where code runs, in words and colour: on the server, in the browser, simulated, or offline;
 * "Checking server…" until a health check has succeeded (never "server" for a server it has
 * not reached). Its `title` says why the last check failed. Works anywhere under
 * `<MechaProvider>`.
 */
export const CodeRunnerStatus = forwardRef<HTMLSpanElement, CodeRunnerStatusProps>(
  function CodeRunnerStatus({ className, children, ...rest }, ref) {
    const { location, status, error } = useBackendStatus();
    const label =
      location === "server" && status === "degraded"
        ? "Runs on the server (degraded)"
        : LOCATION_LABELS[location];
    return (
      <span
        ref={ref}
        role="status"
        aria-label="Backend"
        className={cx("mecha-status", className)}
        title={error?.message}
        {...rest}
        data-state={location}
        data-status={status}
      >
        <span aria-hidden="true" className="mecha-status-dot" />
        {children ?? label}
      </span>
    );
  },
);
