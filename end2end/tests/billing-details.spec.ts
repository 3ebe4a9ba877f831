// The customer's own billing details: a payer keeps them (the tax ID checked against the
// country's format) and AR staff see them on the account's page. Uses Northwind Traders.
import { expect, test } from "@playwright/test";
import { signedIn } from "../support/session";

test("a payer keeps the billing details, the tax ID checked by country, and staff see them", async ({ browser }) => {
  const payer = await signedIn(browser, "nina@northwind.example", "northwind-checks-every-line");
  await payer.goto("/profile");
  await expect(payer.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await payer.getByRole("link", { name: /Billing details/ }).click();
  await expect(payer).toHaveURL(/\/account\/billing$/);
  await expect(payer.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await payer.getByLabel("Billing address").fill("Northwind Traders\nAccounts Payable\n12 Harbour Street\n20457 Hamburg");
  await payer.getByLabel(/^Country/).fill("de");
  await payer.getByLabel(/^Tax ID/).fill("DE 12345678");
  await payer.getByRole("button", { name: "Save billing details" }).click();
  await expect(payer.getByRole("alert")).toContainText("VAT numbers of DE look like DE123456789");
  await payer.getByLabel(/^Tax ID/).fill("DE 123 456 789");
  await payer.getByLabel("Purchase order for every invoice").fill("4500012345");
  await payer.getByRole("button", { name: "Save billing details" }).click();
  await expect(payer.getByRole("status")).toContainText("Saved");
  await payer.reload();
  await expect(payer.getByLabel(/^Tax ID/)).toHaveValue("DE123456789");
  await expect(payer.getByLabel(/^Country/)).toHaveValue("DE");

  const staff = await signedIn(browser, "clerk@ledgerport.example", "clerk-works-disputes");
  await staff.goto("/admin");
  await staff.getByRole("link", { name: "Northwind Traders" }).click();
  await expect(staff.getByTestId("billing-details")).toContainText("12 Harbour Street");
  await expect(staff.getByTestId("tax-id")).toHaveText("DE123456789");
  await expect(staff.getByTestId("standing-po")).toHaveText("4500012345");
});

test("a contact chooses which emails they receive, and the choice stays", async ({ browser }) => {
  const payer = await signedIn(browser, "nina@northwind.example", "northwind-checks-every-line");
  await payer.goto("/profile");
  await expect(payer.locator(".app")).toHaveAttribute("data-hydrated", "true");
  const reminders = payer.getByLabel("Payment reminders before and after an invoice is due");
  await expect(reminders).toBeChecked();
  await reminders.uncheck();
  await payer.getByRole("button", { name: "Save email choices" }).click();
  await expect(payer.getByText("Email choices saved.")).toBeVisible();
  await payer.reload();
  await expect(payer.getByLabel("Payment reminders before and after an invoice is due")).not.toBeChecked();
  await expect(payer.getByLabel("Receipts for payments (with the PDF)")).toBeChecked();
  // Back as it was, for the specs after this one.
  await payer.getByLabel("Payment reminders before and after an invoice is due").check();
  await payer.getByRole("button", { name: "Save email choices" }).click();
  await expect(payer.getByText("Email choices saved.")).toBeVisible();
});
