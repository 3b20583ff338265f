// danelab's programmatic surface: `import { startLab } from "danelab"` gives a running lab — `{ manifest, events,
// report(), stop() }` — for integration tests of MTAs, mail filters or monitoring. See the README for an example.
export type { Manifest, ManifestScenario } from "./manifest.js";
export { type Lab, type LabOptions, startLab } from "./up.js";
