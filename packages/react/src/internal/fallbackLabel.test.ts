// @vitest-environment node
import { describe, expect, it } from "vitest";
import { createFakeClient } from "../test/fakeClient";
import type { ClientOptions } from "./clientTypes";
import { fallbackLabel } from "./fallbackLabel";
import type { FallbackLabel } from "./MechaContext";

const browser = { run: async () => ({}) } as unknown as NonNullable<ClientOptions["browser"]>;
const withoutFallbacks = () => createFakeClient({ fallbacks: null });

describe("fallbackLabel", () => {
  it.each([
    [["mock"], "mock"],
    [["browser", "mock"], "browser"],
    [[], "none"],
  ] as const)("reads the client's own fallbacks %j as %s", (fallbacks, label) => {
    expect(fallbackLabel(createFakeClient({ fallbacks }), undefined, undefined)).toBe(label);
  });

  it("prefers the client's fallbacks to the prop and the options", () => {
    const client = createFakeClient({ fallbacks: ["mock"] });
    expect(fallbackLabel(client, "browser", { baseUrl: "/x", fallback: "browser", browser })).toBe(
      "mock",
    );
  });

  it("takes the prop for a client without fallbacks", () => {
    expect(fallbackLabel(withoutFallbacks(), "mock", undefined)).toBe("mock");
    expect(fallbackLabel(withoutFallbacks(), "none", { baseUrl: "/x", fallback: "mock" })).toBe(
      "none",
    );
  });

  it.each<[ClientOptions["fallback"], boolean, FallbackLabel]>([
    [undefined, false, "none"],
    ["none", false, "none"],
    ["mock", false, "mock"],
    ["browser", true, "browser"],
    ["browser", false, "none"],
    [["browser", "mock"], true, "browser"],
    // The client skips "browser" without a browser backend, and so does the label.
    [["browser", "mock"], false, "mock"],
  ])(
    "reads options with fallback %j (browser backend: %s) as %s",
    (fallback, hasBrowser, label) => {
      const options: ClientOptions = {
        baseUrl: "/x",
        fallback,
        ...(hasBrowser ? { browser } : {}),
      };
      expect(fallbackLabel(withoutFallbacks(), undefined, options)).toBe(label);
    },
  );

  it("does not know without fallbacks, prop or options", () => {
    expect(fallbackLabel(withoutFallbacks(), undefined, undefined)).toBeNull();
  });
});
