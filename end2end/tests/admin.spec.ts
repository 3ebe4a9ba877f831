// AR staff open a customer account and invite its first contact.
import { expect, test } from "@playwright/test";

test("a clerk opens a customer account on 2/10 net 30 and invites a payer", async ({ page }) => {
  await page.goto("/sign-in");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await page.getByLabel("Email").fill("clerk@ledgerport.example");
  await page.getByLabel("Password").fill("clerk-works-disputes");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("customers")).toBeVisible();

  await page.getByLabel("Customer number").fill("C-3001");
  await page.getByLabel("Name", { exact: true }).fill("Initrode Ltd");
  await page.getByLabel("Currency").selectOption("EUR");
  await page.getByLabel("Net days").fill("30");
  await page.getByLabel("Early-payment discount (%)").fill("2");
  await page.getByLabel("Discount window (days)").fill("10");
  await page.getByLabel("Credit limit").fill("50000");
  await page.getByRole("button", { name: "Open the account" }).click();
  await expect(page).toHaveURL(/\/admin\/customers\/\d+$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Initrode Ltd");

  await page.getByLabel("Email").fill("ines@initrode.example");
  await page.getByLabel("Name").fill("Ines");
  await page.getByLabel("Role").selectOption("payer");
  await page.getByRole("button", { name: "Send invitation" }).click();
  await expect(page.getByTestId("invited")).toBeVisible();
  await expect(page.getByTestId("contacts")).toContainText("ines@initrode.example");

  await page.getByLabel("Invoice number").fill("INV-INI-0001");
  await page.getByLabel("PO number (optional)").fill("PO-1");
  await page.getByLabel("Line 1 description").fill("Site survey");
  await page.getByLabel("Line 1 quantity").fill("2");
  await page.getByLabel("Line 1 unit price").fill("450.00");
  await page.getByLabel("Line 1 tax").fill("20");
  await page.getByLabel("Line 2 description").fill("Travel");
  await page.getByLabel("Line 2 unit price").fill("60.00");
  await page.getByRole("button", { name: "Issue the invoice" }).click();
  await expect(page.getByTestId("issued")).toBeVisible();
  // 2 × 450.00 + 20 % tax = 1,080.00, plus 60.00 travel: 1,140.00 open.
  await expect(page.getByTestId("staff-invoices")).toContainText("€1,140.00");

  // A cheque for part of it arrives by post.
  await page.getByLabel("Method", { exact: true }).selectOption("cheque");
  await page.getByLabel("Amount", { exact: true }).fill("140.00");
  await page.getByLabel("Cheque number or reference").fill("CHQ-0001");
  await page.getByRole("button", { name: "Record the payment" }).click();
  await expect(page.getByTestId("payment-recorded")).toBeVisible();

  await page.goto("/admin");
  const row = page.getByTestId("customers").locator("tr", { hasText: "Initrode Ltd" });
  await expect(row).toContainText("EUR");
  await expect(row.locator("td.num").first()).toHaveText("€1,000.00");
  await page.goto("/admin/reports/aging");
  await expect(page.getByTestId("aging-report").locator("tr", { hasText: "Initrode Ltd" })).toContainText("€1,000.00");
});

test("a taken customer number is refused with the reason", async ({ page }) => {
  await page.goto("/sign-in");
  await page.getByLabel("Email").fill("clerk@ledgerport.example");
  await page.getByLabel("Password").fill("clerk-works-disputes");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("customers")).toBeVisible();
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await page.getByLabel("Customer number").fill("C-1001");
  await page.getByLabel("Name", { exact: true }).fill("Another Acme");
  await page.getByRole("button", { name: "Open the account" }).click();
  await expect(page.getByRole("alert")).toHaveText("Customer number C-1001 is already taken");
});
