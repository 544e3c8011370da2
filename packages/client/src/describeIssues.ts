interface ZodLikeError {
  issues: readonly { path: readonly PropertyKey[]; message: string }[];
}

/** The first schema issues of a response that failed validation, for an error message. */
export function describeIssues(error: ZodLikeError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.map(String).join(".") || "(root)"}: ${issue.message}`)
    .join("; ");
}
