import type { Limits } from "@mecha/protocol";

/** `limits` held to a runner's maxima `max`: an API instance may allow more than it gives. */
export function heldTo(limits: Limits, max: Limits): Limits {
  const { timeoutMs, memoryMb, outputBytes } = limits;
  if (timeoutMs <= max.timeoutMs && memoryMb <= max.memoryMb && outputBytes <= max.outputBytes) {
    return limits;
  }
  return {
    timeoutMs: Math.min(timeoutMs, max.timeoutMs),
    memoryMb: Math.min(memoryMb, max.memoryMb),
    outputBytes: Math.min(outputBytes, max.outputBytes),
  };
}
