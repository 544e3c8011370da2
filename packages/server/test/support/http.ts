/** Requests to a Fetch handler (or a server's URL through `fetch`), and NDJSON read line by line. */
export type Target = ((request: Request) => Promise<Response>) | string;

function send(target: Target, path: string, init: RequestInit = {}): Promise<Response> {
  if (typeof target === "string") return fetch(`${target}${path}`, init);
  return target(new Request(`http://localhost${path}`, init));
}

export function post(
  target: Target,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return send(target, path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

export const get = (target: Target, path: string, headers: Record<string, string> = {}) =>
  send(target, path, { headers });

export const runBody = (code = "print(1)", extra: Record<string, unknown> = {}) => ({
  language: "python",
  code,
  ...extra,
});

export const STREAM = { accept: "application/x-ndjson" };

/** Reads NDJSON lines from a response as they come. */
export function lines(response: Response) {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  const queue: Record<string, unknown>[] = [];
  return {
    async next(): Promise<Record<string, unknown>> {
      while (queue.length === 0) {
        const { value, done } = await reader.read();
        if (done) throw new Error("the stream ended");
        buffered += decoder.decode(value, { stream: true });
        const parts = buffered.split("\n");
        buffered = parts.pop()!;
        for (const part of parts) if (part) queue.push(JSON.parse(part));
      }
      return queue.shift()!;
    },
    /** Every line left, until the stream ends. */
    async rest(): Promise<Record<string, unknown>[]> {
      const all: Record<string, unknown>[] = [];
      for (;;) {
        try {
          all.push(await this.next());
        } catch {
          return all;
        }
      }
    },
    cancel: () => reader.cancel(),
  };
}
