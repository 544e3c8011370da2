import { describe, expect, it } from "vitest";
import { jsonPieces, streamedJson } from "./jsonChunks";

const VALUES: [string, unknown][] = [
  ["a run result", { id: "run_1", status: "succeeded", exitCode: 0, stdout: "hi\n", error: null }],
  ["left-out and null-in-array values", { a: undefined, b: [undefined, () => 1, 2], c: "x" }],
  ["numbers JSON has no form for", [Number.NaN, Number.POSITIVE_INFINITY, -0, 1.5e300]],
  ["escapes", { 'k"ey': 'quote " backslash \\ newline \n tab \t nul \u0000 bell \u0007' }],
  ["a Date (toJSON)", { at: new Date(0) }],
  ["nesting", { a: { b: [{ c: [[], {}, ""] }] }, d: true, e: false }],
];

describe("jsonPieces", () => {
  it.each(VALUES)("joins into exactly JSON.stringify's text: %s", (_, value) => {
    expect([...jsonPieces(value, 4)].join("")).toBe(JSON.stringify(value));
  });

  it("slices even at one character a piece, a pair then coming as one", () => {
    const text = "a😀b😀😀";
    expect([...jsonPieces(text, 1)].join("")).toBe(JSON.stringify(text));
  });

  it("slices a long string without splitting a surrogate pair, each piece short", () => {
    const text = `${"é😀x\n".repeat(5000)}😀`;
    const pieces = [...jsonPieces({ stdout: text }, 1000)];
    expect(pieces.join("")).toBe(JSON.stringify({ stdout: text }));
    expect(Math.max(...pieces.map((piece) => piece.length))).toBeLessThanOrEqual(1000 * 2);
    for (const piece of pieces) expect(piece).not.toMatch(/\\ud[89ab]/i);
  });
});

describe("streamedJson", () => {
  it("answers the JSON of a large value in chunks, the first one small", async () => {
    const value = {
      stdout: "y".repeat(3 << 20),
      files: [{ path: "a", content: "z".repeat(1000) }],
    };
    const response = streamedJson(value, 200);
    expect(response.headers.get("content-type")).toContain("application/json");
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(first.value!.byteLength).toBeLessThan(256 * 1024);
    const decoder = new TextDecoder();
    let text = decoder.decode(first.value, { stream: true });
    for (;;) {
      const { value: chunk, done } = await reader.read();
      if (done) break;
      text += decoder.decode(chunk, { stream: true });
    }
    expect(text === JSON.stringify(value)).toBe(true);
  });
});
