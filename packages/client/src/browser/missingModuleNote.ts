import type { MissingModule } from "./workerProtocol";

/** What the worker knows of a module the program could not import. */
export interface MissingModuleContext {
  /** The package of the distribution's `pyodide-lock.json` that provides the module, if any. */
  package?: string | undefined;
  /** Loading that package was tried (`packages`, `autoLoadPackages`) and did not work. */
  loadFailed: boolean;
}

/**
 * The note written after the traceback of a program that imports what the browser's Python does
 * not have: where the program ran, what that Python has, and what to do about it.
 */
export function missingModuleNote(missing: MissingModule, context: MissingModuleContext): string {
  const module = JSON.stringify(missing.module);
  const found = context.package && JSON.stringify(context.package);
  const provides = found === module ? "" : ` (which provides ${module})`;
  const state = missing.stdlib
    ? `${module} is a standard library module that Pyodide leaves out.`
    : found
      ? `${found}${provides} ${context.loadFailed ? "could not be loaded from there" : "is not loaded"}.`
      : `No package there provides ${module}.`;
  const otherwise = found
    ? `, or self-host a full Pyodide distribution (the pyodide npm package has no packages), set indexURL to it and load ${found} with autoLoadPackages: true or packages: [${found}]`
    : missing.stdlib
      ? ""
      : `, or add a wheel that provides it to a self-hosted Pyodide distribution's pyodide-lock.json`;
  return `Note: this program ran in the browser's Python (Pyodide), which has only the standard library and the packages the page loads from its Pyodide distribution (indexURL). ${state} Run it on a Mecha server that has ${found || module}${otherwise}.\n`;
}
