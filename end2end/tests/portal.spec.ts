import { expect, test, type Page } from "@playwright/test";
import { readFileSync } from "node:fs";

async function signInAsPayer(page: Page) {
  await page.goto("/sign-in");
  await page.getByLabel("Email").fill("pat@acme.example");
  await page.getByLabel("Password").fill("acme-pays-on-time");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("summary")).toBeVisible();
}

function collectConsoleProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(e.message));
  return problems;
}

test("a customer reads the summary, filters invoices, opens one and downloads its PDF", async ({ page }) => {
  const problems = collectConsoleProblems(page);
  await page.goto("/sign-in");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await signInAsPayer(page);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Acme Fabrication Ltd");
  await expect(page.getByTestId("balance-due")).toHaveText(/^\$[\d,]+\.\d\d$/);
  await expect(page.getByTestId("aging")).toBeVisible();

  const nav = page.getByRole("navigation", { name: "Account" });
  await nav.getByRole("link", { name: "Invoices" }).click();
  await expect(page.getByTestId("invoices")).toBeVisible();
  await expect(page.getByTestId("invoices").locator("tbody tr")).toHaveCount(5);
  await page.getByRole("link", { name: "Paid", exact: true }).click();
  await expect(page).toHaveURL(/filter=paid/);
  const paidRows = page.getByTestId("invoices").locator("tbody tr");
  await expect(paidRows).toHaveCount(1);
  await expect(paidRows.first()).toContainText("Paid");

  await page.getByRole("link", { name: "All", exact: true }).click();
  await page.getByLabel("Search invoice or PO number").fill("PO-7790");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page.getByTestId("invoices").locator("tbody tr")).toHaveCount(1);
  await page.getByTestId("invoices").locator("tbody tr a").first().click();

  const number = (await page.getByTestId("invoice-number").textContent()) ?? "";
  expect(number).toMatch(/^INV-/);
  await expect(page.getByTestId("lines").locator("tbody tr")).toHaveCount(2);
  await expect(page.getByTestId("timeline")).toContainText("Payment");

  const downloading = page.waitForEvent("download");
  await page.getByRole("link", { name: "Download PDF" }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe(`${number}.pdf`);
  const pdf = readFileSync(await download.path());
  expect(pdf.subarray(0, 5).toString()).toBe("%PDF-");
  expect(pdf.toString("latin1")).toContain(`Invoice ${number}`);

  expect(problems).toEqual([]);
});

test("statements: last month renders, and this month closes at the summary balance", async ({ page }) => {
  const problems = collectConsoleProblems(page);
  await signInAsPayer(page);
  const balance = await page.getByTestId("balance-due").textContent();

  await page.getByRole("navigation", { name: "Account" }).getByRole("link", { name: "Statements" }).click();
  await page.getByRole("link", { name: "Last month" }).click();
  await expect(page.getByTestId("statement")).toBeVisible();
  await expect(page.getByTestId("opening")).toHaveText(/\$/);
  await expect(page.getByTestId("closing")).toHaveText(/\$/);

  await page.getByRole("link", { name: "This month" }).click();
  await expect(page).toHaveURL(/from=/);
  await expect(page.getByTestId("closing")).toHaveText(balance ?? "");
  expect(problems).toEqual([]);
});

test("the customer pages render complete without JavaScript", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/sign-in");
  await page.getByLabel("Email").fill("vic@acme.example");
  await page.getByLabel("Password").fill("acme-reads-only");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("balance-due")).toHaveText(/\$/);

  await page.goto("/invoices?filter=paid");
  await expect(page.getByTestId("invoices").locator("tbody tr")).toHaveCount(1);
  await page.getByTestId("invoices").locator("tbody tr a").first().click();
  await expect(page.getByTestId("lines")).toBeVisible();

  await page.goto("/statements");
  await expect(page.getByTestId("closing")).toHaveText(/\$/);
  await page.goto("/payments");
  await expect(page.getByTestId("payments").locator("tbody tr")).toHaveCount(2);
  await context.close();
});
