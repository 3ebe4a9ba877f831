// Paying online through the offline sandbox. Runs after portal.spec.ts (files run in name
// order, on one database), because it changes the balances that spec reads.
import { expect, test, type Page } from "@playwright/test";

const dollars = (text: string | null) => Math.round(Number((text ?? "").replace(/[^0-9.-]/g, "")) * 100);

async function signInAsPayer(page: Page) {
  await page.goto("/sign-in");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await page.getByLabel("Email").fill("pat@acme.example");
  await page.getByLabel("Password").fill("acme-pays-on-time");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("summary")).toBeVisible();
  return dollars(await page.getByTestId("balance-due").textContent());
}

async function paySelected(page: Page, howMany: number, card: string) {
  await page.goto("/invoices?filter=open");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  const boxes = page.getByTestId("invoices").getByRole("checkbox");
  for (let i = 0; i < howMany; i++) await boxes.nth(i).check();
  await page.getByRole("button", { name: "Pay selected" }).click();
  await expect(page.getByTestId("pay-lines").locator("tbody tr")).toHaveCount(howMany);
  const total = dollars(await page.getByTestId("pay-total").textContent());
  await page.getByRole("button", { name: /^Pay \$/ }).click();
  await expect(page.getByText("Sandbox checkout")).toBeVisible();
  await expect(page.getByTestId("sandbox-amount")).toHaveText(/\$/);
  expect(dollars(await page.getByTestId("sandbox-amount").textContent())).toBe(total);
  await page.getByLabel("Card number").fill(card);
  await page.getByLabel("Expiry (MM / YY)").fill("12 / 34");
  await page.getByLabel("CVC").fill("123");
  await page.getByRole("button", { name: /^Pay \$/ }).click();
  return total;
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
  await page.goto("/sign-in");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await page.getByLabel("Email").fill("manager@ledgerport.example");
  await page.getByLabel("Password").fill("manager-sees-everything");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/admin/);
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
