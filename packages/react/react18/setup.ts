import { version } from "react";
import { version as domVersion } from "react-dom";

// The aliases in vitest.react18.config.ts are what make this project test React 18: if they
// stopped applying, every test would pass on React 19 and say nothing of 18.
if (!version.startsWith("18.") || !domVersion.startsWith("18.")) {
  throw new Error(`the react18 project renders with react ${version}, react-dom ${domVersion}`);
}
