// Passkeys in the browser, with Chromium's virtual authenticator (the DevTools protocol's
// WebAuthn domain stands in for a phone's fingerprint reader): a payer adds one on the
// two-factor page, signs in with it alone, removes it, and is then refused with it. A passkey is
// bound to a domain name, so these pages are opened on localhost; the portal's public address
// here is 127.0.0.1, where passkeys are not offered.
import { expect, test, type Browser, type Page } from "@playwright/test";
import { openAccountWithPayer } from "../support/accounts";
import { latestMessageTo } from "../support/mailbox";
import { signedIn } from "../support/session";

const PAYER = "paz@passkeys.example";
const PASSWORD = "paz-prefers-her-fingerprint";

function localhost(): string {
  const base = test.info().project.use.baseURL ?? "http://127.0.0.1:3000";
  return base.replace("127.0.0.1", "localhost");
}

async function hydrated(page: Page) {
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
}

/** A browser on localhost with a platform authenticator that holds passkeys and verifies its user. */
async function browserWithAuthenticator(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ baseURL: localhost(), locale: "en-US" });
  const page = await context.newPage();
  const devtools = await context.newCDPSession(page);
  await devtools.send("WebAuthn.enable");
  await devtools.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return page;
}

async function signOut(page: Page) {
  await page.goto("/profile");
  await hydrated(page);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
}

async function signInWithPasskey(page: Page) {
  await page.goto("/sign-in");
  await hydrated(page);
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
}

test("a payer adds a passkey, signs in with it alone, removes it, and is then refused with it", async ({
  browser,
}) => {
  test.setTimeout(120_000);
  const staff = await signedIn(browser, "manager@ledgerport.example", "manager-sees-everything");
  const link = await openAccountWithPayer(staff, {
    number: "C-4801",
    name: "Passkeys Welcome",
    invoice: "PK-0001",
    line: "Badge readers",
    amount: "240.00",
    payer: PAYER,
    payerName: "Paz",
  });
  const page = await browserWithAuthenticator(browser);
  await page.goto(link);
  await hydrated(page);
  await page.getByLabel("New password").fill(PASSWORD);
  await page.getByRole("button", { name: "Set password and sign in" }).click();
  await expect(page.getByTestId("signed-in-as")).toHaveText("Paz");

  await page.goto("/profile/two-factor");
  await hydrated(page);
  await page.getByLabel("A name for the new passkey").fill("Paz's laptop");
  await page.getByRole("button", { name: "Add a passkey" }).click();
  await expect(page.getByText("The passkey was added.")).toBeVisible();
  await expect(page.getByTestId("passkey")).toHaveCount(1);
  await expect(page.getByTestId("passkey")).toContainText("Paz's laptop");
  await expect(page.getByTestId("passkey")).toContainText("not used yet");
  const added = await latestMessageTo(PAYER, 20_000, "A passkey was added to your account");
  expect(added.body).toContain("Paz's laptop");

  // No password, no code: the fingerprint is both factors.
  await signOut(page);
  await signInWithPasskey(page);
  await expect(page.getByTestId("signed-in-as")).toHaveText("Paz");
  await expect(page).toHaveURL(/\/$/);

  // The passkey's session may remove it (a password's could not).
  await page.goto("/profile/two-factor");
  await hydrated(page);
  await expect(page.getByTestId("passkey")).toContainText("last used");
  await page.getByTestId("passkey").getByRole("button", { name: "Remove" }).click();
  await expect(page.getByText("The passkey was removed.")).toBeVisible();
  await expect(page.getByTestId("passkey")).toHaveCount(0);

  // The device still holds the key, but it no longer signs anyone in.
  await signOut(page);
  await signInWithPasskey(page);
  await expect(page.getByRole("alert").filter({ hasText: "We do not know this passkey" })).toBeVisible();
  await expect(page.getByTestId("signed-in-as")).toHaveCount(0);
  await page.context().close();
});

test("the passkey button shows only where the browser can use a passkey for this portal", async ({ browser }) => {
  // On the public address (an IP address, which no passkey can be bound to): hidden.
  const onAddress = await browser.newContext();
  const addressPage = await onAddress.newPage();
  await addressPage.goto("/sign-in");
  await hydrated(addressPage);
  await expect(addressPage.getByRole("button", { name: "Sign in", exact: true })).toBeVisible();
  await expect(addressPage.getByRole("button", { name: "Sign in with a passkey" })).toBeHidden();
  await onAddress.close();

  // On localhost with JavaScript off: hidden too (a passkey needs the script).
  const withoutScript = await browser.newContext({ baseURL: localhost(), javaScriptEnabled: false });
  const plain = await withoutScript.newPage();
  await plain.goto("/sign-in");
  await expect(plain.getByRole("button", { name: "Sign in", exact: true })).toBeVisible();
  await expect(plain.getByRole("button", { name: "Sign in with a passkey" })).toBeHidden();
  await withoutScript.close();

  // On localhost with JavaScript: there.
  const page = await browserWithAuthenticator(browser);
  await page.goto("/sign-in");
  await hydrated(page);
  await expect(page.getByRole("button", { name: "Sign in with a passkey" })).toBeVisible();
  await page.context().close();
});
