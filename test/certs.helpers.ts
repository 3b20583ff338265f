// Shared by the certs/ integration tests: run a real tool without blocking the event loop (a TLS server may be
// running in this very process), and read what `openssl x509 -text` says about a certificate.
import { spawn } from "node:child_process";

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout + stderr, for tools that print their verdict on either. */
  output: string;
}

/** Runs `cmd args`, feeds `input` (or nothing) on stdin and closes it; never throws on a non-zero exit. */
export function run(cmd: string, args: string[], opts: { input?: string | Buffer; timeoutMs?: number } = {}) {
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 20_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString("utf8");
      const stderr = Buffer.concat(err).toString("utf8");
      resolve({ code, stdout, stderr, output: stdout + stderr });
    });
    child.stdin.on("error", () => {}); // the tool may exit before reading its input
    child.stdin.end(opts.input ?? "");
  });
}

/** A run whose output is binary (DER). */
export function runBinary(cmd: string, args: string[], input: string | Buffer): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "inherit"] });
    const out: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`${cmd} ${args.join(" ")} exited ${code}`)),
    );
    child.stdin.end(input);
  });
}

export interface X509Text {
  subject: string;
  issuer: string;
  /** DNS names, in order; null when there is no subjectAltName extension. */
  san: string[] | null;
  keyUsage: { critical: boolean; value: string } | null;
  extKeyUsage: { critical: boolean; value: string } | null;
  basicConstraints: { critical: boolean; value: string } | null;
  authorityKeyIdentifier: string | null;
  publicKey: string;
  signatureAlgorithm: string;
}

/** Parses the parts of `openssl x509 -text -noout` the tests look at. */
export function parseX509Text(text: string): X509Text {
  const lines = text.split("\n");
  const field = (label: string) => {
    const line = lines.find((l) => l.trimStart().startsWith(`${label}:`));
    return line === undefined ? "" : line.slice(line.indexOf(":") + 1).trim();
  };
  const ext = (label: string) => {
    const i = lines.findIndex((l) => new RegExp(`^\\s+${label}:( critical)?\\s*$`).test(l));
    if (i < 0) return null;
    return { critical: lines[i]!.includes("critical"), value: (lines[i + 1] ?? "").trim() };
  };
  const san = ext("X509v3 Subject Alternative Name");
  return {
    subject: field("Subject"),
    issuer: field("Issuer"),
    san: san ? san.value.split(", ").map((s) => s.replace(/^DNS:/, "")) : null,
    keyUsage: ext("X509v3 Key Usage"),
    extKeyUsage: ext("X509v3 Extended Key Usage"),
    basicConstraints: ext("X509v3 Basic Constraints"),
    authorityKeyIdentifier: ext("X509v3 Authority Key Identifier")?.value ?? null,
    publicKey: field("Public Key Algorithm"),
    signatureAlgorithm: field("Signature Algorithm"),
  };
}
