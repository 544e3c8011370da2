import * as z from "zod/mini";
import { expected } from "./internal/messages";

/** Languages a server can run. Protocol v1 knows one. */
export const Language = z.enum(["python"], {
  error: expected("language", '"python" (the only language this server runs)'),
});
export type Language = z.infer<typeof Language>;
