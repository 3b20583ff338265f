// The edits `danelab check --exim-config/--postfix-config` makes to its copy of a user's configuration, on the stock
// Debian files (exim4-config 4.96, postfix 3.7 "Internet Site"), and the checks of the other user-given options.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { checkGnutlsPriority } from "./exim.js";
import { checkGenericMta, genericOutcomes, imageName, parseSmtpUrl } from "./generic.js";
import { eximPlan } from "./mta-config.js";
import { describeOutcome } from "./outcome.js";
import {
  CheckInputError,
  commentOutMacro,
  configName,
  eximEdits,
  postfixEdits,
  prepareEximConfig,
  preparePostfixConfig,
} from "./user-config.js";

const LAB = { nameserver: "127.0.83.53", suffix: "lab.example" };

// The files a Debian 12 install leaves (debconf defaults), copied out of the images scripts/images builds:
// exim4-daemon-heavy's update-exim4.conf.conf (configtype 'local'), postfix's "Internet Site" main.cf and master.cf.
const stock = (name: string) => readFileSync(new URL(`./fixtures/debian-stock/${name}`, import.meta.url), "utf8");
const STOCK_CONF = stock("update-exim4.conf.conf");
const STOCK_MAIN_CF = stock("main.cf");
const STOCK_MASTER_CF = stock("master.cf");

const files = (map: Record<string, string>) => (f: string) => map[f] ?? null;

describe("Exim: the lab's edits to a copy of /etc/exim4", () => {
  it("a stock install: configtype internet, the 127/8 routing macro and the source address, nothing else", () => {
    const { writes, changes } = eximEdits(
      files({ "update-exim4.conf.conf": STOCK_CONF }),
      ["exim4.conf.localmacros"],
      LAB,
      "127.0.83.201",
    );
    expect(Object.keys(writes).sort()).toEqual(["exim4.conf.localmacros", "update-exim4.conf.conf"]);
    expect(writes["update-exim4.conf.conf"]).toContain("dc_eximconfig_configtype='internet'");
    expect(writes["update-exim4.conf.conf"]!.replace("'internet'", "'local'")).toBe(STOCK_CONF);
    const macros = writes["exim4.conf.localmacros"]!;
    expect(macros).toMatch(/^ROUTER_DNSLOOKUP_IGNORE_TARGET_HOSTS = <; 0\.0\.0\.0 ; 192\.168/m);
    expect(macros.split("\n").find((l) => l.startsWith("ROUTER_"))).not.toContain("127.0.0.0/8");
    expect(macros).toMatch(/^REMOTE_SMTP_INTERFACE = 127\.0\.83\.201$/m);
    expect(changes.map((c) => c.file)).toEqual([
      "update-exim4.conf.conf",
      "exim4.conf.localmacros",
      "exim4.conf.localmacros",
    ]);
    expect(changes[0]!.what).toMatch(/'local' → 'internet'/);
  });

  it("after `danelab instructions` was applied: only the source address is added", () => {
    const plan = eximPlan(LAB, (p) => (p === "/etc/exim4/update-exim4.conf.conf" ? STOCK_CONF : null));
    const applied = Object.fromEntries(
      plan.files.filter((f) => f.path.startsWith("/etc/exim4/")).map((f) => [f.path.slice(11), f.content]),
    );
    const { writes, changes } = eximEdits(files(applied), ["exim4.conf.localmacros"], LAB, "127.0.83.201");
    expect(changes).toEqual([
      { file: "exim4.conf.localmacros", what: "REMOTE_SMTP_INTERFACE = 127.0.83.201 (this column's source address)" },
    ]);
    expect(writes["exim4.conf.localmacros"]).toBe(
      `${applied["exim4.conf.localmacros"]}# danelab check: this column's own source address (the lab tells columns apart by it).\nREMOTE_SMTP_INTERFACE = 127.0.83.201\n`,
    );
  });

  it("split config: the user's own definitions elsewhere in conf.d/main are commented out, Debian's .ifndef kept", () => {
    const split = STOCK_CONF.replace("dc_use_split_config='false'", "dc_use_split_config='true'");
    const own = "ROUTER_DNSLOOKUP_IGNORE_TARGET_HOSTS = <; 0.0.0.0 ; 127.0.0.0/8\nREMOTE_SMTP_INTERFACE = 192.0.2.1\n";
    const debian = ".ifndef REMOTE_SMTP_INTERFACE\nREMOTE_SMTP_INTERFACE = 0.0.0.0\n.endif\n";
    const { writes, changes } = eximEdits(
      files({
        "update-exim4.conf.conf": split,
        "conf.d/main/000_localmacros": own,
        "conf.d/main/02_exim4-config_options": debian,
      }),
      ["conf.d/main/000_localmacros", "conf.d/main/02_exim4-config_options"],
      LAB,
      "127.0.83.201",
    );
    expect(writes["conf.d/main/000_danelab"]).toMatch(/^REMOTE_SMTP_INTERFACE = 127\.0\.83\.201$/m);
    expect(writes["conf.d/main/000_localmacros"]).toBe(
      "# ROUTER_DNSLOOKUP_IGNORE_TARGET_HOSTS = <; 0.0.0.0 ; 127.0.0.0/8    # commented out by danelab check\n" +
        "# REMOTE_SMTP_INTERFACE = 192.0.2.1    # commented out by danelab check\n",
    );
    expect(writes["conf.d/main/02_exim4-config_options"]).toBeUndefined();
    expect(changes.filter((c) => c.file === "conf.d/main/000_localmacros")).toHaveLength(2);
    expect(commentOutMacro(debian, "REMOTE_SMTP_INTERFACE").removed).toEqual([]);
  });
});

