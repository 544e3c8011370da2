import { expect } from "vitest";
import { type Fetcher, hostUids, marker, withMarkedArgv } from "./helpers";
import { openRun, type RunStream } from "./stream";

export const isRoot = process.getuid?.() === 0;
if (!isRoot) {
  console.warn(
    "SKIPPED: the checks that two servers hand out disjoint host uids need the servers to run as " +
      "root; as another user every run has the server's own uid.",
  );
}

/** A run's host uid, and its parent's: on the zygote path, the zygote that forked it. */
export type RunUids = ReturnType<typeof hostUids>;

/**
 * Starts a waiting run on each of `servers` (one may be listed several times), all running at
 * once, and reads the host uid of each from /proc; the runs are cancelled afterwards.
 */
export async function runningUids(servers: Fetcher[]): Promise<RunUids[]> {
  const marks = servers.map(() => marker("mecha-uids"));
  const streams: RunStream[] = [];
  try {
    for (const [i, server] of servers.entries()) {
      const code = withMarkedArgv(
        marks[i]!,
        "import sys\nprint('UP', flush=True)\nsys.stdin.read()",
      );
      streams.push(await openRun(server, { code, limits: { timeoutMs: 60_000 } }));
    }
    await Promise.all(streams.map((stream) => stream.untilStdout("UP\n")));
    return marks.map(hostUids);
  } finally {
    for (const stream of streams) expect((await stream.cancel()).status).toBe("cancelled");
  }
}

/**
 * Two servers' runs, all running at once, share no host uid; on the zygote path neither do the
 * two zygotes, with each other or with any run.
 */
export function expectDisjoint(mine: RunUids[], theirs: RunUids[], zygotes: boolean): void {
  const runs = [...mine, ...theirs].map(({ uid }) => uid);
  expect(new Set(runs).size, `run uids ${runs.join(", ")}`).toBe(runs.length);
  for (const uid of runs) expect(uid).toBeGreaterThanOrEqual(1000);
  if (!zygotes) return;
  const zygoteOf = (found: RunUids[]) => [...new Set(found.map(({ parentUid }) => parentUid))];
  // Each server's runs are children of its one zygote.
  expect(new Set(mine.map(({ parent }) => parent)).size).toBe(1);
  expect(new Set(theirs.map(({ parent }) => parent)).size).toBe(1);
  const [own, other] = [zygoteOf(mine), zygoteOf(theirs)];
  expect(own).toHaveLength(1);
  expect(other).toHaveLength(1);
  expect(own[0]).not.toBe(other[0]);
  for (const uid of [...own, ...other]) expect(runs).not.toContain(uid);
}
