/**
 * What an adapter knows of a request beyond its Fetch `Request` (Node's http module: see
 * node.ts): when its client goes away, and its body read whole. The Node adapter can give a
 * request's `signal` and `body` only by building a whole Fetch `Request` (headers, a body
 * stream, an `AbortController`) around it; other adapters give neither, and those are used.
 */
export interface AdapterRequest {
  /** Whether the client has gone before the answer ended. */
  readonly clientGone: boolean;
  /** Calls `listener` once the client goes before the answer ends; returns how to stop. */
  onClientGone(listener: () => void): () => void;
  /**
   * The body read whole, when first asked for (after authorization and the other checks that
   * need no body); null means "read the `Request`'s stream".
   */
  readWhole(): Promise<Uint8Array | null>;
  /**
   * Whether the adapter writes the text of a `json()` response itself (see `textOf`), so that
   * `json()` makes the response without a body.
   */
  readonly writesText?: boolean;
}

const adapterRequests = new WeakMap<Request, AdapterRequest>();
/** Handlers whose responses reach the adapter as they made them (see `answersAsMade`). */
const asMade = new WeakSet<object>();

/** Marks a handler of `createHandler`'s: what it returns is what an adapter writes. */
export function markAnswersAsMade(handler: object): void {
  asMade.add(handler);
}

/**
 * Whether `handler` is one of `createHandler`'s, unwrapped: only then may `json()` make its
 * answers without a body for the adapter to write (`writesText`). A handler wrapped around it
 * may read or rebuild a response, which then needs its body.
 */
export function answersAsMade(handler: object): boolean {
  return asMade.has(handler);
}

export function setAdapterRequest(request: Request, known: AdapterRequest): void {
  adapterRequests.set(request, known);
}

/** What the adapter knows of `request`, or undefined where only the `Request` says. */
export function adapterRequestOf(request: Request): AdapterRequest | undefined {
  return adapterRequests.get(request);
}
