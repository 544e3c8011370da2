// Types of the framework-free state this package renders (it lives in @mecha/client/run-store).
export type {
  RunSnapshot,
  RunState,
  TerminalBuffer,
  TerminalLine,
  TerminalLineInput,
  TerminalStream,
} from "@mecha/client/run-store";
export { CodeRunner, type CodeRunnerProps } from "./codeRunner/CodeRunner";
export { useCodeRunner } from "./codeRunner/CodeRunnerContext";
export type { CodeRunnerEditorProps } from "./codeRunner/CodeRunnerEditor";
export type { CodeRunnerFilesProps } from "./codeRunner/CodeRunnerFiles";
export type { CodeRunnerOutputProps } from "./codeRunner/CodeRunnerOutput";
export type { CodeRunnerRootProps } from "./codeRunner/CodeRunnerRoot";
export type { CodeRunnerRunButtonProps } from "./codeRunner/CodeRunnerRunButton";
export type { CodeRunnerStatsProps } from "./codeRunner/CodeRunnerStats";
export type { CodeRunnerStatusProps } from "./codeRunner/CodeRunnerStatus";
export { DisplayView, type DisplayViewProps } from "./display/DisplayView";
export { MechaProvider, type MechaProviderProps } from "./MechaProvider";
export { isMechaReactError, MechaReactError, type MechaReactErrorCode } from "./MechaReactError";
export type {
  SessionRunner,
  SessionSnapshot,
  SessionStatus,
} from "./session/createSessionStore";
export { Terminal, type TerminalProps } from "./terminal/Terminal";
export type { TerminalState } from "./terminal/TerminalContext";
export type { TerminalButtonProps } from "./terminal/TerminalCopy";
export type { TerminalInputProps } from "./terminal/TerminalInput";
export type { TerminalRootProps, TerminalRun } from "./terminal/TerminalRoot";
export type { TerminalViewportProps } from "./terminal/TerminalViewport";
export { type BackendStatus, type RunLocation, useBackendStatus } from "./useBackendStatus";
export { useMechaClient } from "./useMechaClient";
export { type RunInput, type UseRunOptions, type UseRunResult, useRun } from "./useRun";
export { type UseSessionOptions, type UseSessionResult, useSession } from "./useSession";
