// Signing in from the sign-in page (with the code step for a login that has an authenticator),
// and a signed-in page of its own (a fresh browser context) for tests where several people act.
import { createHmac } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect, test, type Browser, type BrowserContext, type Cookie, type Page } from "@playwright/test";

/** The demo manager's authenticator key: `DEMO_MANAGER_AUTHENTICATOR` in src/seed.rs. */
export const DEMO_MANAGER_AUTHENTICATOR = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
/** The second demo manager's: `DEMO_CONTROLLER_AUTHENTICATOR` in src/seed.rs. */
export const DEMO_CONTROLLER_AUTHENTICATOR = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const AUTHENTICATORS: Record<string, string> = {
  "manager@ledgerport.example": DEMO_MANAGER_AUTHENTICATOR,
  "controller@ledgerport.example": DEMO_CONTROLLER_AUTHENTICATOR,
};

function base32(text: string): Buffer {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const char of text.replace(/[\s=]/g, "").toUpperCase()) {
    bits += alphabet.indexOf(char).toString(2).padStart(5, "0");
  }
  const bytes = bits.match(/.{8}/g) ?? [];
  return Buffer.from(bytes.map((byte) => parseInt(byte, 2)));
}

/** RFC 6238's code (SHA-1, 6 digits) for a 30-second step: what an authenticator app shows. */
export function totp(secret: string, step: number): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return ((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).toString().padStart(6, "0");
}

// The newest step used per key, in a file: the portal accepts no code twice, and Playwright
// starts a new worker (with fresh module state) after a failed test. global-setup removes it.
export const USED_STEPS_FILE = path.join(os.tmpdir(), "ledgerport-e2e-used-steps.json");

function usedSteps(): Record<string, number> {
  return fs.existsSync(USED_STEPS_FILE) ? JSON.parse(fs.readFileSync(USED_STEPS_FILE, "utf8")) : {};
}

/** A code the portal has not accepted yet: this step's, the next one's, or after a wait. */
export async function unusedCode(secret: string): Promise<string> {
  for (;;) {
    const now = Date.now() / 1000;
    const current = Math.floor(now / 30);
    const used = usedSteps();
    const step = Math.max(current, (used[secret] ?? 0) + 1);
    if (step <= current + 1) {
      fs.writeFileSync(USED_STEPS_FILE, JSON.stringify({ ...used, [secret]: step }));
      return totp(secret, step);
    }
    await new Promise((resolve) => setTimeout(resolve, (30 - (now % 30)) * 1000 + 100));
  }
}

// A session of a login with an authenticator, kept for this worker's later sign-ins: signing in
// with two factors once per few minutes is what a person does, and no code works twice.
const kept = new Map<string, { cookies: Cookie[]; at: number }>();
const KEEP_MS = 10 * 60_000;

export async function signIn(page: Page, email: string, password: string) {
  const secret = AUTHENTICATORS[email];
  const session = kept.get(email);
  if (secret && session && Date.now() - session.at < KEEP_MS) {
    await page.context().addCookies(session.cookies);
    await page.goto("/");
    await expect(page.getByTestId("signed-in-as")).toBeVisible();
    return;
  }
  await page.goto("/sign-in");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  if (secret) {
    await expect(page).toHaveURL(/\/sign-in\/code$/);
    await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
    await enterUnusedCode(page, secret);
  }
  await expect(page.getByTestId("signed-in-as")).toBeVisible();
  if (secret) {
    kept.set(email, { cookies: await sessionCookies(page.context()), at: Date.now() });
  }
}

/** Answers the code step. A code another worker (or an earlier one) used is refused as "already
 * used": then the next step's code. */
async function enterUnusedCode(page: Page, secret: string) {
  for (let attempt = 0; attempt < 3; attempt++) {
    await page.getByLabel("Code", { exact: true }).fill(await unusedCode(secret));
    await page.getByRole("button", { name: "Sign in" }).click();
    const signedIn = page.getByTestId("signed-in-as");
    await signedIn.or(page.getByText("That code was already used")).first().waitFor();
    if (await signedIn.isVisible()) return;
  }
}

async function sessionCookies(context: BrowserContext): Promise<Cookie[]> {
  return (await context.cookies()).filter((cookie) => cookie.name.includes("ledgerport"));
}

export async function signedIn(browser: Browser, email: string, password: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: test.info().project.use.baseURL });
  const page = await context.newPage();
  await signIn(page, email, password);
  return page;
}

/** The demo manager, signed in (with the code step) on this page. */
export async function signInAsManager(page: Page) {
  await signIn(page, "manager@ledgerport.example", "manager-sees-everything");
  await expect(page).toHaveURL(/\/admin$/);
}
