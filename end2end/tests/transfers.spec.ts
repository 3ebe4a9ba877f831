// Paying by bank transfer and the bank's file bringing the money: a payer announces a transfer
// (reference, bank details), staff import the bank's camt.054 notification, the transfer's line
// is matched by its reference and the invoice is paid; a line nobody can place waits for staff.
// Runs last (files run in name order, on one database): it pays an invoice of Acme's.
import { expect, test, type Browser, type Page } from "@playwright/test";

const cents = (text: string | null) => Math.round(Number((text ?? "").replace(/[^0-9.-]/g, "")) * 100);

async function signIn(page: Page, email: string, password: string) {
  await page.goto("/sign-in");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

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
