import { expect, test } from "@playwright/test";

async function signIn(page, email: string, password: string) {
  await page.goto("/sign-in");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

test("a customer contact signs in, sees their profile and signs out", async ({ page }) => {
  await page.goto("/sign-in");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await signIn(page, "pat@acme.example", "acme-pays-on-time");
  await expect(page.getByTestId("signed-in-as")).toHaveText("pat");
  await page.getByTestId("signed-in-as").click();
  await expect(page.getByTestId("role")).toHaveText("payer");
  await expect(page.getByTestId("profile")).toContainText("Acme Fabrication Ltd");
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await page.goto("/profile");
  await expect(page).toHaveURL(/\/sign-in$/);
});

test("a wrong password shows a clear error and no session", async ({ page }) => {
  await page.goto("/sign-in");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await signIn(page, "pat@acme.example", "not-the-password");
  await expect(page.getByRole("alert")).toHaveText("The email or password is wrong");
  await page.goto("/profile");
  await expect(page).toHaveURL(/\/sign-in$/);
});

test("signing in works without JavaScript", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page, "clerk@ledgerport.example", "clerk-works-disputes");
  await page.goto("/profile");
  await expect(page.getByTestId("role")).toHaveText("clerk");
  await context.close();
});
