import { createServer, type Server } from "node:net";

/**
 * Hands out unprivileged uids so that no two running programs share one: a run cannot signal,
 * trace or read the files of another, and per-user limits (RLIMIT_NPROC) count per run.
 */
export class UidPool {
  private next = 0;
  private readonly used = new Set<number>();

  constructor(
    readonly start: number,
    readonly size: number,
  ) {}

  acquire(): number {
    for (let i = 0; i < this.size; i++) {
      const uid = this.start + ((this.next + i) % this.size);
      if (!this.used.has(uid)) {
        this.used.add(uid);
        this.next = (this.next + i + 1) % this.size;
        return uid;
      }
    }
    throw new Error(`Mecha: all ${this.size} run uids are in use`);
  }

  release(uid: number): void {
    this.used.delete(uid);
  }
}

/** The default range: blocks of 4096 uids from 200000 up, one block per server. */
export const UID_BASE = 200_000;
export const UID_BLOCK = 4096;
const MAX_BLOCKS = 256;

/** A block of host uids this process holds until `release()`. */
export interface UidClaim {
  start: number;
  size: number;
  release(): void;
}

/**
 * Takes the host-wide lock on block `index` (an abstract unix socket: the kernel frees it with
 * the process, however it ends); false when another process holds it.
 */
function lock(index: number): Promise<Server | null> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") resolve(null);
      else reject(error);
    });
    server.listen({ path: `\0mecha-uids-${index}` }, () => {
      server.unref();
      resolve(server);
    });
  });
}

/**
 * Claims uids for runs, host-wide: no two Mecha servers on one host (in one network namespace)
 * hold the same uid at once. With `range`, exactly that range (every 4096-uid block it touches);
 * else the first free block from 200000 up.
 */
export async function claimUids(range: { start: number; size: number } | null): Promise<UidClaim> {
  const held: Server[] = [];
  const release = () => {
    for (const server of held.splice(0)) server.close();
  };
  if (range) {
    const first = Math.floor((range.start - UID_BASE) / UID_BLOCK);
    const last = Math.floor((range.start + range.size - 1 - UID_BASE) / UID_BLOCK);
    for (let index = first; index <= last; index++) {
      const server = await lock(index);
      if (!server) {
        release();
        throw new Error(
          `Mecha: uids ${range.start}–${range.start + range.size - 1} are in use by another Mecha server on this host; give this one another uidRange.`,
        );
      }
      held.push(server);
    }
    return { ...range, release };
  }
  for (let index = 0; index < MAX_BLOCKS; index++) {
    const server = await lock(index);
    if (server) {
      held.push(server);
      return { start: UID_BASE + index * UID_BLOCK, size: UID_BLOCK, release };
    }
  }
  throw new Error(
    `Mecha: all ${MAX_BLOCKS} uid blocks from ${UID_BASE} up are held by other Mecha servers on this host.`,
  );
}
