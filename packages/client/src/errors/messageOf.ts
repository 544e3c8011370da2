/** The message of whatever was thrown, for an error message of the client's own. */
export function messageOf(error: unknown): string {
  return (error as Error)?.message ?? String(error);
}
