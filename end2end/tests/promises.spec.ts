// Promises to pay: a payer promises to pay an overdue invoice by a day; the reminder run skips
// that invoice until the promise is withdrawn, and AR see the promise on the account. Uses
// Northwind (nina@northwind.example); runs after disputes.spec and before settlement.spec (files
// run in name order, on one database), and withdraws every promise it makes.
import { expect, test } from "@playwright/test";
import { signedIn } from "../support/session";


const isoDay = (daysAhead: number) => new Date(Date.now() + daysAhead * 86_400_000).toISOString().slice(0, 10);

test("a payer promises to pay an overdue invoice and no reminder goes out for it until the promise is withdrawn", async ({ browser }) => {
  const payer = await signedIn(browser, "nina@northwind.example", "northwind-checks-every-line");
  await payer.getByRole("link", { name: "Promise to pay" }).click();
  await expect(payer).toHaveURL(/\/promise$/);
  await expect(payer.locator(".app")).toHaveAttribute("data-hydrated", "true");

  // The oldest invoice with something due (Northwind's is a few days overdue).
  const first = payer.getByTestId("promisable").locator("tbody tr").first();
  const number = ((await first.locator("label").textContent()) ?? "").trim();
  expect(number).toMatch(/^INV-/);
  await first.getByRole("checkbox").check();
  await payer.getByLabel("I will pay by").fill(isoDay(7));
  await payer.getByLabel("Note for our AR team (optional)").fill("Paying after our quarter closes.");
  await payer.getByRole("button", { name: "Promise to pay" }).click();
  await expect(payer.getByTestId("promise-made")).toBeVisible();
  const promise = payer.getByTestId("promises").locator("tbody tr").first();
  await expect(promise).toContainText("Open");
  await expect(promise).toContainText(number);
  await expect(promise).toContainText("Paying after our quarter closes.");
  // The promised invoice is no longer offered for another promise.
  await expect(payer.getByTestId("promisable")).not.toContainText(number);
  await payer.goto("/");
  await expect(payer.getByTestId("open-promise")).toContainText("You promised to pay $");

  // AR run the reminders: nothing for the promised invoice; the promise was announced to both sides.
  const manager = await signedIn(browser, "manager@ledgerport.example", "manager-sees-everything");
  await manager.goto("/admin/outbox");
  await expect(manager.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await manager.getByRole("button", { name: "Send due reminders now" }).click();
  await expect(manager.getByTestId("reminder-run")).toContainText("reminders queued");
  const outbox = manager.getByTestId("outbox");
  await expect(outbox).toContainText("Promise to pay from Northwind Traders");
  await expect(outbox).toContainText("Your promise to pay");
  await expect(outbox).not.toContainText(`Invoice ${number} is`);

  // AR see the promise on the account.
  await manager.goto("/admin");
  await manager.getByRole("link", { name: "Northwind Traders" }).click();
  await expect(manager.getByTestId("promises")).toContainText(number);
  await expect(manager.getByTestId("promises")).toContainText("nina@northwind.example");

  // Withdrawn, the promise no longer pauses anything: the next run reminds of the invoice.
  await payer.goto("/promise");
  await expect(payer.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await payer.getByTestId("promises").getByRole("button", { name: "Withdraw" }).click();
  await expect(payer.getByTestId("promises").locator("tbody tr").first()).toContainText("Withdrawn");
  await manager.goto("/admin/outbox");
  await expect(manager.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await manager.getByRole("button", { name: "Send due reminders now" }).click();
  await expect(manager.getByTestId("reminder-run")).toContainText("reminders queued");
  await expect(manager.getByTestId("outbox")).toContainText(`Invoice ${number} is`);
});

test("a promise dated past the longest wait comes back with the reason and records nothing", async ({ browser }) => {
  const payer = await signedIn(browser, "nina@northwind.example", "northwind-checks-every-line");
  await payer.goto("/promise");
  await expect(payer.locator(".app")).toHaveAttribute("data-hydrated", "true");
  const rowsBefore = await payer.getByTestId("promises").locator("tbody tr").count();
  await payer.getByTestId("promisable").locator("tbody tr").first().getByRole("checkbox").check();
  // The date field's own limits would stop the browser; the server must refuse it as well.
  await payer.getByLabel("I will pay by").evaluate((input: HTMLInputElement) => input.removeAttribute("max"));
  await payer.getByLabel("I will pay by").fill(isoDay(90));
  await payer.getByRole("button", { name: "Promise to pay" }).click();
  await expect(payer.getByRole("alert")).toContainText("at most 60 days ahead");
  await expect(payer.getByTestId("promises").locator("tbody tr")).toHaveCount(rowsBefore);
});

test("a manager notes a call on the worklist and gives the account to the clerk, who finds it under their own", async ({ browser }) => {
  const manager = await signedIn(browser, "manager@ledgerport.example", "manager-sees-everything");
  await manager.getByRole("link", { name: "Worklist" }).click();
  await expect(manager).toHaveURL(/\/admin\/worklist$/);
  await expect(manager.locator(".app")).toHaveAttribute("data-hydrated", "true");
  const first = manager.getByTestId("worklist").locator("tbody tr").first();
  const account = (await first.getAttribute("data-customer")) ?? "";
  expect(account).not.toBe("");
  const row = manager.locator(`tr[data-customer="${account}"]`);
  await expect(row.getByTestId("next-action")).not.toBeEmpty();

  await row.locator("summary").click();
  await row.getByRole("textbox").fill("Called AP: the payment run is on Friday.");
  await row.getByRole("button", { name: "Add note" }).click();
  await expect(manager).toHaveURL(/noted=/);
  await expect(row).toContainText("Note by manager");
  await row.locator("summary").click();
  await expect(row).toContainText("Called AP: the payment run is on Friday.");

  await row.getByRole("combobox").selectOption({ label: "clerk" });
  await row.getByRole("button", { name: "Assign" }).click();
  await expect(manager).toHaveURL(/assigned=/);
  await expect(row.getByRole("combobox")).toHaveValue(/\d+/);

  const clerk = await signedIn(browser, "clerk@ledgerport.example", "clerk-works-disputes");
  await clerk.goto("/admin/worklist?collector=me");
  await expect(clerk.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await expect(clerk.getByTestId("worklist").locator("tbody tr")).toHaveCount(1);
  await expect(clerk.locator(`tr[data-customer="${account}"]`)).toBeVisible();
});

test("a clerk records a promise a customer gave by phone, and the customer gets it in writing", async ({ browser }) => {
  const clerk = await signedIn(browser, "clerk@ledgerport.example", "clerk-works-disputes");
  await clerk.goto("/admin");
  await clerk.getByRole("link", { name: "Northwind Traders" }).click();
  await expect(clerk.getByTestId("promises")).toBeVisible();
  await clerk.getByText("Record a promise made by phone or letter").click();
  const first = clerk.getByTestId("promisable").locator("tbody tr").first();
  const number = ((await first.locator("label").textContent()) ?? "").trim();
  await first.getByRole("checkbox").check();
  await clerk.getByLabel("They will pay by").fill(isoDay(3));
  await clerk.getByLabel("Amount (USD)").fill("100.00");
  await clerk.getByRole("button", { name: "Record the promise" }).click();
  await expect(clerk).toHaveURL(/promised=\d+/);
  await expect(clerk.getByTestId("promise-recorded")).toBeVisible();
  const row = clerk.getByTestId("promises").locator("tbody tr").first();
  await expect(row).toContainText("Open");
  await expect(row).toContainText("$100.00");
  await expect(row).toContainText(number);
  await expect(row).toContainText("clerk@ledgerport.example");

  // The payer sees it on their own page, and the account's contacts got it in writing.
  const payer = await signedIn(browser, "nina@northwind.example", "northwind-checks-every-line");
  await payer.goto("/");
  await expect(payer.getByTestId("open-promise")).toContainText("$100.00");
  const manager = await signedIn(browser, "manager@ledgerport.example", "manager-sees-everything");
  await manager.goto("/admin/outbox");
  const written = manager.getByTestId("outbox").locator("li").filter({ hasText: "as agreed with clerk@ledgerport.example" });
  await expect(written).toHaveCount(1);
  await expect(written).toContainText("to nina@northwind.example");

  // The payer can withdraw a promise AR recorded for them, as any other.
  await payer.goto("/promise");
  await expect(payer.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await payer.getByTestId("promises").getByRole("button", { name: "Withdraw" }).click();
  await expect(payer.getByTestId("promises").locator("tbody tr").first()).toContainText("Withdrawn");
});
