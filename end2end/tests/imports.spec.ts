// Getting invoices in without typing them: a CSV import (preview, errors by row, commit all at
// once) and an API key for an ERP; then the collections report.
import { expect, test } from "@playwright/test";
import { signInAsManager } from "../support/session";

test.beforeEach(async ({ page }) => {
  await signInAsManager(page);
});

const header = "customer,invoice,po,issue_date,description,quantity,unit_price,tax_percent\n";

async function upload(page, name: string, text: string) {
  await page.goto("/admin/imports");
  await page.getByLabel("CSV file").setInputFiles({ name, mimeType: "text/csv", buffer: Buffer.from(text) });
  await page.getByRole("button", { name: "Upload and preview" }).click();
  await expect(page).toHaveURL(/\/admin\/imports\/\d+$/);
}

test("a file with a bad row is shown by row and cannot be committed; the fixed file issues its invoice once", async ({ page }) => {
  await upload(page, "bad.csv", header + "C-1003,IMP-E2E-1,PO-9,2026-11-02,Widgets,10,-5,\n");
  await expect(page.getByTestId("import-status")).toContainText("1 rows have errors");
  await expect(page.getByTestId("import-errors")).toContainText("unit price must not be negative");
  await expect(page.getByRole("button", { name: /Issue/ })).toHaveCount(0);

  const good = header +
    "C-1003,IMP-E2E-1,PO-9,2026-11-02,Widgets,10,500,10\n" +
    "C-1003,IMP-E2E-1,PO-9,2026-11-02,Delivery,1,2000,\n";
  await upload(page, "good.csv", good);
  await expect(page.getByTestId("import-status")).toContainText("Ready: 1 new invoices");
  // 10 × ¥500 + 10 % tax + ¥2,000 delivery = ¥7,500
  await expect(page.getByTestId("import-invoices")).toContainText("¥7,500");
  await page.getByRole("button", { name: "Issue 1 invoices" }).click();
  await expect(page.getByTestId("import-status")).toContainText("Committed");

  // The same file again changes nothing.
  await upload(page, "good.csv", good);
  await expect(page.getByTestId("import-status")).toContainText("Ready: 0 new invoices, 1 already issued");
});

test("a manager creates an API key, sees it once, and revokes it", async ({ page }) => {
  await page.getByRole("navigation", { name: "Account" }).getByRole("link", { name: "API keys" }).click();
  // The key is shown once, by the live island: a click before the module has loaded posts the
  // form without JavaScript, which creates the key but cannot show it.
  await expect(page).toHaveURL(/\/admin\/api-keys$/);
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await page.getByLabel("Label").fill("ERP sandbox");
  await page.getByRole("button", { name: "Create a key" }).click();
  await expect(page.getByTestId("new-api-key")).toHaveText(/^lpk_[0-9a-f]{48}$/);
  const row = page.getByTestId("api-keys").locator("tr", { hasText: "ERP sandbox" });
  await row.getByRole("button", { name: "Revoke" }).click();
  await expect(row).toContainText("revoked");
});

test("the collections report shows DSO and CEI, cash per day as a chart, and what is expected", async ({ page }) => {
  await page.goto("/admin/reports/collections");
  await expect(page.getByTestId("dso-cei")).toContainText("USD");
  await expect(page.getByTestId("collections-expected")).toBeVisible();
  await expect(page.locator("figure.chart svg").first()).toBeVisible();
});
