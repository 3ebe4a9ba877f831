// The bundle (WASM, JS, CSS) is named by a hash of its content and cached for a year, so a
// repeat visit downloads none of it.
import { expect, test, type CDPSession } from "@playwright/test";
import { signInAsManager } from "../support/session";

/** Every `/pkg/` request the page makes from now on, and whether the browser's cache served it. */
async function watchBundle(client: CDPSession) {
  const seen = new Map<string, { url: string; cached: boolean }>();
  await client.send("Network.enable");
  client.on("Network.requestWillBeSent", (event) => {
    if (new URL(event.request.url).pathname.startsWith("/pkg/")) {
      seen.set(event.requestId, { url: event.request.url, cached: false });
    }
  });
  client.on("Network.requestServedFromCache", (event) => {
    const request = seen.get(event.requestId);
    if (request) request.cached = true;
  });
  client.on("Network.responseReceived", (event) => {
    const request = seen.get(event.requestId);
    if (request && (event.response.fromDiskCache || event.response.fromPrefetchCache)) {
      request.cached = true;
    }
  });
  return seen;
}

test("a second visit takes the hashed WASM, JS and CSS from the browser's cache", async ({ page, context }) => {
  const first = await page.goto("/sign-in");
  expect(first?.status()).toBe(200);
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  // The page names the bundle by content hash, and the server lets it be kept for a year.
  const wasm = await page.evaluate(() =>
    performance
      .getEntriesByType("resource")
      .map((entry) => entry.name)
      .find((name) => name.endsWith(".wasm")),
  );
  expect(wasm).toMatch(/\/pkg\/ledgerport\.[A-Za-z0-9_-]{22}\.wasm$/);
  const headers = await (await page.request.get(wasm!)).headers();
  expect(headers["cache-control"]).toBe("public, max-age=31536000, immutable");

  const client = await context.newCDPSession(page);
  const bundle = await watchBundle(client);
  await page.goto("/forgot-password");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  const requested = [...bundle.values()];
  expect(requested.map((r) => new URL(r.url).pathname)).toEqual(
    expect.arrayContaining([expect.stringMatching(/\.wasm$/), expect.stringMatching(/\.js$/)]),
  );
  expect(requested.filter((r) => !r.cached).map((r) => r.url)).toEqual([]);
});

test("a customer's pages fetch no staff page's code, and a staff page fetches its own chunk", async ({ page, browser }) => {
  const fetched: string[] = [];
  page.on("request", (request) => fetched.push(new URL(request.url()).pathname));
  await page.goto("/sign-in");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await page.getByLabel("Email").fill("pat@acme.example");
  await page.getByLabel("Password").fill("acme-pays-on-time");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("signed-in-as")).toHaveText("pat");
  await page.goto("/invoices");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await page.goto("/pay");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  const wasm = fetched.filter((path) => path.endsWith(".wasm"));
  expect(wasm.length).toBeGreaterThan(0);
  expect(wasm.filter((path) => /\/(split_|chunk_)/.test(path))).toEqual([]);

  const staffContext = await browser.newContext();
  const staff = await staffContext.newPage();
  await signInAsManager(staff);
  const journalChunk = staff.waitForResponse((response) => /\/pkg\/split___journal_route_view/.test(response.url()));
  await staff.goto("/admin/journal");
  expect((await journalChunk).status()).toBe(200);
  await staffContext.close();
});
