export { sanitizeAnsi, stripAnsi } from "./ansi";
export type { RunSnapshot, RunState, RunStore, RunStoreOptions } from "./createRunStore";
export { createRunStore, isActiveRunState } from "./createRunStore";
export type {
  TerminalBuffer,
  TerminalBufferOptions,
  TerminalLine,
  TerminalLineInput,
  TerminalStream,
} from "./createTerminalBuffer";
export { createTerminalBuffer } from "./createTerminalBuffer";
