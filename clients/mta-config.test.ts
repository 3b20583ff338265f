// The edits that point a stock Debian Exim/Postfix at the lab, on the files a default install leaves. The files are
// applied to real stock images and delivered through in test/clients.stock.test.ts; these check the text edits alone.
import { describe, expect, it } from "vitest";
import {
  debconfValue,
  EXIM_IGNORE_TARGET_HOSTS,
  eximPlan,
  formatPlan,
  MtaConfigError,
  postfixPlan,
  setMainCf,
} from "./mta-config.js";

const lab = { nameserver: "127.0.53.1", suffix: "lab.example" };

// What `apt-get install exim4-daemon-light` leaves on Debian 12 (debconf defaults).
const STOCK_EXIM = `# /etc/exim4/update-exim4.conf.conf
dc_eximconfig_configtype='local'
dc_other_hostnames='host.example'
dc_local_interfaces='127.0.0.1 ; ::1'
dc_readhost=''
dc_relay_domains=''
dc_minimaldns='false'
dc_relay_nets=''
dc_smarthost=''
CFILEMODE='644'
dc_use_split_config='false'
dc_hide_mailname=''
dc_mailname_in_oh='true'
dc_localdelivery='mail_spool'
`;

const files = (map: Record<string, string>) => (p: string) => map[p] ?? null;

describe("eximPlan", () => {
  it("turns a stock 'local' Exim into 'internet' and lets the router use 127/8 MX targets, changing nothing else", () => {
    const plan = eximPlan(lab, files({ "/etc/exim4/update-exim4.conf.conf": STOCK_EXIM, "/etc/resolv.conf": "x" }));
    const byPath = Object.fromEntries(plan.files.map((f) => [f.path, f]));
    expect(Object.keys(byPath).sort()).toEqual([
      "/etc/exim4/exim4.conf.localmacros",
      "/etc/exim4/update-exim4.conf.conf",
      "/etc/resolv.conf",
    ]);
    const conf = byPath["/etc/exim4/update-exim4.conf.conf"]!.content;
    expect(debconfValue(conf, "dc_eximconfig_configtype")).toBe("internet");
    // Every other line is the stock one.
    const changed = conf.split("\n").filter((l, i) => l !== STOCK_EXIM.split("\n")[i]);
    expect(changed).toEqual(["dc_eximconfig_configtype='internet'"]);
    const macros = byPath["/etc/exim4/exim4.conf.localmacros"]!;
    expect(macros.change).toBe("create");
    expect(macros.content).toContain(`ROUTER_DNSLOOKUP_IGNORE_TARGET_HOSTS = ${EXIM_IGNORE_TARGET_HOSTS}`);
    expect(EXIM_IGNORE_TARGET_HOSTS).not.toContain("127.0.0.0/8");
    expect(EXIM_IGNORE_TARGET_HOSTS).toContain("10.0.0.0/8");
    expect(byPath["/etc/resolv.conf"]!.content).toMatch(/^nameserver 127\.0\.53\.1\noptions trust-ad edns0$/m);
    expect(plan.flush).toBe("exim4 -qff");
  });

  it("puts the macro in a conf.d/main file for a split config, and keeps the user's own macros", () => {
    const split = STOCK_EXIM.replace("dc_use_split_config='false'", "dc_use_split_config='true'").replace(
      "'local'",
      "'internet'",
    );
    const plan = eximPlan(lab, files({ "/etc/exim4/update-exim4.conf.conf": split }));
    expect(plan.files.map((f) => f.path)).toEqual(["/etc/resolv.conf", "/etc/exim4/conf.d/main/000_danelab"]);

    const own = "MAIN_TLS_ENABLE = yes\nROUTER_DNSLOOKUP_IGNORE_TARGET_HOSTS = 0.0.0.0 : 255.255.255.255\n";
    const again = eximPlan(
      lab,
      files({ "/etc/exim4/update-exim4.conf.conf": STOCK_EXIM, "/etc/exim4/exim4.conf.localmacros": own }),
    );
    const macros = again.files.find((f) => f.path.endsWith("localmacros"))!;
    expect(macros.change).toBe("replace");
    expect(macros.content).toContain("MAIN_TLS_ENABLE = yes");
    expect(macros.content.match(/^ROUTER_DNSLOOKUP_IGNORE_TARGET_HOSTS/gm)).toHaveLength(1);
    // Applying the plan twice gives the same file (no second danelab block).
    const twice = eximPlan(
      lab,
      files({ "/etc/exim4/update-exim4.conf.conf": STOCK_EXIM, "/etc/exim4/exim4.conf.localmacros": macros.content }),
    );
    expect(twice.files.find((f) => f.path.endsWith("localmacros"))!.content).toBe(macros.content);
  });

  it("says what to do when there is no Debian Exim configuration", () => {
    expect(() => eximPlan(lab, files({}))).toThrow(MtaConfigError);
    expect(() => eximPlan(lab, files({}))).toThrow(/apt-get install exim4-daemon-light/);
  });
});

describe("postfixPlan", () => {
  const MAIN_CF = `smtpd_banner = $myhostname ESMTP
smtp_tls_CApath=/etc/ssl/certs
smtp_tls_security_level=may
smtp_tls_session_cache_database = btree:\${data_directory}/smtp_scache
mydestination = $myhostname, localhost
relayhost =
`;
  it("sets the DANE parameters in place or appends them, once", () => {
    const plan = postfixPlan(lab, files({ "/etc/postfix/main.cf": MAIN_CF }));
    const main = plan.files.find((f) => f.path === "/etc/postfix/main.cf")!.content;
    expect(main).toContain("smtp_tls_security_level = dane\n");
    expect(main).not.toContain("smtp_tls_security_level=may");
    expect(main.match(/^smtp_tls_security_level/gm)).toHaveLength(1);
    expect(main).toContain("smtp_dns_support_level = dnssec\n");
    expect(main).toContain("dnssec_probe = ns:lab.example\n");
    expect(main).toContain("mydestination = $myhostname, localhost\n");
    expect(plan.notes.join(" ")).not.toContain("relayhost");
  });

  it("replaces continuation lines with the parameter", () => {
    const text = "a = 1\nsmtp_tls_security_level = encrypt\n  more\n\tmore\nb = 2\n";
    expect(setMainCf(text, "smtp_tls_security_level", "dane")).toBe("a = 1\nsmtp_tls_security_level = dane\nb = 2\n");
  });

  it("warns about a relayhost and explains a missing main.cf", () => {
    const plan = postfixPlan(lab, files({ "/etc/postfix/main.cf": `${MAIN_CF}relayhost = [smtp.isp.example]\n` }));
    expect(plan.notes.join(" ")).toContain("relayhost");
    expect(() => postfixPlan(lab, files({}))).toThrow(/dpkg-reconfigure postfix/);
  });
});

describe("formatPlan", () => {
  it("prints the backup, the apply commands, the retry and the undo", () => {
    const plan = eximPlan(lab, files({ "/etc/exim4/update-exim4.conf.conf": STOCK_EXIM, "/etc/resolv.conf": "x" }));
    const text = formatPlan(plan, lab, "/tmp/out");
    expect(text).toContain("tar -C / -cpf /root/danelab-undo.tar etc/resolv.conf etc/exim4/update-exim4.conf.conf");
    expect(text).toContain("cp -a /tmp/out/. /");
    expect(text).toContain("update-exim4.conf");
    expect(text).toContain("exim4 -qff");
    expect(text).toContain("rm -f /etc/exim4/exim4.conf.localmacros");
  });
});
