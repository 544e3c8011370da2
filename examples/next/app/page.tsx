import { CodeRunner, MechaProvider } from "@mecha/react";
import "@mecha/react/styles.css";

const EXAMPLE = `import sys

name = "Next.js"
print(f"Hello from Python {sys.version_info.major}.{sys.version_info.minor}, running behind {name}!")
print("6 * 7 =", 6 * 7)
`;

export default function Home() {
  return (
    <main>
      <h1>Mecha on Next.js</h1>
      <p>
        Edit the program and press Run (Ctrl/Cmd+Enter). It runs on this app's server through{" "}
        <code>/api/mecha</code>; if that is unreachable, the output is simulated and labelled so.
      </p>
      <MechaProvider options={{ baseUrl: "/api/mecha", fallback: "mock" }}>
        <CodeRunner defaultCode={EXAMPLE} limits={{ timeoutMs: 5000, memoryMb: 128 }} />
      </MechaProvider>
    </main>
  );
}
