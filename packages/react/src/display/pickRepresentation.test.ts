import type { Display } from "@mecha/protocol";
import { describe, expect, it } from "vitest";
import { PNG_BASE64 } from "../test/displays";
import { pickRepresentation } from "./pickRepresentation";

const bundle = (data: Record<string, string>, metadata?: Display["metadata"]): Display => ({
  data: { "text/plain": "plain", ...data },
  ...(metadata ? { metadata } : {}),
});

describe("pickRepresentation", () => {
  it.each<[string, Record<string, string>, { kind: string; mime: string }]>([
    [
      "HTML over everything else",
      { "text/html": "<b>x</b>", "image/png": PNG_BASE64 },
      { kind: "html", mime: "text/html" },
    ],
    [
      "SVG over PNG",
      { "image/svg+xml": "<svg/>", "image/png": PNG_BASE64 },
      { kind: "image", mime: "image/svg+xml" },
    ],
    [
      "PNG over JPEG",
      { "image/png": PNG_BASE64, "image/jpeg": PNG_BASE64 },
      { kind: "image", mime: "image/png" },
    ],
    ["JPEG", { "image/jpeg": PNG_BASE64 }, { kind: "image", mime: "image/jpeg" }],
    [
      "Markdown as its text",
      { "text/markdown": "# Title" },
      { kind: "text", mime: "text/markdown" },
    ],
    [
      "JSON as its text",
      { "application/json": '{"a":1}' },
      { kind: "text", mime: "application/json" },
    ],
    [
      "text/plain for a type it does not know",
      { "application/vnd.custom+json": "{}" },
      { kind: "text", mime: "text/plain" },
    ],
    [
      "text/plain for a PNG that is not base64",
      { "image/png": "not base64!" },
      { kind: "text", mime: "text/plain" },
    ],
  ])("picks %s", (_name, data, expected) => {
    expect(pickRepresentation(bundle(data))).toMatchObject(expected);
  });

  it("makes an image a data: URL, alt from text/plain, size from metadata", () => {
    expect(
      pickRepresentation(
        bundle(
          { "image/png": `${PNG_BASE64.slice(0, 40)}\n${PNG_BASE64.slice(40)}` },
          {
            "image/png": { width: 640.4, height: 480 },
          },
        ),
      ),
    ).toEqual({
      kind: "image",
      mime: "image/png",
      src: `data:image/png;base64,${PNG_BASE64}`,
      alt: "plain",
      width: 640,
      height: 480,
    });
  });

  it("ignores sizes that are not positive numbers", () => {
    const shown = pickRepresentation(
      bundle({ "image/png": PNG_BASE64 }, { "image/png": { width: "640", height: -1 } }),
    );
    expect(shown).not.toHaveProperty("width");
    expect(shown).not.toHaveProperty("height");
  });

  it("puts SVG in a data: URL, escaped, never as markup", () => {
    const shown = pickRepresentation(bundle({ "image/svg+xml": '<svg onload="x()">#</svg>' }));
    expect(shown).toMatchObject({
      kind: "image",
      src: "data:image/svg+xml;charset=utf-8,%3Csvg%20onload%3D%22x()%22%3E%23%3C%2Fsvg%3E",
    });
  });

  it("pretty-prints JSON, and shows JSON it cannot parse as it came", () => {
    expect(pickRepresentation(bundle({ "application/json": '{"a":[1,2]}' }))).toMatchObject({
      text: '{\n  "a": [\n    1,\n    2\n  ]\n}',
    });
    expect(pickRepresentation(bundle({ "application/json": "{oops" }))).toMatchObject({
      text: "{oops",
    });
  });
});
