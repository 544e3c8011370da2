import { type Limits, type RuntimeLimits, RuntimesResponse } from "@mecha/protocol";
import { useEffect, useState } from "react";

/**
 * What the server says about its limits (`GET /runtimes`, DESIGN.md wave 2): `ready` with the
 * defaults and maxima, or `unknown` when it does not say (a server without that route answers
 * 404, or it is not reachable); the server clamps a request to its maxima either way.
 */
export type RuntimeLimitsState =
  | { state: "loading" }
  | { state: "ready"; limits: RuntimeLimits }
  | { state: "unknown"; reason: string };

/** Reads `GET {endpoint}/runtimes` once per endpoint. */
export function useRuntimeLimits(endpoint: string): RuntimeLimitsState {
  const [state, setState] = useState<RuntimeLimitsState>({ state: "loading" });
  useEffect(() => {
    const controller = new AbortController();
    setState({ state: "loading" });
    readRuntimeLimits(endpoint, controller.signal).then(setState, () => {});
    return () => controller.abort();
  }, [endpoint]);
  return state;
}

export async function readRuntimeLimits(
  endpoint: string,
  signal?: AbortSignal,
): Promise<RuntimeLimitsState> {
  let response: Response;
  try {
    response = await fetch(`${endpoint.replace(/\/+$/, "")}/runtimes`, {
      headers: { accept: "application/json" },
      signal: signal ?? null,
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    return { state: "unknown", reason: "the server is not reachable" };
  }
  if (response.status === 404) {
    return { state: "unknown", reason: "this server does not list its limits" };
  }
  const parsed = RuntimesResponse.safeParse(await response.json().catch(() => null));
  const python = parsed.success ? parsed.data.find((r) => r.language === "python") : undefined;
  if (!response.ok || !python) {
    return { state: "unknown", reason: `GET /runtimes answered ${response.status}` };
  }
  return { state: "ready", limits: python.limits };
}

export interface LimitOption {
  /** null: leave it to the server's default. */
  value: number | null;
  label: string;
}

const OUTPUT_SIZES = [64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20];
const TIME_LIMITS = [2_000, 5_000, 10_000, 30_000, 60_000];

/** "64 KiB", "1 MiB", "1.5 MiB". */
export function formatSize(bytes: number): string {
  const [value, unit] = bytes >= 1 << 20 ? [bytes / (1 << 20), "MiB"] : [bytes / 1024, "KiB"];
  return `${Number(value.toFixed(1))} ${unit}`;
}

const formatSeconds = (ms: number) => `${Number((ms / 1000).toFixed(1))} s`;

/**
 * The choices for one limit: the server's default first, then the sizes up to its maximum (the
 * maximum itself included). Without the server's word, the usual sizes, which it clamps.
 */
function limitOptions(
  key: keyof Limits,
  sizes: number[],
  format: (value: number) => string,
  limits: RuntimeLimits | null,
): LimitOption[] {
  if (!limits) {
    return [
      { value: null, label: "server default" },
      ...sizes.map((value) => ({ value, label: format(value) })),
    ];
  }
  const fallback = limits.defaults[key];
  const maximum = limits.maxima[key];
  const values = [...new Set([...sizes.filter((size) => size < maximum), maximum])];
  return [
    { value: null, label: `${format(fallback)} (server default)` },
    ...values
      .filter((value) => value !== fallback)
      .map((value) => ({
        value,
        label: value === maximum ? `${format(value)} (server maximum)` : format(value),
      })),
  ];
}

export const outputLimitOptions = (limits: RuntimeLimits | null) =>
  limitOptions("outputBytes", OUTPUT_SIZES, formatSize, limits);

export const timeLimitOptions = (limits: RuntimeLimits | null) =>
  limitOptions("timeoutMs", TIME_LIMITS, formatSeconds, limits);
