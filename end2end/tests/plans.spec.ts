// Payment plans, in one account of its own (Plan Works, C-4201, due on receipt): staff bill it,
// invite a payer and offer three monthly instalments; the payer accepts in the portal, and the
// summary shows the next instalment as what is due, with a link that pays exactly it.
import { expect, test } from "@playwright/test";
import { signedIn } from "../support/session";
import { latestMessageTo } from "../support/mailbox";
import { acceptInvitation, openAccountWithPayer } from "../support/accounts";

const PAYER = "pia@plans.example";

const isoDay = (daysAhead: number) => new Date(Date.now() + daysAhead * 86_400_000).toISOString().slice(0, 10);

test("a payer accepts a plan offered by staff and the summary shows the next instalment as due", async ({ browser }) => {
  test.setTimeout(120_000);
  const staff = await signedIn(browser, "clerk@ledgerport.example", "clerk-works-disputes");
  const link = await openAccountWithPayer(staff, {
    number: "C-4201",
    name: "Plan Works",
    invoice: "PLN-0001",
    line: "Harvester overhaul",
    amount: "900.00",
    payer: PAYER,
    payerName: "Pia",
  });

  // Staff offer three monthly instalments of 300.00, the first in ten days.
  const firstDay = isoDay(10);
  await staff.getByText("Offer a payment plan").click();
  await staff.getByLabel("Plan invoice PLN-0001").check();
  await staff.getByLabel("Instalments (2 to").fill("3");
  await staff.getByLabel("First instalment on").fill(firstDay);
  await staff.getByLabel("Then", { exact: true }).selectOption("monthly");
  await staff.getByRole("button", { name: "Offer the plan" }).click();
  await expect(staff.getByTestId("plan-changed")).toBeVisible();
  await expect(staff.getByTestId("staff-plan")).toContainText("Offered");
  await expect
    .poll(async () => (await latestMessageTo(PAYER)).subject, { timeout: 20_000 })
    .toBe("A payment plan is offered to you");

  // The payer signs up; until they accept, the whole invoice is due.
  const payer = await acceptInvitation(browser, link, "plan-works-pays-in-parts");
  await expect(payer.getByTestId("balance-due")).toHaveText("$900.00");
  await expect(payer.getByRole("link", { name: "Pay everything due" })).toBeVisible();
  await payer.getByRole("link", { name: "See the plan and accept or decline it" }).click();
  await expect(payer).toHaveURL(/\/plan$/);
  await expect(payer.locator(".app")).toHaveAttribute("data-hydrated", "true");
  const plan = payer.getByTestId("plan");
  await expect(plan).toContainText("$900.00 in 3 instalments");
  await expect(plan.getByTestId("instalments").locator("tbody tr")).toHaveCount(3);
  await payer.getByRole("button", { name: "Accept the plan" }).click();
  await expect(payer.getByTestId("plan-accepted")).toBeVisible();
  await expect(plan).toContainText("Active");
  await expect(plan).toContainText(`agreed by ${PAYER}`);
  await expect(plan.getByTestId("instalments").locator("tbody tr").first()).toContainText("Upcoming");

  // The summary: nothing is due or overdue before the first instalment; it is the next thing due.
  await payer.goto("/");
  await expect(payer.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await expect(payer.getByTestId("balance-due")).toHaveText("$900.00");
  await expect(payer.getByTestId("overdue")).toHaveText("$0.00");
  await expect(payer.getByTestId("plan-next")).toContainText("the next instalment, $300.00, is due on");
  await expect(payer.getByTestId("summary")).toContainText("$300.00 on");
  await expect(payer.getByRole("link", { name: "Pay everything due" })).toHaveCount(0);
  await payer.getByRole("link", { name: "Pay the next instalment" }).click();
  await expect(payer).toHaveURL(/\/pay\?lang=en&invoice=\d+&amount=300\.00$/);
  await expect(payer.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await expect(payer.getByTestId("pay-total")).toContainText("$300.00");

  // Both sides have it in writing; staff see who agreed, and from where.
  await expect
    .poll(async () => (await latestMessageTo(PAYER)).subject, { timeout: 20_000 })
    .toBe("Your payment plan for $900.00 is in place");
  await staff.reload();
  await expect(staff.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await expect(staff.getByTestId("staff-plan")).toContainText("Active");
  await expect(staff.getByTestId("staff-plan")).toContainText(`agreed by ${PAYER}`);
});

test("a payer asks for a plan with their own days and amounts, and it runs once staff approve it", async ({ browser }) => {
  test.setTimeout(120_000);
  const asker = "piet@plans.example";
  const staff = await signedIn(browser, "clerk@ledgerport.example", "clerk-works-disputes");
  const link = await openAccountWithPayer(staff, {
    number: "C-4202",
    name: "Plan Asks",
    invoice: "PLN-0101",
    line: "Seed drill",
    amount: "250.00",
    payer: asker,
    payerName: "Piet",
  });
  const payer = await acceptInvitation(browser, link, "plan-asks-for-time");
  await payer.getByRole("link", { name: "Ask for a payment plan" }).click();
  await expect(payer).toHaveURL(/\/plan$/);
  await expect(payer.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await payer.getByLabel("Plan invoice PLN-0101").check();
  // Amounts that do not add up come back with the reason, and nothing is asked.
  await payer.getByLabel("Or your own instalments").fill(`${isoDay(5)} 100.00\n${isoDay(35)} 100.00`);
  await payer.getByRole("button", { name: "Ask for this plan" }).click();
  await expect(payer.getByRole("alert")).toContainText("The instalments add up to $200.00; what is due on the chosen invoices is $250.00.");
  await payer.getByLabel("Or your own instalments").fill(`${isoDay(5)} 100.00\n${isoDay(35)} 150.00`);
  await payer.getByRole("button", { name: "Ask for this plan" }).click();
  await expect(payer.getByTestId("plan-requested")).toBeVisible();
  await expect(payer.getByTestId("plan")).toContainText("Requested");

  await staff.reload();
  await expect(staff.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await expect(staff.getByTestId("staff-plan")).toContainText(`agreed by ${asker}`);
  await staff.getByRole("button", { name: "Approve the request" }).click();
  await expect(staff.getByTestId("plan-changed")).toBeVisible();
  await expect(staff.getByTestId("staff-plan")).toContainText("Active");

  await payer.goto("/");
  await expect(payer.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await expect(payer.getByTestId("plan-next")).toContainText("the next instalment, $100.00, is due on");
  await expect
    .poll(async () => (await latestMessageTo(asker)).subject, { timeout: 20_000 })
    .toBe("Your payment plan for $250.00 is in place");
});
