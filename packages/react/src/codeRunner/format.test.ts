import { describe, expect, it } from "vitest";
import { describeLimit, formatBytes } from "./format";

describe("formatBytes", () => {
  it.each([
    [512, "512 bytes"],
    [64 * 1024, "64 KiB"],
    [1 << 20, "1 MiB"],
    [1.5 * (1 << 20), "1.5 MiB"],
    [10 << 20, "10 MiB"],
    [1_000_000, "976.6 KiB"],
    [2 ** 30, "1 GiB"],
  ])("%d → %s", (bytes, words) => {
    expect(formatBytes(bytes)).toBe(words);
  });
});

describe("describeLimit", () => {
  const limits = { timeoutMs: 5000, memoryMb: 128, outputBytes: 65_536 };
  it.each<[string, object, string | null]>([
    [
      "output, with limits",
      { status: "output_exceeded", limits },
      "output limit of 64 KiB reached",
    ],
    ["output, without", { status: "output_exceeded" }, "output limit reached"],
    [
      "memory, with limits",
      { status: "memory_exceeded", limits },
      "memory limit of 128 MiB reached",
    ],
    ["memory, without", { status: "memory_exceeded" }, "memory limit reached"],
    ["a failure", { status: "failed", limits }, null],
  ])("%s", (_name, result, words) => {
    expect(describeLimit(result as Parameters<typeof describeLimit>[0])).toBe(words);
  });
});
