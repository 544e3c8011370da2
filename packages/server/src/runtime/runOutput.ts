import { InputRelay } from "./inputRelay";
import { OutputCollector } from "./outputCollector";
import type { RunSink } from "./types";

/**
 * A run's output as its sink receives it: stdout, stderr and displays under the run's byte cap,
 * and `input` events held back until their prompt has come out on stdout.
 */
export function runOutput(
  cap: number,
  sink: RunSink,
): {
  input: InputRelay;
  collector: OutputCollector;
} {
  const input = new InputRelay((prompt) => sink.input(prompt));
  const collector = new OutputCollector(
    cap,
    (stream, data) => {
      if (stream === "stdout") {
        sink.stdout(data);
        input.stdout(data);
      } else sink.stderr(data);
    },
    (display) => sink.display(display),
  );
  return { input, collector };
}
