export {
  CodeRunner,
  type CodeRunnerEditorProps,
  type CodeRunnerOutputProps,
  type CodeRunnerProps,
  type CodeRunnerRootProps,
  type CodeRunnerRunButtonProps,
  type CodeRunnerStatsProps,
  type CodeRunnerStatusProps,
  useCodeRunner,
} from "./codeRunner/CodeRunner";
export {
  createRunSession,
  isActiveRunState,
  type RunSession,
  type RunSessionOptions,
  type RunSnapshot,
  type RunState,
} from "./createRunSession";
export { MechaProvider, type MechaProviderProps } from "./MechaProvider";
export { isMechaReactError, MechaReactError, type MechaReactErrorCode } from "./MechaReactError";
export { type AnsiSegment, parseAnsi, stripAnsi } from "./terminal/ansi";
export {
  createTerminalBuffer,
  type TerminalBuffer,
  type TerminalBufferOptions,
  type TerminalLine,
  type TerminalLineInput,
  type TerminalStream,
} from "./terminal/createTerminalBuffer";
export {
  Terminal,
  type TerminalButtonProps,
  type TerminalInputProps,
  type TerminalProps,
  type TerminalRootProps,
  type TerminalRun,
  type TerminalState,
  type TerminalViewportProps,
} from "./terminal/Terminal";
export { type BackendStatus, type RunLocation, useBackendStatus } from "./useBackendStatus";
export { useMechaClient } from "./useMechaClient";
export { type RunInput, type UseRunOptions, type UseRunResult, useRun } from "./useRun";