describe("Postfix: the lab's edits to a copy of /etc/postfix", () => {
  it("logging, source address and no listener; the DANE settings stay the user's", () => {
    const main = `${STOCK_MAIN_CF}smtp_dns_support_level = dnssec\nsmtp_tls_security_level = dane-only\n`;
    const { writes, changes } = postfixEdits(main, STOCK_MASTER_CF, {
      logFile: "/var/log/postfix.log",
      sourceAddress: "127.0.83.202",
    });
    const out = writes["main.cf"]!;
    expect(out).toMatch(/^maillog_file = \/var\/log\/postfix\.log$/m);
    expect(out).toMatch(/^smtp_tls_loglevel = 1$/m);
    expect(out).toMatch(/^smtp_bind_address = 127\.0\.83\.202$/m);
    expect(out).toMatch(/^smtp_tls_security_level = dane-only$/m);
    expect(out).toMatch(/^smtp_dns_support_level = dnssec$/m);
    expect(writes["master.cf"]).toContain(
      "\n#danelab# smtp      inet  n       -       y       -       -       smtpd\n",
    );
    expect(writes["master.cf"]).toContain("\nsmtp      unix  -       -       y       -       -       smtp\n");
    // The commented-out submission/smtps examples stay as they are; only a live listener is taken out.
    expect(writes["master.cf"]).toContain("\n#submission inet n       -       y       -       -       smtpd\n");
    expect(writes["master.cf"]!.match(/^postlog\s/gm)).toHaveLength(1);
    expect(changes.map((c) => c.file)).toEqual(["main.cf", "main.cf", "main.cf", "master.cf"]);
  });

  it("a relay host is emptied, a missing postlog service added, continuation lines of an inet service go too", () => {
    const master = "smtp inet n - y - - smtpd\n  -o smtpd_sasl_auth_enable=yes\npickup unix n - y 60 1 pickup\n";
    const { writes, changes } = postfixEdits(
      STOCK_MAIN_CF.replace("relayhost = ", "relayhost = [smtp.example.org]"),
      master,
      {
        logFile: "/var/log/postfix.log",
      },
    );
    expect(writes["main.cf"]).toMatch(/^relayhost = $/m);
    expect(writes["master.cf"]).toContain("#danelab#   -o smtpd_sasl_auth_enable=yes\npickup unix");
    expect(writes["master.cf"]).toMatch(/^postlog\s+unix-dgram .* postlogd$/m);
    expect(changes.some((c) => /relayhost = .*was: \[smtp\.example\.org\]/.test(c.what))).toBe(true);
  });
});

