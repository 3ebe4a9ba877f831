// Paying online through the offline sandbox. Runs after portal.spec.ts (files run in name
// order, on one database), because it changes the balances that spec reads.
import { expect, test, type Page } from "@playwright/test";
import { signInAsManager } from "../support/session";

const dollars = (text: string | null) => Math.round(Number((text ?? "").replace(/[^0-9.-]/g, "")) * 100);

async function signInAsPayer(page: Page, email = "pat@acme.example", password = "acme-pays-on-time") {
  await page.goto("/sign-in");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("summary")).toBeVisible();
  return dollars(await page.getByTestId("balance-due").textContent());
}

// Selects the first open invoices, reviews them, and goes to the sandbox's hosted page.
async function startPaying(page: Page, howMany: number) {
  await page.goto("/invoices?filter=open");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  const boxes = page.getByTestId("invoices").getByRole("checkbox");
  for (let i = 0; i < howMany; i++) await boxes.nth(i).check();
  await page.getByRole("button", { name: "Pay selected" }).click();
  await expect(page.getByTestId("pay-lines").locator("tbody tr")).toHaveCount(howMany);
  const total = dollars(await page.getByTestId("pay-total").textContent());
  await page.getByRole("button", { name: /^Pay \$[\d,.]+$/ }).click();
  await expect(page.getByText("Sandbox checkout")).toBeVisible();
  await expect(page.getByTestId("sandbox-amount")).toHaveText(/\$/);
  expect(dollars(await page.getByTestId("sandbox-amount").textContent())).toBe(total);
  return total;
}

async function paySelected(page: Page, howMany: number, card: string) {
  const total = await startPaying(page, howMany);
  await page.getByLabel("Card number").fill(card);
  await page.getByLabel("Expiry (MM / YY)").fill("12 / 34");
  await page.getByLabel("CVC").fill("123");
  await page.getByRole("button", { name: /^Pay \$[\d,.]+$/ }).click();
  return total;
}

// Pays by ACH with one of Stripe's test accounts; returns the checkout id once it is processing.
async function payByAch(page: Page, howMany: number, account: string) {
  await startPaying(page, howMany);
  await page.getByLabel("Account holder").fill("Accounts Payable");
  await page.getByLabel("Routing number").fill("110000000");
  await page.getByLabel("Account number").fill(account);
  await page.getByRole("checkbox", { name: /I authorise/ }).check();
  await page.getByRole("button", { name: /by bank debit$/ }).click();
  await expect(page.getByTestId("checkout-processing")).toBeVisible();
  await expect(page.getByTestId("checkout-processing")).toContainText("ACH payment");
  return new URL(page.url()).pathname.split("/").pop() ?? "";
}

test("a declined card shows a clear message and leaves the balance as it was", async ({ page }) => {
  const before = await signInAsPayer(page);
  await paySelected(page, 1, "4000 0000 0000 0002");
  await expect(page.getByRole("alert")).toHaveText("Your card was declined.");
  await page.goto("/");
  expect(dollars(await page.getByTestId("balance-due").textContent())).toBe(before);
});

test("a customer pays two invoices with 4242 and sees the receipt and the new balance", async ({ page }) => {
  const before = await signInAsPayer(page);
  const total = await paySelected(page, 2, "4242 4242 4242 4242");
  await expect(page.getByTestId("checkout-succeeded")).toBeVisible();
  await page.getByRole("link", { name: "View receipt" }).click();
  await expect(page.getByTestId("receipt")).toContainText("Applied to");
  await expect(page.getByTestId("receipt").locator("li")).toHaveCount(2);
  await page.goto("/");
  const after = dollars(await page.getByTestId("balance-due").textContent());
  // Discounts taken inside the window lower the balance by more than the cash paid.
  expect(after).toBeLessThanOrEqual(before - total);
  await page.goto("/payments");
  await expect(page.getByTestId("payments").locator("tbody tr")).toHaveCount(3);
});

test("a manager refunds part of a card payment from its page and sees the refund in its journal entries", async ({ page }) => {
  await signInAsManager(page);
  await page.goto("/admin/payments?method=card");
  await page.getByTestId("staff-payments").getByRole("link", { name: /^stripe:pi_/ }).first().click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Payment stripe:pi_");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  const before = dollars(await page.getByTestId("refundable").textContent());
  expect(before).toBeGreaterThan(100);
  await page.getByLabel("Refund amount").fill("1.00");
  await page.getByLabel("Reason").fill("One item arrived damaged");
  await page.getByRole("button", { name: "Refund", exact: true }).click();
  await expect(page.getByTestId("refund-sent")).toBeVisible();
  await expect(page.getByTestId("payment-refunds")).toContainText("One item arrived damaged");
  await expect(page.getByTestId("payment-refunds")).toContainText("sent");
  await expect(page.getByTestId("refundable")).toHaveText(/\$/);
  expect(dollars(await page.getByTestId("refundable").textContent())).toBe(before - 100);
  await expect(page.getByTestId("journal")).toContainText("refund");
});

test("a customer pays two invoices by ACH, sees them processing, and they are paid when the debit settles", async ({ page }) => {
  await signInAsPayer(page);
  const checkout = await payByAch(page, 2, "000123456789");
  await page.goto("/invoices?filter=open");
  await expect(page.getByTestId("in-payment-badge")).toHaveCount(2);
  await page.getByTestId("invoices").getByRole("link", { name: /^INV-/ }).first().click();
  await expect(page.getByTestId("in-progress")).toContainText("ACH payment processing, expected");
  // The sandbox settles the debit (days with a real bank).
  await page.goto(`/sandbox/checkout/${checkout}`);
  await page.getByRole("button", { name: "Settle now" }).click();
  await expect(page.getByTestId("checkout-succeeded")).toBeVisible();
  await page.goto("/invoices?filter=open");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await expect(page.getByTestId("in-payment-badge")).toHaveCount(0);
  await page.goto("/payments");
  await expect(page.getByTestId("payments")).toContainText("ACH");
});

test("a debit the bank returns after it settled reopens the invoice and says why", async ({ page }) => {
  await signInAsPayer(page, "nina@northwind.example", "northwind-checks-every-line");
  const checkout = await payByAch(page, 1, "000555555559");
  await page.goto(`/sandbox/checkout/${checkout}`);
  await page.getByRole("button", { name: "Settle now" }).click();
  await expect(page.getByTestId("checkout-returned")).toBeVisible();
  await expect(page.getByRole("alert")).toContainText("insufficient funds");
  await page.goto("/payments");
  await page.getByTestId("payments").getByRole("link").first().click();
  await expect(page.getByTestId("returned")).toContainText("the account had insufficient funds");
  await page.getByTestId("receipt").getByRole("link", { name: /^INV-/ }).first().click();
  await expect(page.getByTestId("open")).not.toHaveText("$0.00");
  await expect(page.getByTestId("timeline")).toContainText("returned by the bank: the account had insufficient funds");
});
