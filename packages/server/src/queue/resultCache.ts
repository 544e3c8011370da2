import type { RunResult } from "@mecha/protocol";

interface Entry {
  result: Promise<RunResult | null>;
  /** Characters of its JSON (0 while it is read). */
  size: number;
  at: number;
}

/**
 * The results of ended runs an API instance read from Redis, shared by its requests: readers of
 * one result (at once, or within `maxAgeMs`) read and hold it once. A result never changes once
 * its run has ended; whether the run is still kept (404 past `retainMs`) is asked of Redis per
 * request, not here. The oldest go first past `maxBytes` or `maxAgeMs`.
 */
export class ResultCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly maxAgeMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The result of run `id`: kept, or read by `load` (its JSON; null when it is gone). */
  get(id: string, load: () => Promise<string | null>): Promise<RunResult | null> {
    this.sweep();
    const kept = this.entries.get(id);
    if (kept) return kept.result;
    const entry: Entry = { result: Promise.resolve(null), size: 0, at: this.now() };
    entry.result = load()
      .then((json) => {
        const result = json === null ? null : (JSON.parse(json) as RunResult);
        if (json === null) this.drop(id, entry);
        else if (this.entries.get(id) === entry) {
          entry.size = json.length;
          this.bytes += json.length;
          this.sweep();
        }
        return result;
      })
      .catch((error: unknown) => {
        this.drop(id, entry);
        throw error;
      });
    this.entries.set(id, entry);
    return entry.result;
  }

  private drop(id: string, entry: Entry): void {
    if (this.entries.get(id) !== entry) return;
    this.entries.delete(id);
    this.bytes -= entry.size;
  }

  /** Forgets the oldest while over `maxBytes`, and those older than `maxAgeMs`. */
  private sweep(): void {
    const now = this.now();
    for (const [id, entry] of this.entries) {
      if (this.bytes <= this.maxBytes && now - entry.at < this.maxAgeMs) break;
      this.drop(id, entry);
    }
  }
}
