import type { ClientOptions, MechaClient } from "./clientTypes";
import type { FallbackLabel } from "./MechaContext";

/** The first usable kind in a fallback list; "browser" counts only with a browser backend. */
function firstUsable(list: readonly unknown[], hasBrowser: boolean): FallbackLabel {
  for (const kind of list) {
    if (kind === "mock" || (kind === "browser" && hasBrowser)) return kind;
  }
  return "none";
}

/**
 * The backend a client falls back to first while the server is offline, for labels; null when
 * unknown. Read from the client's own `fallbacks` (the kinds it can actually use, in order), which
 * every client from `createClient` has; a client object of the host's own without that field
 * needs the provider's `fallback` prop, or the options the provider created the client from.
 */
export function fallbackLabel(
  client: MechaClient,
  prop: FallbackLabel | undefined,
  options: ClientOptions | undefined,
): FallbackLabel | null {
  const own = (client as { fallbacks?: unknown }).fallbacks;
  // The client lists "browser" only when it was given a browser backend.
  if (Array.isArray(own)) return firstUsable(own, true);
  if (prop !== undefined) return prop;
  if (!options) return null;
  const option: unknown = options.fallback;
  const list =
    option === undefined || option === "none" ? [] : Array.isArray(option) ? option : [option];
  return firstUsable(list, options.browser !== undefined);
}
