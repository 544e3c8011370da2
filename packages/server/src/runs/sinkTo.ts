import type { RunEvent } from "@mecha/protocol";
import type { RunSink } from "../runtime/types";

/** A runtime's sink that turns what a program does into run events, in the order it happens. */
export function sinkTo(emit: (event: RunEvent) => void): RunSink {
  return {
    stdout: (data) => emit({ type: "stdout", data }),
    stderr: (data) => emit({ type: "stderr", data }),
    input: (prompt) => emit({ type: "input", prompt }),
    display: (display) => emit({ type: "display", ...display }),
  };
}
