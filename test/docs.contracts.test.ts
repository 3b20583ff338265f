// docs/contracts.md states today's interfaces; this test holds the parts of it that would otherwise drift from the
// code without anyone noticing: the manifest field table (against what lab/manifest.ts writes for a real lab build and
// what clients/lab-api.ts checks with zod), the HTTP endpoints (lab/http/api.ts ENDPOINTS), the commands of the CLI,
// and every repository path that docs/contracts.md and docs/architecture.md name. No sockets.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { ManifestSchema } from "../clients/lab-api.js";
import { ENDPOINTS } from "../lab/http/api.js";
import { buildManifest, type Manifest } from "../lab/manifest.js";
import { type BuiltLab, buildLab } from "../lab/up.js";

const ROOT = join(import.meta.dirname, "..");
const CONTRACTS = readFileSync(join(ROOT, "docs/contracts.md"), "utf8");
/** The file that defines the `danelab` commands. */
const CLI_SOURCE = "cli/main.ts";

/** The lines of one `## ` section of docs/contracts.md, found by the start of its heading. */
function section(heading: string): string {
  const start = CONTRACTS.indexOf(`\n## ${heading}`);
  if (start < 0) throw new Error(`docs/contracts.md has no section "## ${heading}"`);
  const end = CONTRACTS.indexOf("\n## ", start + 1);
  return CONTRACTS.slice(start, end < 0 ? undefined : end);
}

/** Table rows of a section: cells without the outer pipes, header and separator rows dropped. */
function tableRows(text: string): string[][] {
  return text
    .split("\n")
    .filter((l) => l.startsWith("| ") && !l.startsWith("| ---"))
    .map((l) =>
      l
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim()),
    )
    .slice(1);
}

interface DocumentedField {
  path: string;
  optional: boolean;
  types: string[];
  clients: boolean;
}

const documented: DocumentedField[] = tableRows(section("The manifest")).map(([field, type, clients]) => {
  const path = field!.replace(/^`|`$/g, "");
  return {
    path: path.replace(/\?$/, ""),
    optional: path.endsWith("?"),
    types: type!.split("\\|").map((t) => t.trim()),
    clients: clients === "yes",
  };
});

/** Every value found at every path of a JSON value: "scenarios[].mx[].host" → its values across all entries. */
function valuesByPath(value: unknown, path = "", out = new Map<string, unknown[]>()): Map<string, unknown[]> {
  if (Array.isArray(value)) {
    for (const item of value) {
      out.set(`${path}[]`, [...(out.get(`${path}[]`) ?? []), item]);
      valuesByPath(item, `${path}[]`, out);
    }
  } else if (value !== null && typeof value === "object") {
    for (const [key, v] of Object.entries(value)) {
      const p = path ? `${path}.${key}` : key;
      out.set(p, [...(out.get(p) ?? []), v]);
      valuesByPath(v, p, out);
    }
  }
  return out;
}

/** Does a value fit one documented type: string, number, object, X[], null, or a literal such as `1`, `"unbound"`? */
function fits(value: unknown, type: string): boolean {
  if (type.startsWith("`")) return JSON.stringify(value) === type.slice(1, -1);
  if (type.endsWith("[]")) return Array.isArray(value) && value.every((v) => fits(v, type.slice(0, -2)));
  if (type === "null") return value === null;
  if (type === "object") return value !== null && typeof value === "object" && !Array.isArray(value);
  return typeof value === type;
}

/** The property paths a JSON Schema describes (arrays as `[]`), e.g. "dns.resolver.kind". */
function schemaPaths(schema: Record<string, unknown>, path = "", out: string[] = []): string[] {
  for (const alt of (schema["anyOf"] as Record<string, unknown>[] | undefined) ?? []) schemaPaths(alt, path, out);
  if (schema["items"]) schemaPaths(schema["items"] as Record<string, unknown>, `${path}[]`, out);
  for (const [key, sub] of Object.entries((schema["properties"] as Record<string, Record<string, unknown>>) ?? {})) {
    const p = path ? `${path}.${key}` : key;
    out.push(p);
    schemaPaths(sub, p, out);
  }
  return out;
}

