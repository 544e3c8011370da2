import axe from "axe-core";
import { expect } from "vitest";

/** Fails with the list of accessibility violations axe-core finds in `container`. */
export async function expectNoAxeViolations(container: Element): Promise<void> {
  const results = await axe.run(container, {
    // jsdom computes no colours or layout.
    rules: { "color-contrast": { enabled: false } },
  });
  const violations = results.violations.map(
    (violation) =>
      `${violation.id}: ${violation.help} (${violation.nodes.map((node) => node.target.join(" ")).join(", ")})`,
  );
  expect(violations).toEqual([]);
}