describe("configuration directories: validation and the copy", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), "danelab-userconf-"));
    dirs.push(d);
    return d;
  };
  it("edits only the copy: the user's directory is byte for byte unchanged", () => {
    const user = join(tmp(), "exim4");
    mkdirSync(user);
    writeFileSync(join(user, "update-exim4.conf.conf"), STOCK_CONF);
    writeFileSync(join(user, "exim4.conf.template"), "# template\n");
    writeFileSync(join(user, "passwd.client"), "# secrets\n", { mode: 0o640 });
    const snapshot = () =>
      readdirSync(user)
        .sort()
        .map((n) => `${n} ${statSync(join(user, n)).mode} ${readFileSync(join(user, n), "utf8")}`)
        .join("\n");
    const before = snapshot();
    const copy = join(tmp(), "copy");
    const p = prepareEximConfig(user, copy, LAB, "127.0.83.201");
    expect(snapshot()).toBe(before);
    expect(readFileSync(join(copy, "update-exim4.conf.conf"), "utf8")).toContain("'internet'");
    expect(statSync(join(copy, "passwd.client")).mode & 0o777).toBe(0o640);
    expect(p.changes).toHaveLength(3);
    expect(configName(user)).toBe("exim4");
  });

  it("a missing directory, a directory that is not /etc/exim4 or /etc/postfix: one paragraph naming the fix", () => {
    const copy = join(tmp(), "copy");
    expect(() => prepareEximConfig("/nonexistent/exim4", copy, LAB)).toThrow(
      /--exim-config \/nonexistent\/exim4: no such directory\. Give a copy of \/etc\/exim4, e\.g\. `sudo cp -a/,
    );
    const empty = tmp();
    expect(() => prepareEximConfig(empty, copy, LAB)).toThrow(/has no update-exim4\.conf\.conf/);
    writeFileSync(join(empty, "update-exim4.conf.conf"), STOCK_CONF);
    expect(() => prepareEximConfig(empty, copy, LAB)).toThrow(/has no exim4\.conf\.template/);
    writeFileSync(
      join(empty, "update-exim4.conf.conf"),
      STOCK_CONF.replace("dc_use_split_config='false'", "dc_use_split_config='true'"),
    );
    expect(() => prepareEximConfig(empty, copy, LAB)).toThrow(/conf\.d\/main\/ is missing/);
    expect(() => preparePostfixConfig(empty, copy, { logFile: "/x" })).toThrow(
      /--postfix-config .*: has no main\.cf, so it is not a copy of \/etc\/postfix/,
    );
    expect(() => prepareEximConfig(empty, copy, LAB)).toThrow(CheckInputError);
  });
});

describe("the other options a user gives", () => {
  it("--exim-dane-ciphers: GnuTLS priority strings pass, anything that could break exim.conf does not", () => {
    for (const ok of [
      "NORMAL:%COMPAT",
      "@SYSTEM",
      "NORMAL:-VERS-ALL:+VERS-TLS1.2:+VERS-TLS1.3",
      "SECURE256:!AES-128-CBC",
    ])
      expect(checkGnutlsPriority(ok)).toBe(ok);
    for (const bad of [
      "NORMAL\n  hosts_require_dane = *",
      "NORMAL:%COMPAT:$" + "{run{id}}",
      "NORMAL COMPAT",
      "",
      "A\\B",
    ])
      expect(() => checkGnutlsPriority(bad), JSON.stringify(bad)).toThrow(
        /--exim-dane-ciphers .*GnuTLS priority string/,
      );
  });

  it("--submit and --image: loopback SMTP URLs only, both --submit and --flush required", () => {
    expect(parseSmtpUrl("smtp://127.0.0.1:2525")).toEqual({ host: "127.0.0.1", port: 2525 });
    expect(parseSmtpUrl("smtp://localhost:25")).toEqual({ host: "127.0.0.1", port: 25 });
    for (const bad of ["smtp://192.0.2.1:25", "smtp://127.0.0.1", "http://127.0.0.1:25", "smtp://127.0.0.1:70000"])
      expect(() => parseSmtpUrl(bad), bad).toThrow(/give `sendmail`/);
    expect(() => checkGenericMta({ image: "x", submit: "sendmail" })).toThrow(/--image needs --flush/);
    expect(() => checkGenericMta({ image: "x", submit: "smtp://10.0.0.1:25", flush: "true" })).toThrow(CheckInputError);
    expect(imageName("localhost/danelab-postfix:latest")).toBe("danelab-postfix");
    expect(imageName("registry.example:5000/team/mta@sha256:abc")).toBe("mta");
  });

  it("the client-side cell of a generic MTA: the last log line naming the recipient, or (no client log)", () => {
    const rcpt = "run-1-image@ta-baseline.lab.example";
    const log = `a to=<${rcpt}>, status=deferred (greylisted)\nb other\nc to=<${rcpt}>, relay=mx[127.0.25.3]:25, status=sent (250 ok)\n`;
    const withLog = genericOutcomes(log, [rcpt]).get(rcpt)!;
    expect(withLog).toMatchObject({ status: "unparsed", attempts: 2 });
    expect(describeOutcome(withLog)).toBe("relay=mx[127.0.25.3]:25, status=sent (250 ok)");
    expect(describeOutcome(genericOutcomes(null, [rcpt]).get(rcpt))).toBe("(no client log)");
    expect(describeOutcome(genericOutcomes("nothing\n", [rcpt]).get(rcpt))).toBe("(no log line for it)");
  });
});
