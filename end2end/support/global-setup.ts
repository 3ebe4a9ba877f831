// Starts the local SMTP mailbox before any test; Playwright calls the returned function at the end.
import * as fs from "node:fs";
import { mailboxDir, startMailbox } from "./mailbox";

export default async function globalSetup() {
  fs.rmSync(mailboxDir(), { recursive: true, force: true });
  return startMailbox(mailboxDir());
}
