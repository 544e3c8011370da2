import type { RunEvent } from "@mecha/protocol";
import { runErrors } from "./runErrors";

/** An event as a run records it: with its position in the run's stream. */
export type SequencedEvent = RunEvent & { seq: number };

const encoder = new TextEncoder();

/**
 * A run's events, numbered 0, 1, 2, … as they happen, kept (up to a byte budget, oldest dropped
 * first) so that a client whose stream broke can read them again from where it was.
 */
export class EventLog {
  private readonly events: { event: SequencedEvent; bytes: number }[] = [];
  private next = 0;
  private first = 0;
  private total = 0;

  constructor(private readonly budget: number) {}

  append(event: RunEvent): SequencedEvent {
    const sequenced = { ...event, seq: this.next++ } as SequencedEvent;
    const bytes = encoder.encode(JSON.stringify(sequenced)).byteLength;
    this.events.push({ event: sequenced, bytes });
    this.total += bytes;
    // The last event (the result) is always kept.
    while (this.total > this.budget && this.events.length > 1) {
      const dropped = this.events.shift()!;
      this.total -= dropped.bytes;
      this.first = dropped.event.seq + 1;
    }
    return sequenced;
  }

  /** Where a reader with its events up to `after` stands (see `readerAt`). */
  readerAt(after: number, runId: string, finished: boolean): "more" | "none" {
    return readerAt(runId, after, { first: this.first, last: this.next - 1, finished });
  }

  /** Bytes the log holds. */
  get bytes(): number {
    return this.total;
  }

  /** Events after `after` (-1 for all); 410 `events_expired` when some were dropped already. */
  since(after: number, runId: string): SequencedEvent[] {
    this.check(after, runId);
    return this.events.filter(({ event }) => event.seq > after).map(({ event }) => event);
  }

  /** 410 `events_expired` when events after `after` were dropped already. */
  check(after: number, runId: string): void {
    checkKept(runId, after, this.first);
  }
}

/** 410 `events_expired` when events after `after` are older than `first`, the oldest kept. */
function checkKept(runId: string, after: number, first: number): void {
  if (after + 1 < first) throw runErrors.eventsExpired(runId, first);
}

/**
 * Whether a reader with a run's events up to `after` has more to read, given the seqs its
 * events are kept from (`first`) and sent up to (`last`): `none` once the run has finished and
 * `after` is its last event, its `exit`. 410 `events_expired` when events after `after` are no
 * longer kept; 400 when `after` is past the last event sent.
 */
export function readerAt(
  runId: string,
  after: number,
  { first, last, finished }: { first: number; last: number; finished: boolean },
): "more" | "none" {
  checkKept(runId, after, first);
  if (after > last) throw runErrors.afterUnsent(runId, after, last);
  return finished && after === last ? "none" : "more";
}
