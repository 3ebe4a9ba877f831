// Changing the account customers pay into: one manager proposes it, a second approves it, every
// payer contact billed in the currency is mailed (with no account number: the portal is where bank
// details are), and customers keep seeing the old account until the wait is over. The change is
// withdrawn at the end, so the specs after this one see the demo's account.
import { expect, test } from "@playwright/test";
import { signedIn } from "../support/session";
import { latestMessageTo } from "../support/mailbox";
import { acceptInvitation, openAccountWithPayer } from "../support/accounts";

const PAYER = "bea@bankchange.example";
const CHANGES = "Our bank account for USD payments changes";
const WITHDRAWN = "Bank account change for USD payments withdrawn";

test("a new bank account needs a second manager, payers are told, and customers keep the old one meanwhile", async ({ browser }) => {
  test.setTimeout(180_000);
  const manager = await signedIn(browser, "manager@ledgerport.example", "manager-sees-everything");
  const link = await openAccountWithPayer(manager, {
    number: "C-4401",
    name: "Bank Change Checkers",
    invoice: "BCC-0001",
    line: "Audit support",
    amount: "400.00",
    payer: PAYER,
    payerName: "Bea",
  });
  const payer = await acceptInvitation(browser, link, "bea-checks-every-account");

  // The first manager proposes; nothing changes yet, and they cannot approve it themselves.
  await manager.goto("/admin/bank-accounts");
  await expect(manager.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await manager.getByLabel("Currency (EUR, USD…)").fill("USD");
  await manager.getByLabel("Account holder").fill("Ledgerport Demo Inc.");
  await manager.getByLabel("Bank", { exact: true }).fill("Second Demo Bank");
  await manager.getByLabel("Account number (US)").fill("9876543210");
  await manager.getByLabel("Routing number (ABA)").fill("021000021");
  await manager.getByRole("button", { name: "Propose this account" }).click();
  await expect(manager.getByText("Proposed. Every manager was told")).toBeVisible();
  const waiting = manager.getByTestId("bank-account-versions").locator('tr[data-status="AwaitingApproval"]');
  await expect(waiting).toContainText("Second Demo Bank");
  await expect(waiting).toContainText("Waiting for a second manager");
  await expect(waiting.getByRole("button", { name: "Approve" })).toHaveCount(0);
  expect((await latestMessageTo("controller@ledgerport.example", 20_000, "Bank account change proposed for USD")).body)
    .toContain("manager@ledgerport.example proposed");

  // The second manager approves.
  const controller = await signedIn(browser, "controller@ledgerport.example", "controller-approves-changes");
  await controller.goto("/admin/bank-accounts");
  await expect(controller.locator(".app")).toHaveAttribute("data-hydrated", "true");
  const row = controller.getByTestId("bank-account-versions").locator('tr[data-status="AwaitingApproval"]');
  await row.getByRole("button", { name: "Approve" }).click();
  const scheduled = controller.getByTestId("bank-account-versions").locator('tr[data-status="Scheduled"]');
  await expect(scheduled).toContainText("Approved; customers see it from");
  await expect(scheduled).toContainText("approved by controller@ledgerport.example");

  // Every USD payer contact is told, without the account number.
  for (const who of [PAYER, "pat@acme.example", "nina@northwind.example"]) {
    const notice = await latestMessageTo(who, 20_000, CHANGES);
    expect(notice.body).toContain("/pay");
    expect(notice.body).not.toContain("9876543210");
  }

  // The payer announces a transfer while the change waits: the account shown is the old one.
  await payer.goto("/invoices?filter=open");
  await expect(payer.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await payer.getByTestId("invoices").getByRole("checkbox").first().check();
  await payer.getByRole("button", { name: "Pay selected" }).click();
  await payer.getByTestId("bank-transfer").getByRole("button", { name: "Pay by bank transfer" }).click();
  await expect(payer.getByTestId("transfer-details")).toContainText("000123456789");
  await expect(payer.getByTestId("transfer-details")).not.toContainText("9876543210");

  // Any manager can still withdraw it; the payers who were told hear it is off.
  await manager.goto("/admin/bank-accounts");
  await expect(manager.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await manager
    .getByTestId("bank-account-versions")
    .locator('tr[data-status="Scheduled"]')
    .getByRole("button", { name: "Withdraw" })
    .click();
  await expect(manager.getByText("Withdrawn. Customers keep seeing the account in effect.")).toBeVisible();
  await expect(manager.getByTestId("bank-account-versions").locator('tr[data-status="Withdrawn"]')).toHaveCount(1);
  expect((await latestMessageTo(PAYER, 20_000, WITHDRAWN)).body).toContain("Nothing changes");
});

test("a document's code checks out on the public page, and an altered one is not ours", async ({ browser, page }) => {
  const pat = await signedIn(browser, "pat@acme.example", "acme-pays-on-time");
  await pat.goto("/invoices");
  await expect(pat.locator(".app")).toHaveAttribute("data-hydrated", "true");
  const firstInvoice = pat.getByTestId("invoices").locator("tbody tr").first().getByRole("link").first();
  const number = ((await firstInvoice.textContent()) ?? "").trim();
  const href = await firstInvoice.getAttribute("href");
  const pdf = await pat.request.get(`/documents/invoices/${href!.split("/").pop()}.pdf`);
  expect(pdf.status()).toBe(200);
  const text = (await pdf.body()).toString("latin1");
  const code = /\(Code ([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}):/.exec(text)?.[1];
  expect(code, "the PDF prints its code").toBeTruthy();

  // A stranger, not signed in, types the code from the paper.
  await page.goto("/verify");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await page.getByLabel("Document code").fill(code!.toLowerCase());
  await page.getByRole("button", { name: "Check" }).click();
  await expect(page.getByTestId("verified")).toContainText(`Invoice ${number}`);

  const altered = (code![0] === "A" ? "B" : "A") + code!.slice(1);
  await page.goto(`/verify/${altered}`);
  await expect(page.getByTestId("not-issued")).toContainText("Not issued by us");
  await expect(page.getByTestId("verified")).toHaveCount(0);
});
