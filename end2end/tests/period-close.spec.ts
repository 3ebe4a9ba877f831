// Closing the books: a manager closes last month and exports the journal; a clerk then cannot
// date a credit memo in the closed month. Runs after the specs that post entries dated last month.
import { expect, test } from "@playwright/test";
import { signIn } from "../support/session";

test("a manager closes last month and downloads the export batch; a clerk cannot date a credit memo in it", async ({
  page,
  browser,
}) => {
  await signIn(page, "manager@ledgerport.example", "manager-sees-everything");
  await page.goto("/admin/trial-balance");
  await page.getByRole("link", { name: "Closing the books" }).click();
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await expect(page.getByTestId("closed-through")).toContainText("No period is closed");

  // The form offers last month first.
  await page.getByRole("button", { name: "Close the month" }).click();
  await expect(page.getByTestId("closed-through")).toContainText("The books are closed through");
  await expect(page.getByTestId("period-history")).toContainText("manager@ledgerport.example");

  await page.getByRole("button", { name: "Export what is new" }).click();
  const batch = page.getByTestId("export-batches").locator("tbody tr").first();
  await expect(batch).toBeVisible();
  const downloading = page.waitForEvent("download");
  await batch.getByRole("link", { name: "Entries and lines (CSV)" }).click();
  const download = await downloading;
  const csv = await new Promise<string>((resolve, reject) => {
    download.createReadStream().then((stream) => {
      let text = "";
      stream.on("data", (chunk) => (text += chunk));
      stream.on("end", () => resolve(text));
      stream.on("error", reject);
    }, reject);
  });
  expect(csv.split("\n")[0]).toBe(
    "entry_id,business_key,kind,date,occurred_on,customer,memo,account,account_name,currency,debit,credit,invoice",
  );
  expect(csv).toContain("payment_received");
  // Nothing new right after: no second batch.
  await page.getByRole("button", { name: "Export what is new" }).click();
  await expect(page.getByTestId("nothing-to-export")).toBeVisible();

  // A clerk, in another browser, credits a line of Initrode's invoice dated in the closed month:
  // refused, naming the period, and nothing changes. Dated today, the same credit memo is issued.
  const clerkContext = await browser.newContext();
  const clerk = await clerkContext.newPage();
  await signIn(clerk, "clerk@ledgerport.example", "clerk-works-disputes");
  await clerk.getByTestId("customers").getByRole("link", { name: "Initrode Ltd" }).click();
  await clerk.getByTestId("staff-invoices").getByRole("link", { name: "INV-INI-0001" }).click();
  await expect(clerk).toHaveURL(/\/admin\/invoices\/\d+$/);
  await expect(clerk.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await expect(clerk.getByTestId("open")).toHaveText("€1,000.00");
  const closedDay = new Date();
  closedDay.setUTCDate(0); // the last day of last month
  await clerk.getByLabel("Credit on line 2").fill("60.00");
  await clerk.getByLabel("Credit memo number").fill("CM-INI-1");
  await clerk.getByLabel("Dated").fill(closedDay.toISOString().slice(0, 10));
  await clerk.getByLabel("Reason").fill("Travel was included in the survey price");
  await clerk.getByRole("button", { name: "Issue the credit memo" }).click();
  await expect(clerk.getByRole("alert")).toContainText("The books are closed through");
  await expect(clerk.getByTestId("credited")).toHaveCount(0);
  await expect(clerk.getByTestId("open")).toHaveText("€1,000.00");

  await clerk.getByLabel("Dated").fill(new Date().toISOString().slice(0, 10));
  await clerk.getByRole("button", { name: "Issue the credit memo" }).click();
  await expect(clerk.getByTestId("credited")).toContainText("Credit memo CM-INI-1 issued.");
  await expect(clerk.getByTestId("open")).toHaveText("€940.00");
  await expect(clerk.getByTestId("credit-lines").locator("tbody tr").nth(1)).toContainText("€60.00");
  await expect(clerk.getByLabel("Credit on line 2")).toBeDisabled();
  await expect(clerk.getByTestId("timeline")).toContainText("Travel was included in the survey price");
  await clerkContext.close();
});
