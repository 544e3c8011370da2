/**
 * The signals that ask a server to stop. Windows has no SIGTERM of its own to send: it sends
 * Ctrl-C as SIGINT, Ctrl-Break as SIGBREAK, and SIGHUP when the console window closes (and
 * ends the process about 10 seconds later), so those stop it too.
 */
export function shutdownSignals(platform: NodeJS.Platform = process.platform): NodeJS.Signals[] {
  return platform === "win32" ? ["SIGINT", "SIGTERM", "SIGBREAK", "SIGHUP"] : ["SIGINT", "SIGTERM"];
}
