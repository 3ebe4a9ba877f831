// Paying by bank transfer and the bank's file bringing the money: a payer announces a transfer
// (reference, bank details), staff import the bank's camt.054 notification, the transfer's line
// is matched by its reference and the invoice is paid; a line nobody can place waits for staff.
// Runs after the specs that read Acme's balances (files run in name order, on one database): it
// pays an invoice of Acme's.
import { expect, test, type Browser, type Page } from "@playwright/test";
import { signIn } from "../support/session";

const cents = (text: string | null) => Math.round(Number((text ?? "").replace(/[^0-9.-]/g, "")) * 100);

// A camt.054 notification of the demo's USD account with these credits.
function notification(credits: { ref: string; cents: number; payer: string; text: string }[]) {
  const entries = credits
    .map(
      (c) => `<Ntry><Amt Ccy="USD">${(c.cents / 100).toFixed(2)}</Amt><CdtDbtInd>CRDT</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-12-04</Dt></BookgDt><AcctSvcrRef>${c.ref}</AcctSvcrRef>
        <NtryDtls><TxDtls><RltdPties><Dbtr><Pty><Nm>${c.payer}</Nm></Pty></Dbtr></RltdPties>
        <RmtInf><Ustrd>${c.text}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>`,
    )
    .join("\n");
  return `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn>
<GrpHdr><MsgId>E2E</MsgId><CreDtTm>2026-12-04T10:00:00</CreDtTm></GrpHdr>
<Ntfctn><Id>E2E-NTF-1</Id><Acct><Id><Othr><Id>000123456789</Id></Othr></Id><Ccy>USD</Ccy></Acct>
${entries}
</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>`;
}

async function asStaff(browser: Browser) {
  const staff = await (await browser.newContext()).newPage();
  await signIn(staff, "manager@ledgerport.example", "manager-sees-everything");
  await expect(staff).toHaveURL(/\/admin$/);
  return staff;
}

test("a payer announces a bank transfer and the bank's file pays the invoice by its reference", async ({ page, browser }) => {
  await signIn(page, "pat@acme.example", "acme-pays-on-time");
  await expect(page.getByTestId("summary")).toBeVisible();
  await page.goto("/invoices?filter=open");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await page.getByTestId("invoices").getByRole("checkbox").first().check();
  await page.getByRole("button", { name: "Pay selected" }).click();
  await expect(page.getByTestId("pay-lines").locator("tbody tr")).toHaveCount(1);
  const total = cents(await page.getByTestId("pay-total").textContent());

  await page.getByTestId("bank-transfer").getByRole("button", { name: "Pay by bank transfer" }).click();
  await expect(page.getByTestId("transfer-announced")).toBeVisible();
  const reference = (await page.getByTestId("transfer-reference").textContent()) ?? "";
  expect(reference).toMatch(/^RF\d{2}( \w{1,4})+$/);
  await expect(page.getByTestId("transfer-details")).toContainText("Routing number (ABA)");
  await expect(page.getByTestId("transfer-details")).toContainText("110000000");
  const transferPage = page.url();
  await page.goto("/invoices?filter=open");
  await expect(page.getByTestId("transfer-badge")).toHaveCount(1);

  // The bank's notification: the transfer (its reference as the payer typed it) and a stranger's money.
  const staff = await asStaff(browser);
  await staff.getByRole("navigation", { name: "Account" }).getByRole("link", { name: "Bank" }).click();
  await staff.getByLabel("Statement file").setInputFiles({
    name: "notification.xml",
    mimeType: "application/xml",
    buffer: Buffer.from(
      notification([
        { ref: "E2E-LINE-1", cents: total, payer: "Acme Fabrication", text: `Invoice payment ${reference.toLowerCase()}` },
        { ref: "E2E-LINE-2", cents: 4200, payer: "Somebody Else", text: "for services" },
      ]),
    ),
  });
  await staff.getByRole("button", { name: "Import" }).click();
  await expect(staff).toHaveURL(/\/admin\/bank\/\d+$/);
  await expect(staff.getByTestId("statement-summary")).toContainText("2 lines, 2 new, 1 matched");
  await expect(staff.locator('tr[data-status="matched"]')).toContainText("Transfer reference");
  await expect(staff.locator('tr[data-status="unmatched"]')).toContainText("Waiting for staff");

  // The payer sees the money received, and the invoice no longer waits.
  await page.goto(transferPage);
  await expect(page.getByTestId("checkout-succeeded")).toBeVisible();
  await page.goto("/invoices?filter=open");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await expect(page.getByTestId("transfer-badge")).toHaveCount(0);

  // The same file again changes nothing.
  await staff.goto("/admin/bank");
  await staff.getByLabel("Statement file").setInputFiles({
    name: "notification.xml",
    mimeType: "application/xml",
    buffer: Buffer.from(notification([{ ref: "E2E-LINE-1", cents: total, payer: "Acme Fabrication", text: reference }])),
  });
  await staff.getByRole("button", { name: "Import" }).click();
  await expect(staff.getByTestId("statement-summary")).toContainText("2 lines, 2 new, 1 matched");
});

