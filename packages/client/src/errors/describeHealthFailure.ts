import type { ConnectionError } from "../circuit";
import { notMecha } from "../circuit";
import type { MechaError } from "./MechaError";

/** The page the client runs in, when it runs in one. */
export interface PageInfo {
  /** `location.origin`. */
  readonly origin: string;
  /** `crossOriginIsolated`: cross-origin requests without CORS then need the server's consent. */
  readonly isolated: boolean;
}

/** Where a dev server passes requests on to another origin. */
const PROXY = ", or proxy it (Vite: server.proxy)";

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
 * Says why a health check failed: for a network error on a cross-origin request in a browser,
 * `answersWithoutCors` (a second request, which the browser does not check against CORS) tells
 * "the server is there but does not allow this page's origin" from "nothing answers". A browser
 * hides the difference from the first request on purpose (both are an opaque `TypeError:
 * Failed to fetch`).
 */
export async function describeHealthFailure(
  error: MechaError,
  page: PageInfo | null,
  answersWithoutCors: () => Promise<boolean>,
): Promise<ConnectionError> {
  const { code, status, request } = error;
  const url = request?.url ?? "the server";
  const say = (kind: ConnectionError["kind"], message: string): ConnectionError => ({
    kind,
    message,
    cause: error,
  });
  if (code === "timeout") return say("timeout", `No answer from ${url} in time.`);
  if (status === 401 || status === 403) {
    return say(
      "unauthorized",
      `${url} refused this client's credentials (${status}): check the headers option.`,
    );
  }
  if (code === "invalid_response" || (code === "http" && notMecha(error))) {
    return say("not_mecha", `${url} answered, but not as a Mecha server: check baseUrl${PROXY}.`);
  }
  if (code !== "network") return say("http", error.message);
  const nothing = `Nothing answered at ${url}.`;
  const target = page && request ? originOf(request.url, page) : null;
  // CORS concerns a browser's requests to another origin only.
  if (!page || !request || !target || target === page.origin) return say("unreachable", nothing);
  if (await answersWithoutCors()) {
    return say(
      "cors",
      `${target}'s CORS settings do not allow this page's origin, ${page.origin}: allow it there${PROXY}.`,
    );
  }
  return say(
    "unreachable",
    page.isolated
      ? `${nothing} Or CORS blocks it: a cross-origin isolated page cannot tell which.`
      : nothing,
  );
}
