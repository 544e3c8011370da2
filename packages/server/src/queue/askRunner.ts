import { randomUUID } from "node:crypto";
import { HttpError } from "../httpError";
import type { RedisConnections } from "./redisConnections";
import { unreachable } from "./remoteRun";

/** A request for a runner's sessions, as it waits in the runner's inbox. */
export type InboxRequest =
  | { op: "open"; session: string; files: unknown[]; limits: unknown; idleTimeoutMs: number }
  | { op: "read"; session: string; path: string }
  | { op: "close"; session: string }
  | { op: "run"; session: string; run: string; data: unknown };

/** What a runner answers, as JSON. */
export type RunnerAnswer = Record<string, unknown>;

export interface AskOptions {
  /** How long to wait for the answer: past it, 503 `unavailable`. */
  timeoutMs: number;
  /** What the 503 says when no answer came in time. */
  late: string;
  /** Checked every two heartbeats while waiting: throws when the answer can no longer come. */
  check?: () => Promise<void>;
}

/**
 * Asks runner `runner` something and waits for its answer: the request goes to its inbox (a
 * list, so nothing is lost while it is busy or reconnecting) and it is told on its channel; it
 * answers in a key of its own and says so on that key's channel. The key is also read every two
 * heartbeats, so an answer whose message was lost in a reconnect still arrives.
 */
export async function askRunner(
  connections: RedisConnections,
  runner: string,
  request: InboxRequest,
  { timeoutMs, late, check }: AskOptions,
): Promise<RunnerAnswer> {
  const { command, keys, channels, opts } = connections;
  const id = randomUUID();
  const key = keys.reply(id);
  let settle!: (answer: RunnerAnswer) => void;
  let fail!: (error: unknown) => void;
  const answered = new Promise<RunnerAnswer>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  answered.catch(() => {});
  const take = async () => {
    const text = await command.redis.getdel(key);
    if (text) settle(JSON.parse(text) as RunnerAnswer);
  };
  const stop = await channels.listen(key, () => void take().catch(() => {}));
  const poll = setInterval(() => {
    void take().catch(() => {});
    void check?.().catch(fail);
  }, opts.heartbeatMs * 2);
  const timer = setTimeout(
    () => fail(new HttpError("unavailable", late, { retryAfter: 2 })),
    timeoutMs,
  );
  try {
    await command.redis
      .multi()
      .rpush(keys.runnerInbox(runner), JSON.stringify({ ...request, reply: id }))
      .publish(keys.runnerChannel(runner), "inbox")
      .exec()
      .catch((cause) => {
        throw unreachable(cause);
      });
    return await answered;
  } finally {
    clearInterval(poll);
    clearTimeout(timer);
    stop();
  }
}

/** A runner answers request `id` (see askRunner): kept a minute for an instance to read. */
export async function answer(
  connections: RedisConnections,
  id: string,
  body: RunnerAnswer,
): Promise<void> {
  const { command, keys } = connections;
  await command.redis
    .multi()
    .set(keys.reply(id), JSON.stringify(body), "PX", 60_000)
    .publish(keys.reply(id), "1")
    .exec();
}
