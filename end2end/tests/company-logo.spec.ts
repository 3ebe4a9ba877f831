// The company's logo: a manager uploads a PNG on the company profile page (a plain file form, no
// JavaScript needed), sees it there, a customer's invoice PDF draws it, and removing it takes it
// off again. A file that is not a PNG comes back with the reason.
import { expect, test } from "@playwright/test";
import { signedIn } from "../support/session";

/** A 1 by 1 pixel PNG with transparency. */
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  "base64",
);

test("a manager's logo shows on the profile page and prints on a customer's invoice until removed", async ({ browser }) => {
  const manager = await signedIn(browser, "manager@ledgerport.example", "manager-sees-everything");
  await manager.goto("/admin/company");
  const logo = manager.getByTestId("company-logo");
  await expect(logo).toContainText("No logo yet");

  await logo.getByLabel("PNG file").setInputFiles({ name: "logo.gif", mimeType: "image/gif", buffer: Buffer.from("GIF89a") });
  await logo.getByRole("button", { name: "Upload logo" }).click();
  await expect(manager.getByTestId("company-logo").getByRole("alert")).toContainText("A logo is a PNG file");

  await manager.getByTestId("company-logo").getByLabel("PNG file").setInputFiles({ name: "logo.png", mimeType: "image/png", buffer: PNG });
  await manager.getByTestId("company-logo").getByRole("button", { name: "Upload logo" }).click();
  await expect(manager.getByText("Logo saved. New documents print it.")).toBeVisible();
  await expect(manager.getByRole("img", { name: "The logo documents print now" })).toBeVisible();
  await expect(manager.getByTestId("company-logo")).toContainText("1 × 1 pixels.");

  const payer = await signedIn(browser, "pat@acme.example", "acme-pays-on-time");
  await payer.goto("/invoices");
  await payer.getByTestId("invoices").getByRole("link").first().click();
  const id = payer.url().split("/").pop();
  const withLogo = (await (await payer.request.get(`/documents/invoices/${id}.pdf`)).body()).toString("latin1");
  expect(withLogo).toContain("/Logo Do");

  await manager.getByRole("button", { name: "Remove the logo" }).click();
  await expect(manager.getByText("Logo removed. New documents print none.")).toBeVisible();
  const without = (await (await payer.request.get(`/documents/invoices/${id}.pdf`)).body()).toString("latin1");
  expect(without).not.toContain("/Logo Do");
});
