import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  CallToolRequestSchema,
  ErrorCode,
  InitializeRequestSchema,
  isJSONRPCRequest,
  type JSONRPCRequest,
  ListToolsRequestSchema,
  PingRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";

/**
 * The requests this server answers, with the schema the SDK parses each with. The SDK parses a
 * request before the handler's own check, so one that does not fit would be answered -32603
 * (internal error) with the parser's dump; methods it does not serve stay -32601 (not found).
 */
const SCHEMAS = {
  initialize: InitializeRequestSchema,
  ping: PingRequestSchema,
  "tools/list": ListToolsRequestSchema,
  "tools/call": CallToolRequestSchema,
} as const;

/** How `expected` of an `invalid_type` issue reads. */
const EXPECTED: Record<string, string> = {
  object: "an object",
  record: "an object",
  array: "an array",
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "a boolean",
};

/** What a value is, as a message names it. */
function kind(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

interface Issue {
  code: string;
  path: PropertyKey[];
  message: string;
  expected?: string;
}

/** One issue in a few words: `arguments must be an object (got a string)`. */
function describe(issue: Issue, request: JSONRPCRequest): string {
  let value: unknown = request;
  for (const key of issue.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[key];
  const where = issue.path.slice(1).map(String).join(".") || String(issue.path[0] ?? "params");
  const expected = issue.code === "invalid_type" ? EXPECTED[issue.expected ?? ""] : undefined;
  return expected
    ? `${where} must be ${expected} (got ${kind(value)})`
    : `${where}: ${issue.message}`;
}

/** Why a request's params do not fit its method, in one line; null when they do. */
function invalidParams(request: JSONRPCRequest): string | null {
  const schema = SCHEMAS[request.method as keyof typeof SCHEMAS];
  const parsed = schema?.safeParse(request);
  if (!parsed || parsed.success) return null;
  const issues = (parsed.error.issues as Issue[]).map((issue) => describe(issue, request));
  return `Invalid params for ${request.method}: ${issues.join("; ")}.`;
}

/**
 * Why the initialize request in an opening POST's body (a copy of it, read to its end) was
 * refused, when its params do not fit; null when the body holds no such request. The transport
 * takes an initialize request that does not fit for another one and says only that the server
 * is not initialized.
 */
export async function refusedInitialize(
  body: Request,
): Promise<{ id: JSONRPCRequest["id"]; problem: string } | null> {
  const message: unknown = await body.json().catch(() => null);
  if (!isJSONRPCRequest(message) || message.method !== "initialize") return null;
  const problem = invalidParams(message);
  return problem === null ? null : { id: message.id, problem };
}

/**
 * Answers each request whose params do not fit its method with JSON-RPC -32602 (invalid params)
 * and a line saying what is wrong, through the transport as any answer; the server never sees it.
 * Call once the server is connected to `transport`.
 */
export function checkParams(transport: Transport): void {
  const deliver = transport.onmessage;
  transport.onmessage = (message, extra) => {
    const problem = isJSONRPCRequest(message) ? invalidParams(message) : null;
    if (problem === null) return deliver?.(message, extra);
    const { id } = message as JSONRPCRequest;
    void transport
      .send({
        jsonrpc: "2.0",
        id,
        error: { code: ErrorCode.InvalidParams, message: problem },
      })
      .catch(() => {});
  };
}
