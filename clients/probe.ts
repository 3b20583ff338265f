// DANE probe tools as matrix columns: what the tools a mail admin runs by hand say about each scenario's MX, read as
// "would deliver" / "would not deliver". They send no mail, so the lab cannot grade them: the verdict is compared
// with the scenario's `expect` here (probeGrade). Each runs in a container with the lab's resolv.conf and, for the
// GnuTLS tools, the lab's root trust anchor at /usr/share/dns/root.key (compiled into libdane/unbound-anchor users).
//
// - posttls-finger (Postfix's own probe; postfix images): `-l dane`, the verdict is its "Verified TLS connection"
//   line (RFC 7672 §3: DANE authenticated) or a verification failure.
// - danetool --check (gnutls-bin; probe image): prints one block per TLSA record with "Verification: Certificate
//   matches." — under every record of many-tlsa, though only one matches (the seed reporter's confusion); the matrix
//   shows that count next to the verdict.
// gnutls-cli --dane is not a column: here (GnuTLS 3.7.9) it insists on PKI verification as well, and with
// --no-ca-verification it reports "DANE verification error: The requested data are not available" even for
// many-tlsa, so its verdict says nothing about DANE.
import type { ClientDriverKind } from "./builtin.js";
import { clientImage, DriverContainer } from "./container.js";
import type { DriverOptions, MtaDriver } from "./driver.js";
import type { LabGrade } from "./matrix.js";
import type { ClientOutcome } from "./outcome.js";

export type ProbeTool = Extract<ClientDriverKind, "posttls-finger" | "danetool">;

/** One probe run against one scenario's domain: the tool's output and what it says. */
export interface ProbeResult {
  accepts: boolean;
  /** How an MTA like it would send when it accepts: DANE-authenticated, or opportunistic TLS (no usable TLSA). */
  security?: "dane" | "tls-unverified";
  /** TLSA records the tool printed "Certificate matches." under, and how many it printed (danetool). */
  matches?: { matched: number; records: number };
  /** The line the verdict was read from. */
  line: string;
  output: string;
}

/** The shell command for one tool; $1 is the scenario's domain. danetool gets the MX host looked up in the container. */
function command(tool: ProbeTool): string {
  if (tool === "posttls-finger") {
    // -c: no SMTP after STARTTLS; -l dane: RFC 7672 policy; -t/-T: connect and command timeouts.
    return `posttls-finger -c -l dane -t 15 -T 15 "$1" 2>&1`;
  }
  const mx = `mx=$(dig +short MX "$1" | sort -n | awk 'NR==1 { sub(/\\.$/, "", $2); print $2 }')`;
  return `${mx}; [ -n "$mx" ] || { echo "no MX for $1"; exit 0; }; timeout 30 danetool --check "$mx" --port 25 --starttls-proto smtp --local-dns 2>&1`;
}

/** Reads one tool's output. Pure. */
export function parseProbe(tool: ProbeTool, output: string): ProbeResult {
  const lines = output.split("\n").map((l) => l.trim());
  const find = (re: RegExp) => lines.find((l) => re.test(l));
  switch (tool) {
    case "posttls-finger": {
      // "posttls-finger: Verified TLS connection established to mx…[127.0.25.3]:25: TLSv1.3 with cipher …"
      const verified = find(/Verified TLS connection established/);
      // -l dane: a TLSA mismatch is "server certificate verification failed …: num=65:no matching DANE TLSA records"
      // (Postfix defers); without usable TLSA it falls back to opportunistic TLS, "Untrusted TLS connection
      // established" after a CA check it does not need (RFC 7672 §2.2: Postfix delivers).
      // (the leaf: "server certificate …", a TA: "CA certificate verification failed …"), and any other failed check
      // (eku-client-only: "not designated for use as a server certificate"). Only "untrusted issuer" is the PKIX check
      // of the opportunistic fallback, which under DANE never runs.
      const daneFailed = find(
        /no matching DANE TLSA records|TLSA lookup error|certificate verification failed(?!.*untrusted issuer)/i,
      );
      const untrusted = find(/(?:Untrusted|Anonymous|Trusted) TLS connection established/);
      const accepts = !!verified || (!!untrusted && !daneFailed);
      const line = verified ?? daneFailed ?? untrusted ?? lines.filter(Boolean).at(-1) ?? "";
      return { accepts, security: verified ? "dane" : accepts ? "tls-unverified" : undefined, line, output };
    }
    case "danetool": {
      // One "Verification: …" per TLSA record. An admin reads "Certificate matches." as "DANE works" (the seed's
      // reporter did): it is printed under every record of many-tlsa, though only one record matches.
      const records = lines.filter((l) => /^Verification:/.test(l));
      const matched = records.filter((l) => /Certificate matches/.test(l)).length;
      // No record printed: why (GnuTLS's own handshake check, no TLSA, no connection).
      const line =
        records.find((l) => !/Certificate matches/.test(l)) ??
        records[0] ??
        find(/Key usage violation|could not be obtained|No DANE|not found|error/i) ??
        lines.filter(Boolean).at(-1) ??
        "";
      return {
        accepts: matched > 0,
        ...(matched > 0 ? { security: "dane" as const } : {}),
        matches: { matched, records: records.length },
        line,
        output,
      };
    }
  }
}

