// The books as AR staff read them: aging report, journal, trial balance, ledger health.
import { expect, test } from "@playwright/test";
import { signInAsManager } from "../support/session";

test.beforeEach(async ({ page }) => {
  await signInAsManager(page);
});

test("a manager reads the aging report and drills into one customer's journal", async ({ page }) => {
  await page.getByRole("navigation", { name: "Account" }).getByRole("link", { name: "Books" }).click();
  const report = page.getByTestId("aging-report");
  await expect(report).toBeVisible();
  await expect(report).toContainText("Acme Fabrication Ltd");
  await expect(report).toContainText("Northwind Traders");
  await expect(report.locator("tfoot")).toContainText("Whole book USD");
  const acme = report.locator("tbody tr", { hasText: "Acme Fabrication Ltd" });
  await acme.getByRole("link", { name: "entries" }).click();
  await expect(page.getByTestId("journal")).toContainText("payment_received");
  await expect(page.getByTestId("journal")).not.toContainText("Northwind");
});

test("the trial balance balances and the ledger health page finds no violation", async ({ page }) => {
  await page.goto("/admin/trial-balance");
  const total = page.getByTestId("trial-balance-total").first();
  await expect(total).toBeVisible();
  const cells = total.locator("td.num");
  await expect(cells.nth(0)).toHaveText((await cells.nth(1).textContent()) ?? "");
  await page.getByRole("link", { name: "Ledger health" }).click();
  await expect(page.getByTestId("health-ok")).toBeVisible();
  await page.getByRole("link", { name: "Audit log" }).click();
  await expect(page.getByTestId("audit")).toContainText("manager@ledgerport.example");
});
