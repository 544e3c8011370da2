import type { ConnectionError } from "../circuit";
import { notMecha } from "../circuit";
import { linkSignal } from "../linkSignal";
import type { FetchFunction } from "../serverBackend";
import type { Timers } from "../timers";
import type { MechaError } from "./MechaError";

/** The page the client runs in, when it runs in one. */
export interface PageInfo {
  /** `location.origin`. */
  readonly origin: string;
  /** `crossOriginIsolated`: cross-origin requests without CORS then need the server's consent. */
  readonly isolated: boolean;
}

export interface DescribeOptions {
  fetch: FetchFunction;
  page: PageInfo | null;
  timers: Timers;
  /** How long the probe may wait for an answer. */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

/** The page the client runs in, read from the global scope; null outside a browser. */
export function currentPage(): PageInfo | null {
  const scope = globalThis as { location?: { origin?: unknown }; crossOriginIsolated?: unknown };
  const origin = scope.location?.origin;
  if (typeof origin !== "string" || !/^https?:/.test(origin)) return null;
  return { origin, isolated: scope.crossOriginIsolated === true };
}

function originOf(url: string, page: PageInfo): string | null {
  try {
    return new URL(url, page.origin).origin;
  } catch {
    return null;
  }
}

/**
 * Whether anything answers `url` when the browser does not need to show the page the answer
 * (`mode: "no-cors"`): if so, the request that failed was refused by the browser rather than
 * never answered. False also when the page's own policy blocks the probe (a cross-origin
 * isolated page needs the server's consent even for that).
 */
async function answersWithoutCors(url: string, options: DescribeOptions): Promise<boolean> {
  const controller = new AbortController();
  const unlink = linkSignal(options.signal, controller);
  const timer = options.timers.setTimeout(() => controller.abort(), options.timeoutMs);
  try {
    await options.fetch(url, {
      mode: "no-cors",
      credentials: "omit",
      cache: "no-store",
      signal: controller.signal,
    });
    return true;
  } catch {
    return false;
  } finally {
    options.timers.clearTimeout(timer);
    unlink();
  }
}

/**
 * Says why a health check failed: for a network error on a cross-origin request in a browser,
 * a second request the browser does not check against CORS tells "the server is there but does
 * not allow this page's origin" from "nothing answers". A browser hides the difference from
 * the first request on purpose (both are an opaque `TypeError: Failed to fetch`).
 */
export async function describeHealthFailure(
  error: MechaError,
  options: DescribeOptions,
): Promise<ConnectionError> {
  const url = error.request?.url ?? "the server";
  const { code, status, request } = error;
  const describe = (kind: ConnectionError["kind"], message: string): ConnectionError => ({
    kind,
    message,
    cause: error,
  });
  if (code === "timeout") return describe("timeout", `No answer from ${url} in time.`);
  if (status === 401 || status === 403) {
    return describe(
      "unauthorized",
      `${url} refused this client's credentials (${status}): check the headers option and the server's authorize.`,
    );
  }
  if (code === "invalid_response" || (code === "http" && notMecha(error))) {
    return describe(
      "not_mecha",
      `${url} answered, but not as a Mecha server: check baseUrl, and that your dev server passes it on (Vite: server.proxy).`,
    );
  }
  if (code !== "network") return describe("http", error.message);
  const { page } = options;
  const target = page && request ? originOf(request.url, page) : null;
  const nothing = `Nothing answered at ${url}: the server is not running there, or the address is wrong.`;
  if (!page || !target || target === page.origin) return describe("unreachable", nothing);
  if (await answersWithoutCors(request!.url, options)) {
    return describe(
      "cors",
      `${target} answered, but its CORS settings do not allow this page's origin, ${page.origin}: allow it on the server, or pass the path on from the page's own origin (Vite: server.proxy).`,
    );
  }
  return describe(
    "unreachable",
    page.isolated
      ? `${nothing} Or its CORS settings do not allow ${page.origin}: a cross-origin isolated page cannot tell which.`
      : nothing,
  );
}
