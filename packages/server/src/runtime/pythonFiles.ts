/// <reference path="../rawText.d.ts" />
// The Python a run executes, bundled as text: the package finds no file of its own at run time,
// so it works wherever a host's bundler puts it (a Next.js server bundle, say).
import runError from "@mecha/protocol/python/run_error.py?raw";
import bootstrap from "../../python/bootstrap.py?raw";
import display from "../../python/mecha_display.py?raw";
import files from "../../python/mecha_files.py?raw";
import finish from "../../python/mecha_finish.py?raw";
import guard from "../../python/mecha_guard.py?raw";
import inits from "../../python/mecha_inits.py?raw";
import inline from "../../python/mecha_inline.py?raw";
import isolation from "../../python/mecha_isolation.py?raw";
import linux from "../../python/mecha_linux.py?raw";
import plainRuns from "../../python/mecha_plain_runs.py?raw";
import reporter from "../../python/mecha_report.py?raw";
import sandboxRuns from "../../python/mecha_sandbox_runs.py?raw";
import session from "../../python/mecha_session.py?raw";
import stdin from "../../python/mecha_stdin.py?raw";
import survey from "../../python/mecha_survey.py?raw";
import windows from "../../python/mecha_windows.py?raw";
import zygoteCore from "../../python/mecha_zygote.py?raw";
import seccompFilter from "../../python/seccomp_filter.py?raw";
import zygote from "../../python/zygote.py?raw";

/** What the runtime writes into its state directory, by file name. */
export const PYTHON_FILES: Readonly<Record<string, string>> = {
  "bootstrap.py": bootstrap,
  "run_error.py": runError,
  "zygote.py": zygote,
  "mecha_zygote.py": zygoteCore,
  "mecha_sandbox_runs.py": sandboxRuns,
  "mecha_plain_runs.py": plainRuns,
  "mecha_linux.py": linux,
  "mecha_inits.py": inits,
  "mecha_isolation.py": isolation,
  "mecha_display.py": display,
  "mecha_inline.py": inline,
  "mecha_files.py": files,
  "mecha_finish.py": finish,
  "mecha_report.py": reporter,
  "mecha_guard.py": guard,
  "mecha_session.py": session,
  "mecha_stdin.py": stdin,
  "mecha_windows.py": windows,
};

/** Writes the seccomp filter for this host with python3-seccomp (see `generateSeccomp`). */
export const SECCOMP_FILTER_SCRIPT = seccompFilter;

/** What the survey run executes at start-up (see surveyInterpreter). */
export const SURVEY_SCRIPT = survey;