// A camt.053 statement of the demo's USD account with these credits and a closing balance.
function statement(id: string, credits: { ref: string; cents: number; payer: string; text: string }[]) {
  const closing = credits.reduce((sum, c) => sum + c.cents, 0);
  const entries = credits
    .map(
      (c) => `<Ntry><Amt Ccy="USD">${(c.cents / 100).toFixed(2)}</Amt><CdtDbtInd>CRDT</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-12-04</Dt></BookgDt><AcctSvcrRef>${c.ref}</AcctSvcrRef>
        <NtryDtls><TxDtls><RltdPties><Dbtr><Nm>${c.payer}</Nm></Dbtr></RltdPties>
        <RmtInf><Ustrd>${c.text}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>`,
    )
    .join("\n");
  return `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>E2E-S</MsgId><CreDtTm>2026-12-04T18:00:00</CreDtTm></GrpHdr>
<Stmt><Id>${id}</Id><Acct><Id><Othr><Id>000123456789</Id></Othr></Id><Ccy>USD</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="USD">${(closing / 100).toFixed(2)}</Amt>
<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-12-04</Dt></Dt></Bal>
${entries}
</Stmt></BkToCstmrStmt></Document>`;
}

test("staff apply a line the rules left waiting from the cash-application queue and the customer sees both payments", async ({ page, browser }) => {
  // Two fresh invoices of Acme's (earlier files paid its demo invoices).
  const staff = await asStaff(browser);
  await staff.getByTestId("customers").getByRole("link", { name: "Acme Fabrication Ltd" }).click();
  await expect(staff).toHaveURL(/\/admin\/customers\/\d+$/);
  await expect(staff.locator(".app")).toHaveAttribute("data-hydrated", "true");
  const issue = async (number: string, price: string) => {
    await staff.getByLabel("Invoice number").fill(number);
    await staff.getByLabel("Line 1 description").fill("Machining");
    await staff.getByLabel("Line 1 unit price").fill(price);
    await staff.getByRole("button", { name: "Issue the invoice" }).click();
    await expect(staff.getByTestId("staff-invoices")).toContainText(number);
  };
  const byNumber = { number: "INV-E2E-Q1", cents: 123_411 };
  const byQueue = { number: "INV-E2E-Q2", cents: 234_567 };
  await issue(byNumber.number, "1234.11");
  await issue(byQueue.number, "2345.67");

  await staff.goto("/admin/bank");
  await expect(staff.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await staff.getByLabel("Statement file").setInputFiles({
    name: "statement.xml",
    mimeType: "application/xml",
    buffer: Buffer.from(
      statement("E2E-STMT-1", [
        { ref: "E2E-Q-1", cents: byNumber.cents, payer: "Acme Fabrication", text: `Payment ${byNumber.number}` },
        { ref: "E2E-Q-2", cents: byQueue.cents, payer: "ACME TREASURY DEPT", text: "December" },
      ]),
    ),
  });
  await staff.getByRole("button", { name: "Import" }).click();
  await expect(staff).toHaveURL(/\/admin\/bank\/\d+$/);
  const statementPage = staff.url();
  await expect(staff.getByTestId("statement-summary")).toContainText("2 lines, 2 new, 1 matched");
  await expect(staff.locator('tr[data-status="matched"]')).toContainText("Invoice numbers in the remittance");

  // The queue: the waiting line's best suggestion is Acme, paying the invoice of that amount.
  await staff.getByRole("link", { name: "Apply the waiting lines" }).click();
  await expect(staff).toHaveURL(/\/admin\/cash-application$/);
  await expect(staff.locator(".app")).toHaveAttribute("data-hydrated", "true");
  const waiting = staff.locator('article[data-reference="E2E-Q-2"]');
  const suggestion = waiting.locator('tr[data-customer="C-1001"]');
  await expect(suggestion).toContainText(byQueue.number);
  await suggestion.getByRole("button", { name: "Apply" }).click();
  await expect(staff.getByText("The bank line was applied.")).toBeVisible();
  await expect(staff.locator('article[data-reference="E2E-Q-2"]')).toHaveCount(0);

  // Both lines are posted and the statement reconciles them.
  await staff.goto(statementPage);
  await expect(staff.locator('tr[data-status="matched"]')).toHaveCount(2);
  await expect(staff.locator('tr[data-status="matched"]').last()).toContainText("Applied by staff");
  await expect(staff.getByTestId("reconciliation")).toBeVisible();

  // The customer sees both payments and the invoices each paid.
  await signIn(page, "pat@acme.example", "acme-pays-on-time");
  await expect(page.getByTestId("summary")).toBeVisible();
  await page.goto("/payments");
  const payments = page.getByTestId("payments");
  await expect(payments.locator("tr", { hasText: byNumber.number })).toHaveCount(1);
  await expect(payments.locator("tr", { hasText: byQueue.number })).toHaveCount(1);
});
