/**
 * What an adapter knows of a request's client (Node's http module: its response closed before
 * its end), so that watching for the client going away does not make the request's `signal`,
 * which the Node adapter can only give by building a whole Fetch `Request` around the request.
 */
export interface ClientConnection {
  /** Whether the client has gone before the answer ended. */
  readonly gone: boolean;
  /** Calls `listener` once the client goes before the answer ends; returns how to stop. */
  onGone(listener: () => void): () => void;
}

const connections = new WeakMap<Request, ClientConnection>();

export function setClientConnection(request: Request, connection: ClientConnection): void {
  connections.set(request, connection);
}

/** The adapter's connection of `request`, or undefined where only its `signal` says. */
export function clientConnectionOf(request: Request): ClientConnection | undefined {
  return connections.get(request);
}
