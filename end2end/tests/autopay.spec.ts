// Autopay, in one account of its own (Autopay Works, C-4101, due on receipt): staff bill it and
// invite a payer; the payer saves a card on the sandbox's setup page and turns autopay on; AR run
// autopay and the invoice is charged once, posted, and the receipt arrives by mail.
import { expect, test } from "@playwright/test";
import { signedIn } from "../support/session";
import { latestMessageTo } from "../support/mailbox";
import { acceptInvitation, openAccountWithPayer } from "../support/accounts";

const PAYER = "ada@autopay.example";

test("a payer saves a card in the sandbox and turns autopay on; the job charges the due invoice and the receipt arrives by mail", async ({ browser }) => {
  test.setTimeout(120_000);
  // Staff: the account, due on receipt, one invoice of 250.00, and an invitation.
  const staff = await signedIn(browser, "manager@ledgerport.example", "manager-sees-everything");
  const link = await openAccountWithPayer(staff, {
    number: "C-4101",
    name: "Autopay Works",
    invoice: "AUT-0001",
    line: "Monthly service",
    amount: "250.00",
    payer: PAYER,
    payerName: "Ada",
  });
  const payer = await acceptInvitation(browser, link, "autopay-works-pays");
  await expect(payer.getByTestId("balance-due")).toHaveText("$250.00");

  // The card, saved on the provider's (the sandbox's) page after agreeing to the terms.
  await payer.getByRole("link", { name: "Autopay", exact: true }).click();
  await expect(payer).toHaveURL(/\/autopay$/);
  await expect(payer.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await expect(payer.getByTestId("no-methods")).toBeVisible();
  await payer.getByLabel("I agree").check();
  await payer.getByRole("button", { name: "Save a payment method" }).click();
  await expect(payer).toHaveURL(/\/sandbox\/setup\/ps_/);
  await payer.getByLabel("Card number").fill("4242 4242 4242 4242");
  await payer.getByLabel("Expiry (MM / YY)").fill("12 / 34");
  await payer.getByLabel("CVC").fill("123");
  await payer.getByRole("button", { name: "Save card" }).click();
  await expect(payer).toHaveURL(/\/autopay\?saved=ps_/);
  await expect(payer.getByTestId("method-saved")).toBeVisible();
  const methods = payer.getByTestId("saved-methods");
  await expect(methods).toContainText("Visa •••• 4242");
  await expect(methods).toContainText("12/2034");
  await expect(methods).toContainText(PAYER);

  // Autopay on, with that card, on the due date.
  await expect(payer.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await payer.getByLabel("Charge", { exact: true }).selectOption({ label: "Visa •••• 4242" });
  await payer.getByLabel("On the due date").check();
  await payer.getByRole("button", { name: "Turn autopay on" }).click();
  await expect(payer.getByTestId("autopay-on")).toBeVisible();
  await expect(payer.getByTestId("autopay-status")).toContainText("Autopay is on: Visa •••• 4242 charges on the due date");

  // AR run autopay: the invoice is charged once and posted; the receipt arrives by mail.
  await staff.goto("/admin/outbox");
  await expect(staff.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await staff.getByRole("button", { name: "Charge autopay now" }).click();
  await expect(staff.getByTestId("autopay-run")).toContainText("Autopay: 1 charges sent, 0 declined");
  await expect
    .poll(async () => (await latestMessageTo(PAYER)).subject, { timeout: 20_000 })
    .toBe("Payment received: $250.00");
  const receipt = await latestMessageTo(PAYER);
  expect(receipt.body).toContain("AUT-0001: $250.00");
  // The PDF receipt is attached, with the same figures.
  expect(receipt.attachments).toHaveLength(1);
  expect(receipt.attachments[0].filename).toMatch(/^receipt-\d+\.pdf$/);
  const pdf = Buffer.from(receipt.attachments[0].base64, "base64").toString("latin1");
  expect(pdf.startsWith("%PDF-")).toBe(true);
  expect(pdf).toContain("(Invoice AUT-0001)");
  expect(pdf).toContain("($250.00)");

  await payer.goto("/");
  await expect(payer.getByTestId("balance-due")).toHaveText("$0.00");
  await payer.goto("/autopay");
  await expect(payer.getByTestId("autopay-charges")).toContainText("$250.00");
  await expect(payer.getByTestId("autopay-charges")).toContainText("Paid");

  // A second run the same day charges nothing.
  await staff.getByRole("button", { name: "Charge autopay now" }).click();
  await expect(staff.getByTestId("autopay-run")).toContainText("Autopay: 0 charges sent");
  // AR see the card and autopay on the account.
  await staff.goto("/admin");
  await staff.getByRole("link", { name: "Autopay Works" }).click();
  await expect(staff.getByTestId("saved-methods")).toContainText("Visa •••• 4242");
  await expect(staff.getByTestId("autopay-status")).toContainText("Autopay is on");
});
