// The whole journey, start to finish, in one account of its own (Journey Works, C-4001):
// staff open the account, issue two invoices and invite a contact; the contact accepts, disputes
// a line and pays the rest; staff credit the disputed line; the customer sees the credit and a
// zero balance; the journal for the account balances and the ledger is healthy.
import { expect, test, type Browser, type Page } from "@playwright/test";
import { signIn } from "../support/session";
import { latestMessageTo } from "../support/mailbox";

const cents = (text: string | null) => Math.round(Number((text ?? "").replace(/[^0-9.-]/g, "")) * 100);

async function newPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ baseURL: test.info().project.use.baseURL });
  return context.newPage();
}

async function issue(page: Page, number: string, lines: [string, string, string][]) {
  // A fresh form each time, so no line is left over from the invoice before.
  await page.reload();
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await page.getByLabel("Invoice number").fill(number);
  for (const [i, [description, quantity, price]] of lines.entries()) {
    await page.getByLabel(`Line ${i + 1} description`).fill(description);
    await page.getByLabel(`Line ${i + 1} quantity`).fill(quantity);
    await page.getByLabel(`Line ${i + 1} unit price`).fill(price);
  }
  await page.getByRole("button", { name: "Issue the invoice" }).click();
  await expect(page.getByTestId("staff-invoices")).toContainText(number);
}

test("staff bill a new customer, the contact disputes a line and pays the rest, a credit brings the balance to zero, and the books balance", async ({ browser }) => {
  // Two people, a payment and an email round trip: longer than one page's test.
  test.setTimeout(120_000);
  // Staff: the account, two invoices (1,120.00 and 300.00), and an invitation.
  const staff = await newPage(browser);
  await signIn(staff, "manager@ledgerport.example", "manager-sees-everything");
  await staff.goto("/admin");
  await staff.getByLabel("Customer number").fill("C-4001");
  await staff.getByLabel("Name", { exact: true }).fill("Journey Works");
  await staff.getByLabel("Currency").selectOption("USD");
  await staff.getByLabel("Net days").fill("30");
  await staff.getByRole("button", { name: "Open the account" }).click();
  await expect(staff).toHaveURL(/\/admin\/customers\/\d+$/);
  const customerId = staff.url().split("/").pop();
  await expect(staff.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await issue(staff, "JNY-0001", [["Consulting days", "2", "500.00"], ["Travel", "1", "120.00"]]);
  await issue(staff, "JNY-0002", [["Support plan", "1", "300.00"]]);
  await staff.getByLabel("Email").fill("jo@journey.example");
  await staff.getByLabel("Name").fill("Jo");
  await staff.getByLabel("Role").selectOption("payer");
  await staff.getByRole("button", { name: "Send invitation" }).click();
  await expect(staff.getByTestId("contacts")).toContainText("jo@journey.example");

  // The invitation link, from the email as Jo receives it (staff never see its secret).
  const { body } = await latestMessageTo("jo@journey.example");
  const link = body.match(/\/accept-invitation\?token=[^\s]+/)?.[0];
  expect(link, "the invitation carries a link").toBeTruthy();
  await staff.goto("/admin/outbox");
  await expect(staff.getByTestId("outbox").locator("li", { hasText: "jo@journey.example" }).first()).toContainText("[hidden]");

  // The contact accepts, sees 1,420.00 due, and disputes the travel line in full.
  const customer = await newPage(browser);
  await customer.goto(link!);
  await expect(customer.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await customer.getByLabel("New password").fill("journey-works-pays");
  await customer.getByRole("button", { name: "Set password and sign in" }).click();
  await expect(customer.getByTestId("summary")).toBeVisible();
  expect(cents(await customer.getByTestId("balance-due").textContent())).toBe(142_000);
  await customer.goto("/invoices?filter=open&sort=number&dir=asc");
  await customer.getByTestId("invoices").getByRole("link", { name: "JNY-0001" }).click();
  const invoiceUrl = customer.url();
  await customer.getByRole("link", { name: "Dispute lines" }).click();
  await customer.getByLabel("Dispute line 2").check();
  await customer.getByLabel("Reason for line 2").selectOption("not_received");
  await customer.getByLabel("Amount disputed on line 2").fill("120.00");
  await customer.getByLabel("What is wrong?").fill("Nobody travelled; the work was remote.");
  await customer.getByRole("button", { name: "Send the dispute" }).click();
  await expect(customer).toHaveURL(/\/disputes\/\d+$/);
  const disputeId = customer.url().split("/").pop();

  // It pays everything due: the disputed 120.00 is left out.
  await customer.goto("/");
  await expect(customer.getByTestId("in-dispute")).toHaveText("$120.00");
  await customer.getByRole("link", { name: "Pay everything due" }).click();
  await expect(customer.getByTestId("pay-total")).toHaveText(/\$/);
  expect(cents(await customer.getByTestId("pay-total").textContent())).toBe(130_000);
  await customer.getByRole("button", { name: /^Pay \$[\d,.]+$/ }).click();
  await expect(customer.getByText("Sandbox checkout")).toBeVisible();
  await customer.getByLabel("Card number").fill("4242 4242 4242 4242");
  await customer.getByLabel("Expiry (MM / YY)").fill("12 / 34");
  await customer.getByLabel("CVC").fill("123");
  await customer.getByRole("button", { name: /^Pay \$[\d,.]+$/ }).click();
  await expect(customer.getByTestId("checkout-succeeded")).toBeVisible();

  // Staff take the dispute and credit the line in full.
  await staff.goto("/admin/disputes");
  await staff.getByTestId("disputes").getByRole("link", { name: `#${disputeId}` }).click();
  await staff.getByRole("button", { name: "Start the review (assigns it to me)" }).click();
  await expect(staff.getByTestId("dispute-status")).toHaveText("In review");
  await staff.getByLabel("Note to the customer").fill("Travel removed from the invoice.");
  await staff.getByRole("button", { name: "Credit now" }).click();
  await expect(staff.getByTestId("dispute-status")).toHaveText("Resolved: credited");

  // The customer sees the credit and nothing left to pay.
  await customer.goto(invoiceUrl);
  await expect(customer.getByTestId("timeline")).toContainText("Credit memo");
  await expect(customer.getByTestId("open")).toHaveText("$0.00");
  await customer.goto("/");
  await expect(customer.getByTestId("balance-due")).toHaveText("$0.00");
  await expect(customer.getByTestId("in-dispute")).toHaveCount(0);

  // The account's journal balances, and the ledger-health check finds nothing.
  await staff.goto(`/admin/journal?customer=${customerId}`);
  const rows = staff.getByTestId("journal").locator("tbody.entry tr:not(.strong)");
  await expect(rows.first()).toBeVisible();
  const [debits, credits] = await rows.evaluateAll((trs) => {
    const amount = (td: Element | undefined) => Math.round(Number((td?.textContent ?? "").replace(/[^0-9.-]/g, "") || 0) * 100);
    return trs.reduce(([d, c], tr) => [d + amount(tr.children[4]), c + amount(tr.children[5])], [0, 0]);
  });
  expect(debits).toBeGreaterThan(0);
  expect(debits).toBe(credits);
  await staff.goto("/admin/ledger-health");
  await expect(staff.getByTestId("health-ok")).toBeVisible();
});
