/** The client types this package codes against, under the names used here. */
export type {
  BackendKind,
  ClientOptions,
  ClientRunResult as RunOutcome,
  ConnectionError,
  ConnectionStatus as ClientStatus,
  MechaClient,
  RunHandle,
} from "@mecha/client";
