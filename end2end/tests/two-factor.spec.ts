// Two-factor sign-in in the browser: a payer sets up an authenticator app, signs in with its
// codes and recovery codes, a manager resets it; and signing in by an emailed link.
import { expect, test, type Page } from "@playwright/test";
import { acceptInvitation, openAccountWithPayer } from "../support/accounts";
import { latestMessageTo } from "../support/mailbox";
import { DEMO_MANAGER_AUTHENTICATOR, signedIn, totp, unusedCode } from "../support/session";

const PAYER = "tess@twofactor.example";
const PASSWORD = "tess-keeps-her-phone";

async function signOut(page: Page) {
  await page.goto("/profile");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
}

/** The password step; leaves the page asking for the code. */
async function passwordStep(page: Page) {
  await page.goto("/sign-in");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await page.getByLabel("Email").fill(PAYER);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/sign-in\/code$/);
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
}

async function enterCode(page: Page, code: string) {
  await page.getByLabel("Code", { exact: true }).fill(code);
  await page.getByRole("button", { name: "Sign in" }).click();
}

test("a payer turns on two-factor sign-in, signs in with codes and a recovery code, and a manager resets it", async ({
  browser,
}) => {
  test.setTimeout(120_000);
  const staff = await signedIn(browser, "manager@ledgerport.example", "manager-sees-everything");
  const link = await openAccountWithPayer(staff, {
    number: "C-4301",
    name: "Two Factor Works",
    invoice: "TFA-0001",
    line: "Security review",
    amount: "100.00",
    payer: PAYER,
    payerName: "Tess",
  });
  const payer = await acceptInvitation(browser, link, PASSWORD);

  // Setting it up: the key (and its QR code), then the app's first code.
  await payer.goto("/profile/two-factor");
  await expect(payer.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await payer.getByRole("button", { name: "Set up two-factor sign-in" }).click();
  await expect(payer.locator(".qr svg")).toBeVisible();
  const secret = ((await payer.getByTestId("totp-secret").textContent()) ?? "").replace(/\s/g, "");
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  await payer.getByLabel("The 6-digit code the app shows").fill(await unusedCode(secret));
  await payer.getByRole("button", { name: "Turn on" }).click();
  const shown = payer.getByTestId("recovery-codes").locator("li");
  await expect(shown).toHaveCount(10);
  const recovery = (await shown.allTextContents()).map((code) => code.trim());
  await expect(payer.getByTestId("two-factor-status")).toContainText("On since");
  expect((await latestMessageTo(PAYER, 20_000, "Two-factor sign-in is on")).body).toContain("authenticator app");

  // A wrong code, then the right one.
  await signOut(payer);
  await passwordStep(payer);
  const now = Math.floor(Date.now() / 30_000);
  const near = [now - 1, now, now + 1, now + 2].map((step) => totp(secret, step));
  const wrong = ["000000", "111111", "222222", "333333", "444444"].find((code) => !near.includes(code))!;
  await enterCode(payer, wrong);
  await expect(payer.getByRole("alert")).toContainText("That code is not right");
  const code = await unusedCode(secret);
  await enterCode(payer, code);
  await expect(payer.getByTestId("signed-in-as")).toHaveText("Tess");

  // The same code again is a replay; a recovery code (typed in capitals) works once.
  await signOut(payer);
  await passwordStep(payer);
  await enterCode(payer, code);
  await expect(payer.getByRole("alert")).toContainText("That code was already used");
  await enterCode(payer, recovery[0].toUpperCase());
  await expect(payer.getByTestId("signed-in-as")).toHaveText("Tess");
  expect((await latestMessageTo(PAYER, 20_000, "A recovery code was used")).body).toContain("9 unused recovery codes");
  await signOut(payer);
  await passwordStep(payer);
  await enterCode(payer, recovery[0]);
  await expect(payer.getByRole("alert")).toContainText("That code is not right");

  // Lost phone: the manager resets it from the account's page; the payer is told.
  await staff.reload();
  await expect(staff.locator(".app")).toHaveAttribute("data-hydrated", "true");
  const row = staff.getByTestId("contacts").locator("tr", { hasText: PAYER });
  await row.getByRole("button", { name: "Reset two-factor" }).click();
  await expect(row.getByRole("button", { name: "Reset two-factor" })).toHaveCount(0);
  expect((await latestMessageTo(PAYER, 20_000, "Your two-factor sign-in was reset")).body).toContain("set it up again");
  await payer.goto("/sign-in");
  await expect(payer.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await payer.getByLabel("Email").fill(PAYER);
  await payer.getByLabel("Password").fill(PASSWORD);
  await payer.getByRole("button", { name: "Sign in" }).click();
  await expect(payer.getByTestId("signed-in-as")).toHaveText("Tess");
});

test("a contact signs in with an emailed link, once", async ({ page }) => {
  await page.goto("/sign-in");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await page.getByRole("link", { name: "Email me a sign-in link instead" }).click();
  await expect(page).toHaveURL(/\/sign-in\/email$/);
  await page.getByLabel("Email", { exact: true }).fill("vic@acme.example");
  await page.getByRole("button", { name: "Email me a sign-in link" }).click();
  await expect(page.getByTestId("sign-in-link-sent")).toBeVisible();
  const { body } = await latestMessageTo("vic@acme.example", 20_000, "Your Ledgerport sign-in link");
  const link = body.match(/\/sign-in\/link\?token=[0-9a-f]+/)?.[0];
  expect(link, "the mail carries a link").toBeTruthy();
  // Opening the link signs no one in (a mail scanner may open it); the button does.
  await page.goto(link!);
  await expect(page.getByTestId("signed-in-as")).toHaveCount(0);
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("signed-in-as")).toHaveText("vic");
  await signOutAndReuse(page, link!);
});

async function signOutAndReuse(page: Page, link: string) {
  await page.goto("/profile");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await page.goto(link);
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toContainText("This link does not work any more");
}

test("the code step works without JavaScript", async ({ browser }) => {
  // The demo manager: the password, then a code, as plain form posts.
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/sign-in");
  await page.getByLabel("Email").fill("manager@ledgerport.example");
  await page.getByLabel("Password").fill("manager-sees-everything");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/sign-in\/code$/);
  await enterCode(page, await unusedCode(DEMO_MANAGER_AUTHENTICATOR));
  await expect(page).toHaveURL(/\/admin$/);
  await context.close();
});