describe("docs/contracts.md, the manifest", () => {
  let stateDir: string;
  let built: BuiltLab;
  let manifests: Manifest[];

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), "danelab-docs-"));
    // Scenarios with and without what real MTAs did (`known`), with two MX hosts, with an MTA-STS policy with and
    // without a fault.
    built = await buildLab({
      stateDir,
      only: ["dual-one-tlsa", "mx-preference", "sts-enforce-pkix", "sts-fetch-timeout"],
    });
    manifests = [
      buildManifest(built.plan, built.pki, built.tree, { stateDir, httpUrl: null, resolver: null }),
      buildManifest(built.plan, built.pki, built.tree, {
        stateDir,
        httpUrl: "http://127.0.0.1:8025",
        resolver: { kind: "unbound", address: "127.0.53.2", port: 53 },
        sts: { address: "127.0.53.1", port: 443, publicRoot: join(stateDir, "public-root.pem") },
      }),
    ];
  }, 120_000);
  afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

  it("documents every field lab/manifest.ts writes, with its type, and no field it does not write", () => {
    const found = new Map<string, unknown[]>();
    for (const m of manifests) {
      for (const [path, values] of valuesByPath(m)) found.set(path, [...(found.get(path) ?? []), ...values]);
    }
    const written = [...found.keys()].filter((p) => !p.endsWith("[]"));
    expect(documented.map((f) => f.path).sort()).toEqual(written.sort());
    for (const field of documented) {
      const values = found.get(field.path)!;
      const wrong = values.filter((v) => !field.types.some((t) => fits(v, t)));
      expect(wrong, `${field.path}: documented as ${field.types.join(" | ")}`).toEqual([]);
      // A field not marked optional is in every object that holds it.
      const parentPath = field.path.replace(/\.[^.]+$/, "");
      const parents =
        parentPath === field.path
          ? manifests
          : (found.get(parentPath) ?? []).filter((p) => p !== null && typeof p === "object" && !Array.isArray(p));
      const present = parents.filter((p) => field.path.split(/\.|\[\]\./).at(-1)! in (p as object)).length;
      if (field.optional) expect(present, `${field.path}? is never written`).toBeGreaterThan(0);
      else expect(present, `${field.path} is missing from some entries`).toBe(parents.length);
    }
  });

  it('marks as "clients/" exactly the fields clients/lab-api.ts checks', () => {
    const checked = schemaPaths(z.toJSONSchema(ManifestSchema, { io: "input" }) as Record<string, unknown>);
    expect(
      documented
        .filter((f) => f.clients)
        .map((f) => f.path)
        .sort(),
    ).toEqual([...new Set(checked)].sort());
  });
});

describe("docs/contracts.md, the HTTP API and the CLI", () => {
  it("lists every endpoint of lab/http/api.ts and no other", () => {
    const table = section("The HTTP API")
      .split("\n")
      .filter((l) => l.startsWith("| `"))
      .join("\n");
    const inDoc = [...table.matchAll(/`((?:GET|POST) \/api\/[^`]*)`/g)].map((m) => m[1]);
    expect(inDoc.sort()).toEqual(ENDPOINTS.map((e) => `${e.method} ${e.path}`).sort());
  });

  it(`lists every command of ${CLI_SOURCE} and no other`, () => {
    const source = readFileSync(join(ROOT, CLI_SOURCE), "utf8");
    const commands = [...source.matchAll(/\.command\("([a-z-]+)"/g)].map((m) => m[1]);
    const inDoc = tableRows(section("The command line")).map(([cell]) => /^`([a-z-]+)/.exec(cell!)?.[1]);
    expect(inDoc.sort()).toEqual(commands.sort());
  });
});

describe("docs name files that exist", () => {
  // A repository path: a top-level folder of this repository, then a file name with an extension or a folder ending
  // in "/". Names such as lab/root (a certificate) or <state>/zones/… (the state directory) are not paths here.
  const PATH =
    /(?<![\w/.<>-])((?:bin|certs|cli|clients|dane|docs|lab|scripts|test|testcontainers|zones)\/(?:[\w.-]+\/)*(?:[\w-][\w.-]*\.[a-z]+\b|))/g;
  for (const doc of ["docs/contracts.md", "docs/architecture.md"]) {
    it(doc, () => {
      const text = readFileSync(join(ROOT, doc), "utf8");
      const paths = [...new Set([...text.matchAll(PATH)].map((m) => m[1]!))];
      expect(paths.length).toBeGreaterThan(10);
      expect(paths.filter((p) => !existsSync(join(ROOT, p)))).toEqual([]);
    });
  }
});
