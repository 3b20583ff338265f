// clients/: real MTAs against a running lab. Exim (Debian, GnuTLS) in two DANE modes and Postfix (Debian, OpenSSL)
// run in containers built by scripts/setup-host.sh — or a user's own Exim/Postfix configuration, or any MTA image —
// send one message per scenario, and their own log lines are put next to the lab's server-side grades in a
// scenario × client matrix. Talks to a lab only through its manifest and HTTP API. `danelab check` is `checkCommand`;
// programs use `runCheck`.

export { BUILTIN_CLIENTS, type BuiltinClient, knownClientNames } from "./builtin.js";
export { type CheckOptions, type CheckResult, type DnsMode, nameserverFor, resolveClients, runCheck } from "./check.js";
export { type CheckCommandOptions, checkCommand, runCheckCommand } from "./check-command.js";
export { ContainerError, removeStaleContainers } from "./container.js";
export { type DriverOptions, deliverAll, type MtaDriver } from "./driver.js";
export { checkGnutlsPriority, type EximMode, eximConfig, eximDriver, eximUserDriver } from "./exim.js";
export { parseEximLog } from "./exim-log.js";
export { type GenericMta, genericDriver } from "./generic.js";
export { fetchReport, LabAccessError, readManifest } from "./lab-api.js";
export { formatMatrix, MATRIX_FORMATS, type Matrix, type MatrixFormat, matrixExitCode } from "./matrix.js";
export { type ClientOutcome, type DeliverySecurity, describeOutcome } from "./outcome.js";
export { postfixDriver, postfixMainCf, postfixUserDriver } from "./postfix.js";
export { parsePostfixLog } from "./postfix-log.js";
export { openSmtpSession, SmtpConnectionError, submitOne } from "./smtp-submit.js";
export {
  CheckInputError,
  type ConfigChange,
  eximEdits,
  type PreparedConfig,
  postfixEdits,
  prepareEximConfig,
  preparePostfixConfig,
} from "./user-config.js";
