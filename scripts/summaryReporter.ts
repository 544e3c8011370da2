import type { Reporter, TestCase, TestModule } from "vitest/node";

/**
 * Ends the run with one plain line, `N passed, N failed, N skipped`, that any log reader
 * understands; Vitest's own summary is meant for people.
 */
export default class SummaryReporter implements Reporter {
  private passed = 0;
  private failed = 0;
  private skipped = 0;
  private moduleErrors = 0;

  onTestCaseResult(testCase: TestCase): void {
    const state = testCase.result().state;
    if (state === "passed") this.passed++;
    else if (state === "failed") this.failed++;
    else this.skipped++;
  }

  onTestModuleEnd(testModule: TestModule): void {
    // A file that fails to load has no test cases; count it so it cannot pass unseen.
    if (testModule.errors().length > 0) this.moduleErrors += testModule.errors().length;
  }

  onTestRunEnd(_modules: unknown, unhandledErrors: ReadonlyArray<unknown>): void {
    const failed = this.failed + this.moduleErrors + unhandledErrors.length;
    process.stdout.write(`\n${this.passed} passed, ${failed} failed, ${this.skipped} skipped\n`);
  }
}
