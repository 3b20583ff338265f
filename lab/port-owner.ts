// Who holds a port: when a listener cannot bind because the address is in use, the error (lab/listen-error.ts) and
// `danelab doctor` name the process that has it (from `ss`, iproute2), so the admin knows what to stop. Best effort:
// without `ss` or the right to see other users' sockets it says nothing.
import { spawnSync } from "node:child_process";

export function portOwner(address: string, port: number, transport: "udp" | "tcp"): string | null {
  const r = spawnSync("ss", ["-Hlnp", transport === "udp" ? "-u" : "-t", `sport = :${port}`], {
    encoding: "utf8",
    timeout: 2000,
  });
  if (r.status !== 0 || !r.stdout) return null;
  for (const line of r.stdout.split("\n")) {
    const local = line.trim().split(/\s+/)[3] ?? "";
    const host = local.slice(0, local.lastIndexOf(":"));
    if (host !== address && host !== "0.0.0.0" && host !== "*" && host !== "[::]") continue;
    const m = /users:\(\("([^"]+)",pid=(\d+)/.exec(line);
    if (m) return `${m[1]} (pid ${m[2]}) on ${local}`;
  }
  return null;
}
