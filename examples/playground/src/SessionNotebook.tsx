import type { RunLimits } from "@mecha/protocol";
import { CodeRunner, useBackendStatus, useSession } from "@mecha/react";
import { useState } from "react";
import { describeSession } from "./describeSession";

interface Cell {
  key: number;
  code: string;
}

/**
 * The playground's session mode: cells that run in one session, as a notebook's do — a variable
 * one cell defines, the cells after it can use, and a final expression's value is shown. The
 * banner says where the session is and what it keeps.
 */
export function SessionNotebook({
  cells: initial,
  limits,
}: {
  cells: string[];
  limits: RunLimits;
}) {
  const session = useSession();
  const { status } = useBackendStatus();
  const [cells, setCells] = useState<Cell[]>(() =>
    initial.map((code, index) => ({ key: index, code })),
  );
  const words = describeSession(session, status);
  const backend = session.session?.backend;
  // Coloured as the backend banner is: where the cells run, or red when they cannot.
  const location =
    session.status === "lost" || session.status === "error" || session.status === "closed"
      ? "offline"
      : session.status !== "ready"
        ? undefined
        : backend === "mock"
          ? "simulated"
          : backend === "server" && status === "offline"
            ? "offline"
            : backend;
  return (
    <section className="pg-notebook" aria-label="Notebook">
      <div className="pg-status pg-session" data-state={session.status} data-location={location}>
        <p>
          <strong>
            <output aria-label="Session state">{words.title}</output>
          </strong>
          {words.detail && <span className="pg-detail"> · {words.detail}</span>}
        </p>
        <button
          type="button"
          onClick={() => void session.restart()}
          disabled={session.status === "opening"}
        >
          Restart session
        </button>
      </div>
      {session.status === "lost" && (
        <p role="alert" className="pg-alert">
          The session was lost: every variable, import and file in it is gone. Restart the session,
          then run the cells again from the top.
        </p>
      )}
      {cells.map((cell, index) => (
        <CodeRunner
          key={cell.key}
          aria-label={`Cell ${index + 1}`}
          session={session}
          defaultCode={cell.code}
          limits={limits}
        />
      ))}
      <button
        type="button"
        className="pg-addCell"
        onClick={() => setCells((all) => [...all, { key: all.length, code: "" }])}
      >
        Add a cell
      </button>
    </section>
  );
}
