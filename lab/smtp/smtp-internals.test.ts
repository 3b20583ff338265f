// Guards smtp-internals.ts, the one file that patches smtp-server's private methods: the installed smtp-server must be
// a version that file was checked against, package.json must not let npm install another minor version, and every
// private member and text it relies on must still be there. When smtp-server is upgraded this fails until someone has
// re-read the members listed in smtp-internals.ts and added the version to CHECKED_SMTP_SERVER.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { SMTPServer } from "smtp-server";
import { SMTPConnection } from "smtp-server/lib/smtp-connection.js";
import { describe, expect, it } from "vitest";
import { CHECKED_SMTP_SERVER, TOUCHED } from "./smtp-internals.js";

const require = createRequire(import.meta.url);
const installed = (JSON.parse(readFileSync(require.resolve("smtp-server/package.json"), "utf8")) as { version: string })
  .version;
const declared = (
  JSON.parse(readFileSync(join(import.meta.dirname, "../../package.json"), "utf8")) as {
    dependencies: Record<string, string>;
  }
).dependencies["smtp-server"];
const upgradeNote =
  "lab/smtp/smtp-internals.ts patches smtp-server's private methods and was checked against " +
  `${CHECKED_SMTP_SERVER.join(", ")}; re-read every member it lists in the new version's dist/esm/*.js, then add ` +
  "the version to CHECKED_SMTP_SERVER.";

describe("smtp-server internals used by lab/smtp/smtp-internals.ts", () => {
  it("the installed smtp-server is a checked version", () => {
    expect(CHECKED_SMTP_SERVER, `smtp-server ${installed} is installed. ${upgradeNote}`).toContain(installed);
  });

  it("package.json pins smtp-server to a checked minor version (~x.y.z)", () => {
    const m = /^~(\d+\.\d+\.\d+)$/.exec(declared ?? "");
    expect(
      m,
      `package.json asks for smtp-server "${declared}", which lets npm install any minor. ${upgradeNote}`,
    ).not.toBeNull();
    expect(CHECKED_SMTP_SERVER as readonly string[]).toContain(m![1]);
  });

  it("every private method it wraps or calls exists", () => {
    const server = SMTPServer.prototype as unknown as Record<string, unknown>;
    const conn = SMTPConnection.prototype as unknown as Record<string, unknown>;
    for (const name of TOUCHED.server.methods) expect(typeof server[name], `SMTPServer.${name}`).toBe("function");
    for (const name of TOUCHED.connection.methods) expect(typeof conn[name], `SMTPConnection.${name}`).toBe("function");
  });

  it("the private fields it reads are set by the constructors, and init() is what connect() replaces", () => {
    const serverSource = SMTPServer.toString();
    for (const f of TOUCHED.server.fields) expect(serverSource, `SMTPServer this.${f}`).toContain(`this.${f} = `);
    const connSource = SMTPConnection.toString();
    for (const f of TOUCHED.connection.fields) expect(connSource, `SMTPConnection this.${f}`).toContain(`this.${f} = `);
    // connect(): new SMTPConnection, then init(); init() = _setListeners, the maxClients 421, then connectionReady()
    const connect = String((SMTPServer.prototype as unknown as { connect: () => void }).connect);
    expect(connect).toContain("new SMTPConnection(this, socket, socketOptions)");
    expect(connect).toContain("connection.init()");
    const init = String((SMTPConnection.prototype as unknown as { init: () => void }).init);
    expect(init).toContain("this._setListeners(");
    expect(init).toContain("this._server.connections.size > this._server.options.maxClients");
    expect(init).toContain("this.connectionReady()");
    // handler_STARTTLS: the 501/503 checks the wrapper leaves to it, then 220 and upgrade()
    const starttls = String((SMTPConnection.prototype as unknown as { handler_STARTTLS: () => void }).handler_STARTTLS);
    expect(starttls).toContain("this.secure");
    expect(starttls).toContain("this.upgrade(callback)");
  });

  it("the parser's over-long-line error still reaches send() as 421 Error: Command line too long", () => {
    const stream = readFileSync(require.resolve("smtp-server/lib/smtp-stream.js"), "utf8");
    expect(stream).toContain(`'${TOUCHED.texts.lineTooLong}'`);
    const createParser = String((SMTPConnection.prototype as unknown as { _createParser: () => void })._createParser);
    expect(createParser).toContain("this.send(421, 'Error: ' + err.message)");
  });
});
