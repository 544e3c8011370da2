/**
 * Hands out unprivileged uids so that no two running programs share one: a run cannot signal,
 * trace or read the files of another, and per-user limits (RLIMIT_NPROC) count per run.
 */
export class UidPool {
  private next = 0;
  private readonly used = new Set<number>();

  constructor(
    private readonly start: number,
    private readonly size: number,
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
