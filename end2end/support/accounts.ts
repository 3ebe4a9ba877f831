// A customer account of a test's own, so the test changes nothing another one reads: staff open
// it due on receipt, issue one invoice and invite a payer, who sets a password from the mail.
import { expect, test, type Browser, type Page } from "@playwright/test";
import { latestMessageTo } from "./mailbox";

export interface OwnAccount {
  number: string;
  name: string;
  invoice: string;
  line: string;
  amount: string;
  payer: string;
  payerName: string;
  /** USD unless given. */
  currency?: string;
}

/** Opens the account on `staff`'s page and leaves it on the account's page; returns the
 * invitation link the payer was mailed. */
export async function openAccountWithPayer(staff: Page, account: OwnAccount): Promise<string> {
  await staff.goto("/admin");
  await staff.getByLabel("Customer number").fill(account.number);
  await staff.getByLabel("Name", { exact: true }).fill(account.name);
  await staff.getByLabel("Currency").selectOption(account.currency ?? "USD");
  await staff.getByLabel("Net days").fill("0");
  await staff.getByRole("button", { name: "Open the account" }).click();
  await expect(staff).toHaveURL(/\/admin\/customers\/\d+$/);
  await expect(staff.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await staff.getByLabel("Invoice number").fill(account.invoice);
  await staff.getByLabel("Line 1 description").fill(account.line);
  await staff.getByLabel("Line 1 quantity").fill("1");
  await staff.getByLabel("Line 1 unit price").fill(account.amount);
  await staff.getByRole("button", { name: "Issue the invoice" }).click();
  await expect(staff.getByTestId("staff-invoices")).toContainText(account.invoice);
  await staff.getByLabel("Email").fill(account.payer);
  await staff.getByLabel("Name").fill(account.payerName);
  await staff.getByLabel("Role").selectOption("payer");
  await staff.getByRole("button", { name: "Send invitation" }).click();
  await expect(staff.getByTestId("contacts")).toContainText(account.payer);
  const { body } = await latestMessageTo(account.payer);
  const link = body.match(/\/accept-invitation\?token=[^\s]+/)?.[0];
  expect(link, "the invitation carries a link").toBeTruthy();
  return link!;
}

/** The invited payer sets a password and is signed in, in a browser context of their own (one
 * whose browser asks for English, as Playwright's Chromium does by default). */
export async function acceptInvitation(browser: Browser, link: string, password: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: test.info().project.use.baseURL, locale: "en-US" });
  const payer = await context.newPage();
  await payer.goto(link);
  await expect(payer.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await payer.getByLabel("New password").fill(password);
  await payer.getByRole("button", { name: "Set password and sign in" }).click();
  await expect(payer.getByTestId("signed-in-as")).toBeVisible();
  return payer;
}
