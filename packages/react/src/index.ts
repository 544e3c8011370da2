// Types of the framework-free state this package renders (it lives in @mecha/client/run-store).
export type {
  RunSnapshot,
  RunState,
  TerminalBuffer,
  TerminalLine,
  TerminalLineInput,
  TerminalStream,
} from "@mecha/client/run-store";
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
export { MechaProvider, type MechaProviderProps } from "./MechaProvider";
export { isMechaReactError, MechaReactError, type MechaReactErrorCode } from "./MechaReactError";
export { Terminal, type TerminalProps } from "./terminal/Terminal";
export type { TerminalState } from "./terminal/TerminalContext";
export type { TerminalButtonProps } from "./terminal/TerminalCopy";
export type { TerminalInputProps } from "./terminal/TerminalInput";
export type { TerminalRootProps, TerminalRun } from "./terminal/TerminalRoot";
export type { TerminalViewportProps } from "./terminal/TerminalViewport";
export { type BackendStatus, type RunLocation, useBackendStatus } from "./useBackendStatus";
export { useMechaClient } from "./useMechaClient";
export { type RunInput, type UseRunOptions, type UseRunResult, useRun } from "./useRun";
