// Line-item disputes from both sides. Uses Northwind Traders (nina@northwind.example), so the
// Acme figures the other specs read are untouched.
import { expect, test } from "@playwright/test";
import { signedIn } from "../support/session";

const dollars = (text: string | null) => Math.round(Number((text ?? "").replace(/[^0-9.-]/g, "")) * 100);

// A 1×1 PNG: the server checks the type by content, so this must be a real PNG header.
const PNG = Buffer.from(
  "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082",
  "hex",
);


test("a customer disputes one line with evidence, AR proposes a partial credit, the customer accepts and pays the rest", async ({ browser }) => {
  const customer = await signedIn(browser, "nina@northwind.example", "northwind-checks-every-line");
  await expect(customer.getByTestId("summary")).toBeVisible();

  // The customer disputes $100.00 of line 1 of their oldest invoice, with a photo.
  await customer.goto("/invoices?filter=open&sort=number&dir=asc");
  await customer.getByTestId("invoices").locator("tbody tr").first().getByRole("link").click();
  const invoiceUrl = customer.url();
  const openBefore = dollars(await customer.getByTestId("open").textContent());
  await customer.getByRole("link", { name: "Dispute lines" }).click();
  await customer.getByLabel("Dispute line 1").check();
  await customer.getByLabel("Reason for line 1").selectOption("quantity");
  await customer.getByLabel("Amount disputed on line 1").fill("100.00");
  await customer.getByLabel("What is wrong?").fill("Only 9 of the 10 racks were delivered.");
  await customer.getByLabel("Evidence (optional)").setInputFiles({ name: "delivery-note.png", mimeType: "image/png", buffer: PNG });
  await customer.getByRole("button", { name: "Send the dispute" }).click();
  await expect(customer).toHaveURL(/\/disputes\/\d+$/);
  const disputeUrl = customer.url();
  const disputeId = disputeUrl.split("/").pop();
  await expect(customer.getByTestId("dispute-status")).toHaveText("Open");
  await expect(customer.getByRole("link", { name: "delivery-note.png" })).toBeVisible();

  // While it is open the $100.00 is held: in dispute, not due.
  await customer.goto("/");
  await expect(customer.getByTestId("in-dispute")).toHaveText("$100.00");
  await customer.goto(invoiceUrl);
  await expect(customer.getByTestId("held")).toHaveText("$100.00");
  await expect(customer.getByTestId("due-now")).toHaveText(/\$/);
  expect(dollars(await customer.getByTestId("due-now").textContent())).toBe(openBefore - 10_000);

  // A clerk finds it in the queue, takes it and proposes a $60.00 credit.
  const clerk = await signedIn(browser, "clerk@ledgerport.example", "clerk-works-disputes");
  await clerk.goto("/admin/disputes");
  await clerk.getByTestId("disputes").getByRole("link", { name: `#${disputeId}` }).click();
  await expect(clerk.getByRole("link", { name: "delivery-note.png" })).toBeVisible();
  await clerk.getByRole("button", { name: "Start the review (assigns it to me)" }).click();
  await expect(clerk.getByTestId("dispute-status")).toHaveText("In review");
  await clerk.getByLabel("Reply or note").fill("Check the driver's scan before crediting.");
  await clerk.getByLabel("Internal note (the customer never sees it)").check();
  await clerk.getByRole("button", { name: "Post" }).click();
  await clerk.getByLabel(/^Line 1:/).fill("60.00");
  await clerk.getByLabel("Note to the customer").fill("One rack credited at the agreed price.");
  await clerk.getByRole("button", { name: "Propose this credit" }).click();
  await expect(clerk.getByTestId("dispute-status")).toHaveText("Resolution proposed");

  // The customer sees the proposal (never the internal note) and accepts it.
  await customer.goto(disputeUrl);
  await expect(customer.getByTestId("proposal")).toContainText("$60.00");
  await expect(customer.getByTestId("thread")).not.toContainText("driver's scan");
  await customer.getByRole("button", { name: "Accept the credit" }).click();
  await expect(customer.getByTestId("dispute-status")).toHaveText("Resolved: credited");
  await expect(customer.getByTestId("credited")).toHaveText("$60.00");

  // The invoice and the statement show the credit; the rest is due again and gets paid.
  await customer.goto(invoiceUrl);
  expect(dollars(await customer.getByTestId("open").textContent())).toBe(openBefore - 6_000);
  await expect(customer.getByTestId("timeline")).toContainText("Credit memo");
  await customer.goto("/statements");
  await customer.getByRole("link", { name: "This month" }).click();
  await expect(customer).toHaveURL(/from=/);
  await expect(customer.getByTestId("statement")).toContainText("Credit memo");
  await customer.goto(invoiceUrl);
  await customer.getByRole("link", { name: "Pay this invoice" }).click();
  await customer.getByRole("button", { name: /^Pay \$[\d,.]+$/ }).click();
  await expect(customer.getByText("Sandbox checkout")).toBeVisible();
  await customer.getByLabel("Card number").fill("4242 4242 4242 4242");
  await customer.getByLabel("Expiry (MM / YY)").fill("12 / 34");
  await customer.getByLabel("CVC").fill("123");
  await customer.getByRole("button", { name: /^Pay \$[\d,.]+$/ }).click();
  await expect(customer.getByTestId("checkout-succeeded")).toBeVisible();
  await customer.goto(invoiceUrl);
  await expect(customer.getByTestId("open")).toHaveText("$0.00");
});

test("a dispute form with nothing ticked comes back with the reason and nothing is held", async ({ browser }) => {
  const customer = await signedIn(browser, "nina@northwind.example", "northwind-checks-every-line");
  await customer.goto("/invoices?filter=open&sort=number&dir=desc");
  await customer.getByTestId("invoices").locator("tbody tr").first().getByRole("link").click();
  await customer.getByRole("link", { name: "Dispute lines" }).click();
  await customer.getByLabel("What is wrong?").fill("Something is off.");
  await customer.getByRole("button", { name: "Send the dispute" }).click();
  await expect(customer.getByTestId("form-error")).toHaveText("Choose at least one invoice line to dispute");
  await customer.goto("/");
  await expect(customer.getByTestId("in-dispute")).toHaveCount(0);
});
