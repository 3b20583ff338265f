// `npm run docs`: rewrites the tables of docs/catalogue.md from the built-in scenario files, then lets biome format
// them. The text around the tables (the deciding sentences) is written by hand.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { withTables } from "../lab/catalogue/doc.js";
import { loadCatalogue } from "../lab/catalogue/load.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const file = `${root}/docs/catalogue.md`;
writeFileSync(file, withTables(readFileSync(file, "utf8"), loadCatalogue()));
const biome = spawnSync("npx", ["biome", "format", "--write", file], { cwd: root, stdio: "inherit" });
process.exit(biome.status ?? 1);
