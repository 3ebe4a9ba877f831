// The bundle (WASM, JS, CSS) is named by a hash of its content and cached for a year, so a
// repeat visit downloads none of it.
import { expect, test, type CDPSession, type Page } from "@playwright/test";
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

/** The WASM files this page loaded, with each one's size before any compression on the wire. */
async function wasmOf(page: Page) {
  return page.evaluate(() =>
    (performance.getEntriesByType("resource") as PerformanceResourceTiming[])
      .filter((entry) => entry.name.endsWith(".wasm"))
      .map((entry) => ({ path: new URL(entry.name).pathname, bytes: entry.decodedBodySize })),
  );
}

test("a customer's pages load one small module and no island's chunk; a staff island loads its own", async ({ page, browser }) => {
  await page.goto("/sign-in");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await page.getByLabel("Email").fill("pat@acme.example");
  await page.getByLabel("Password").fill("acme-pays-on-time");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("signed-in-as")).toHaveText("pat");
  for (const path of ["/invoices", "/pay"]) {
    await page.goto(path);
    await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
    // Pages are server-rendered (Leptos islands): the module holds no page's code, and these
    // pages have no island, so nothing else is fetched.
    const wasm = await wasmOf(page);
    expect(wasm.map((w) => w.path)).toEqual([expect.stringMatching(/^\/pkg\/ledgerport\.[A-Za-z0-9_-]{22}\.wasm$/)]);
    // 229 KB uncompressed (75 KB brotli); with every customer page in it, it was 2.0 MB.
    expect(wasm[0].bytes).toBeLessThan(300_000);
  }

  // A manager's API keys panel is a lazy island: its page fetches the island's own chunk.
  const staffContext = await browser.newContext();
  const staff = await staffContext.newPage();
  await signInAsManager(staff);
  await staff.goto("/admin/api-keys");
  await expect(staff.locator(".app")).toHaveAttribute("data-hydrated", "true");
  expect((await wasmOf(staff)).map((w) => w.path)).toEqual(
    expect.arrayContaining([expect.stringMatching(/^\/pkg\/split_api_keys_panel_loader_/)]),
  );
  await staffContext.close();
});
