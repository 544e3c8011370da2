export type {
  BrowserBackend,
  BrowserBackendOptions,
  BrowserBackendState,
  WorkerLike,
} from "./browserBackendOptions";
export { createBrowserBackend } from "./createBrowserBackend";
export type { BrowserLimits } from "./toRunJob";
export type { RuntimeInfo } from "./workerProtocol";
