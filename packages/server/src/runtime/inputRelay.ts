/** How long an `input` event waits for its prompt to arrive on stdout. */
const PROMPT_WAIT_MS = 50;

/**
 * Holds an `input` event back until its prompt has come out on stdout (input() writes it just
 * after the event is sent), so that a client shows the prompt before the field that answers it.
 *
 * An event that repeats the one before it, with no input written to the program since, is
 * dropped: the client already shows that prompt, and a program that reads without waiting (a
 * non-blocking stdin, in a loop) cannot flood the stream with them. Once the program's standard
 * input is closed, none is sent: nothing could answer it (the program reads end of input).
 */
export class InputRelay {
  private pending: { prompt: string; seen: string; timer: NodeJS.Timeout } | null = null;
  /** The prompt of the last event, until input is written to the program. */
  private last: string | null = null;
  private closed = false;

  constructor(private readonly deliver: (prompt: string) => void) {}

  event(prompt: string): void {
    if (this.closed || prompt === this.last) return;
    this.last = prompt;
    this.release();
    if (!prompt) {
      this.deliver(prompt);
      return;
    }
    const timer = setTimeout(() => this.release(), PROMPT_WAIT_MS);
    this.pending = { prompt, seen: "", timer };
  }

  stdout(text: string): void {
    if (!this.pending) return;
    this.pending.seen += text;
    if (this.pending.seen.includes(this.pending.prompt)) this.release();
  }

  release(): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = null;
    clearTimeout(pending.timer);
    this.deliver(pending.prompt);
  }

  /**
   * Input was written to the program (`eof`: and its standard input closed): its next wait is
   * news again, or, once closed, no wait is (a prompt held back for its text included).
   */
  written(eof: boolean): void {
    this.last = null;
    if (!eof) return;
    this.closed = true;
    this.drop();
  }

  drop(): void {
    if (this.pending) clearTimeout(this.pending.timer);
    this.pending = null;
  }
}
