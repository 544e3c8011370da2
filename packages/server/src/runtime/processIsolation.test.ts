import { describe, expect, it } from "vitest";
import { forkedPreloadWarning } from "./processIsolation";

describe("forkedPreloadWarning", () => {
  it("warns on macOS when a zygote forks runs from an interpreter that preloaded packages", () => {
    const warning = forkedPreloadWarning("darwin", true, ["numpy", "pandas"]);
    expect(warning).toContain("preloaded numpy, pandas");
    expect(warning).toContain("--startup spawn");
  });

  it("says nothing elsewhere, without a zygote, or without preloads", () => {
    expect(forkedPreloadWarning("linux", true, ["numpy"])).toBeNull();
    expect(forkedPreloadWarning("darwin", false, ["numpy"])).toBeNull();
    expect(forkedPreloadWarning("darwin", true, [])).toBeNull();
  });
});
