import { expect, test } from "@playwright/test";

test("the start page renders on the server, loads its client without a console warning, and checks again by reloading", async ({ page }) => {
  const consoleProblems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") {
      consoleProblems.push(message.text());
    }
  });
  page.on("pageerror", (error) => consoleProblems.push(error.message));

  await page.goto("/");
  await expect(page.locator("h1")).toHaveText("Pay invoices, read statements, settle disputes");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await expect(page.getByTestId("database-ready")).toHaveText("yes");

  // The page is server-rendered (islands mode): "Check again" loads it again.
  const reload = page.waitForResponse((r) => new URL(r.url()).pathname === "/" && r.ok());
  await page.getByRole("link", { name: "Check again" }).click();
  await reload;
  await expect(page.getByTestId("database-ready")).toHaveText("yes");

  expect(consoleProblems).toEqual([]);
});

test("the start page is complete without JavaScript", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/");
  await expect(page.locator("h1")).toHaveText("Pay invoices, read statements, settle disputes");
  await expect(page.getByTestId("database-ready")).toHaveText("yes");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "false");
  await context.close();
});

test("an unknown address answers 404 with a way back", async ({ page }) => {
  const response = await page.goto("/no/such/page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Back to the start page" })).toBeVisible();
});

test("probes report the process and the database", async ({ request }) => {
  const health = await request.get("/healthz");
  expect(health.status()).toBe(200);
  const ready = await request.get("/readyz");
  expect(ready.status()).toBe(200);
  expect(ready.headers()["x-request-id"]).toBeTruthy();
});
