/// <reference path="./rawText.d.ts" />
import runError from "@mecha/protocol/python/run_error.py?raw";
import runner from "./runner.py?raw";

/** The Python the worker runs once per interpreter: the runner and the module it loads. */
export interface PythonRunnerSource {
  /** `runner.py`: runs programs and undoes what each changed (see its docstring). */
  source: string;
  /** `run_error.py` of @mecha/protocol: describes an uncaught exception as the server does. */
  runError: string;
}

/**
 * The Python half of the browser backend, shipped as the text of real `.py` files (loaded as text
 * by the package build, and by Vite when run from source).
 */
export const PYTHON_RUNNER: PythonRunnerSource = { source: runner, runError };