/** The lab cannot see a probe's verdict (no mail is sent): compare it with the scenario's `expect` here. */
export function probeGrade(tool: ProbeTool, scenario: string, expect: string, o: ClientOutcome | undefined): LabGrade {
  if (!o || (o.status !== "probe-accepts" && o.status !== "probe-rejects")) {
    return { scenario, verdict: "not-tested", reason: "the probe did not run for this scenario" };
  }
  const accepts = o.status === "probe-accepts";
  const said = `the probe ${accepts ? "accepts" : "rejects"} the server (no mail sent; graded here against expect ${expect})`;
  // deliver: DANE must succeed; no-delivery: a DANE client must refuse; tls-required/opportunistic: it must send.
  // danetool judges the TLSA records only, not whether an MTA would fall back to unauthenticated TLS.
  const fallback = tool === "posttls-finger" && (expect === "tls-required" || expect === "opportunistic");
  const want: boolean | undefined =
    expect === "deliver" || fallback ? true : expect === "no-delivery" ? false : undefined;
  if (want === undefined) return { scenario, verdict: "observed", reason: said };
  return { scenario, verdict: accepts === want ? "pass" : "fail", reason: said };
}

/** The probe met a temporary SMTP reply and decided nothing from it. */
function temporary(p: ProbeResult): boolean {
  return (
    !p.accepts && !p.matches?.records && /(?:^|[\s:])4\d\d[ -]/m.test(p.output) && !/TLSA lookup error/.test(p.output)
  );
}

export function probeDriver(tool: ProbeTool, variant: string, options: DriverOptions): MtaDriver {
  const box = new DriverContainer(variant, options);
  const results = new Map<string, ProbeResult>();
  return {
    variant,
    async start() {
      const anchors = options.trustAnchors ?? [];
      await box.start({
        image: options.image ?? clientImage("probe"),
        entrypoint: ["sleep"],
        command: ["infinity"],
        // libdane (danetool --local-dns) reads the DNSSEC root anchor from this compiled-in path.
        files: anchors.length > 0 ? [{ target: "/usr/share/dns/root.key", content: `${anchors.join("\n")}\n` }] : [],
        readyCommand: "true",
      });
    },
    async submit(recipients) {
      const c = box.need();
      // A few at a time: a burst of DNS lookups from every scenario at once starves the lab's resolver on 2 cores.
      const queue = [...recipients];
      const worker = async () => {
        for (let r = queue.shift(); r !== undefined; r = queue.shift()) {
          const domain = r.slice(r.lastIndexOf("@") + 1);
          const out = await c.sh(command(tool), domain);
          results.set(r.toLowerCase(), parseProbe(tool, out.stdout + out.stderr));
        }
      };
      await Promise.all(Array.from({ length: 3 }, worker));
    },
    // A temporary SMTP reply (greylisting, RFC 5321 §4.2.1 4yz) is not a verdict: probe again in the next round.
    async retry() {
      const again = [...results].filter(([, p]) => temporary(p)).map(([r]) => r);
      await this.submit(again);
      return again.length;
    },
    async queued() {
      return [...results.values()].filter(temporary).length;
    },
    async outcomes(recipients) {
      const out = new Map<string, ClientOutcome>();
      for (const r of recipients) {
        const p = results.get(r.toLowerCase());
        if (!p) continue;
        out.set(r.toLowerCase(), {
          recipient: r.toLowerCase(),
          status: p.accepts ? "probe-accepts" : "probe-rejects",
          ...(p.security ? { security: p.security } : {}),
          attempts: 1,
          ...(p.matches ? { matches: p.matches } : {}),
          ...(p.accepts ? {} : { error: p.line }),
          lines: [p.line],
        });
      }
      return out;
    },
    async rawLog() {
      return [...results].map(([r, p]) => `### ${r}\n${p.output}`).join("\n");
    },
    stop: () => box.stop(),
  };
}
