// Starts the local SMTP mailbox before any test (and forgets the codes an earlier run used);
// Playwright calls the returned function at the end.
import * as fs from "node:fs";
import { mailboxDir, startMailbox } from "./mailbox";
import { USED_STEPS_FILE } from "./session";

export default async function globalSetup() {
  fs.rmSync(mailboxDir(), { recursive: true, force: true });
  // A new run's database has accepted no code yet.
  fs.rmSync(USED_STEPS_FILE, { force: true });
  return startMailbox(mailboxDir());
}
