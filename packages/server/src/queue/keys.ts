/**
 * The names of everything a deployment keeps in Redis, under its prefix. A run's keys share a
 * hash tag (`{id}`), so a run's script touches one slot.
 */
export interface Keys {
  prefix: string;
  /** A run's state, owner, limits and result (a hash). */
  run(id: string): string;
  /** A run's numbered events (a stream; entry `0-(seq+1)`). */
  events(id: string): string;
  /** Input sent to a run that its runner has not taken yet (a list). */
  stdin(id: string): string;
  /** Where a run's events are published as they are added. */
  runChannel(id: string): string;
  /** An idempotency key: the run it answered and what was asked. */
  idempotency(hash: string): string;
  /** Live runners by the Redis time they last said so (a sorted set). */
  runners: string;
  /** What a runner reports (a hash that expires unless renewed). */
  runner(id: string): string;
  /** The runs a runner holds (a set). */
  runnerRuns(id: string): string;
  /** Where a runner is told of stdin and cancels for its runs, and of requests in its inbox. */
  runnerChannel(id: string): string;
  /** The sessions a runner holds or is opening (a set): its count against its maximum. */
  runnerSessions(id: string): string;
  /** What API instances ask of a runner's sessions, in order (a list of JSON requests). */
  runnerInbox(id: string): string;
  /** A session's owner, runner, limits, state and run in progress (a hash). */
  session(id: string): string;
  /** A runner's answer to one request (a key that expires), and where it says it is there. */
  reply(id: string): string;
  /** BullMQ's queue of runs (under the same prefix). */
  queue: string;
}

export function keysFor(prefix: string): Keys {
  const run = (id: string) => `${prefix}:run:{${id}}`;
  return {
    prefix,
    run,
    events: (id) => `${run(id)}:events`,
    stdin: (id) => `${run(id)}:stdin`,
    runChannel: (id) => `${run(id)}:ch`,
    idempotency: (hash) => `${prefix}:idem:${hash}`,
    runners: `${prefix}:runners`,
    runner: (id) => `${prefix}:runner:${id}`,
    runnerRuns: (id) => `${prefix}:runner:${id}:runs`,
    runnerChannel: (id) => `${prefix}:runner:${id}:ch`,
    runnerSessions: (id) => `${prefix}:runner:${id}:sessions`,
    runnerInbox: (id) => `${prefix}:runner:${id}:inbox`,
    session: (id) => `${prefix}:session:{${id}}`,
    reply: (id) => `${prefix}:reply:${id}`,
    queue: "runs",
  };
}

/** The seq of a stream entry (`0-(seq+1)`), and back. */
export const entryId = (seq: number) => `0-${seq + 1}`;
export const seqOf = (entryId: string) => Number(entryId.slice(entryId.indexOf("-") + 1)) - 1;
