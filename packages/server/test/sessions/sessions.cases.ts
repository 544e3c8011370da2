/**
 * The behaviour of sessions over HTTP (`/sessions`): run by test/zygote.test.ts and
 * test/spawn.test.ts on both start-up paths, against the real sandboxed handler.
 */
import { accessCases } from "./access.cases";
import { sessionFileCases } from "./files.cases";
import { lifecycleCases } from "./lifecycle.cases";
import { limitCases } from "./limits.cases";
import { stateCases } from "./state.cases";

export function sessionCases(startup: "spawn" | "zygote"): void {
  stateCases(startup);
  limitCases(startup);
  sessionFileCases(startup);
  accessCases(startup);
  lifecycleCases(startup);
}
