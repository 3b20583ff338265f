// @peculiar/x509, loaded on first use. Loading it (and the tsyringe/reflect-metadata it stands on) takes about a
// quarter of a second, and a warm start — every certificate reused from the state directory — never needs it.
import { webcrypto } from "node:crypto";
import { createRequire } from "node:module";
import type * as X509 from "@peculiar/x509";

const require = createRequire(import.meta.url);
let loaded: typeof X509 | undefined;

export function x509(): typeof X509 {
  if (!loaded) {
    // tsyringe (inside @peculiar/x509) needs the Reflect polyfill loaded before it.
    require("reflect-metadata");
    loaded = require("@peculiar/x509") as typeof X509;
    loaded.cryptoProvider.set(webcrypto);
  }
  return loaded;
}
