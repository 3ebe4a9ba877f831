// First visits, page by page, as a customer and as staff: the bytes of WASM, JS and CSS each page
// transfers (as served: brotli when the build precompressed it), and the time from navigation until
// the page is hydrated with the CPU slowed 4x on DevTools' "Slow 3G" network. Each visit starts with
// an empty cache. Run by scripts/bench.sh against a running portal with the demo data:
//   node end2end/bench/first-visit.mjs http://127.0.0.1:3000
import { chromium } from "@playwright/test";

const base = process.argv[2] ?? "http://127.0.0.1:3000";
const CUSTOMER = ["pat@acme.example", "acme-pays-on-time"];
// A clerk: the staff pages are the same chunks, and a clerk signs in without the code step.
const CLERK = ["clerk@ledgerport.example", "clerk-works-disputes"];
// DevTools' "Slow 3G" preset: 400 ms × 5 latency, 500 kbit/s × 0.8 down, 500 kbit/s × 0.8 up.
const SLOW_3G = { offline: false, latency: 2000, downloadThroughput: 50_000, uploadThroughput: 50_000 };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic"],
});

async function signedInContext(who) {
  const context = await browser.newContext({ baseURL: base });
  if (who) {
    const [email, password] = who;
    const answer = await context.request.post("/api/sign-in", {
      form: { email, password },
      headers: { origin: base },
      maxRedirects: 0,
    });
    if (answer.status() >= 400) throw new Error(`sign-in as ${email} answered ${answer.status()}`);
  }
  return context;
}

/** One first visit: the bundle files it fetched (bytes on the wire), the time until its HTML is
 * in (usable) and until its islands are alive (hydrated). */
async function visit(who, path, throttled) {
  const context = await signedInContext(who);
  const page = await context.newPage();
  const client = await context.newCDPSession(page);
  await client.send("Network.enable");
  await client.send("Network.setCacheDisabled", { cacheDisabled: true });
  if (throttled) {
    await client.send("Network.emulateNetworkConditions", SLOW_3G);
    await client.send("Emulation.setCPUThrottlingRate", { rate: 4 });
  }
  const urls = new Map();
  const files = [];
  client.on("Network.requestWillBeSent", (e) => urls.set(e.requestId, e.request.url));
  client.on("Network.loadingFinished", (e) => {
    const url = urls.get(e.requestId);
    const path = url ? new URL(url).pathname : "";
    // The bundle, and the plain scripts beside it (forms.js; passkeys.js where passkeys work).
    if (path.startsWith("/pkg/") || /^\/[a-z]+\.js$/.test(path)) {
      files.push({ name: path.replace(/^\/(pkg\/)?/, ""), bytes: e.encodedDataLength });
    }
  });
  const started = Date.now();
  // The page is usable once its HTML is in: links and forms are plain HTML (islands mode).
  await page.goto(path, { timeout: 180_000, waitUntil: "domcontentloaded" });
  const usableAfter = Date.now() - started;
  await page.locator(".app[data-hydrated=true]").waitFor({ timeout: 180_000 });
  const hydratedAfter = Date.now() - started;
  await context.close();
  return { files, usableAfter, hydratedAfter };
}

async function firstInvoice() {
  const context = await signedInContext(CUSTOMER);
  const html = await (await context.request.get("/invoices")).text();
  await context.close();
  const id = html.match(/href="\/invoices\/(\d+)"/)?.[1];
  if (!id) throw new Error("the demo customer has no invoice to open");
  return id;
}

const invoice = await firstInvoice();
const pages = [
  ["customer", CUSTOMER, "/"],
  ["customer", CUSTOMER, "/invoices"],
  ["customer", CUSTOMER, `/invoices/${invoice}`],
  ["customer", CUSTOMER, "/pay"],
  ["customer", CUSTOMER, `/invoices/${invoice}/dispute`],
  ["customer", CUSTOMER, "/statements"],
  // A page with an island (the recovery codes shown once): it fetches that island's chunk.
  ["customer", CUSTOMER, "/profile/two-factor"],
  ["signed out", null, "/sign-in"],
  ["staff", CLERK, "/admin"],
  ["staff", CLERK, "/admin/disputes"],
  ["staff", CLERK, "/admin/journal"],
  ["staff", CLERK, "/admin/reports/aging"],
  ["staff", CLERK, "/admin/bank"],
];

const kb = (bytes) => (bytes / 1024).toFixed(1);
console.log(`${"who".padEnd(11)} ${"page".padEnd(26)} ${"wasm KB".padStart(8)} ${"js+css KB".padStart(9)} ${"total KB".padStart(9)}  files`);
for (const [who, credentials, path] of pages) {
  const { files } = await visit(credentials, path, false);
  const wasm = files.filter((f) => f.name.endsWith(".wasm")).reduce((sum, f) => sum + f.bytes, 0);
  const rest = files.filter((f) => !f.name.endsWith(".wasm")).reduce((sum, f) => sum + f.bytes, 0);
  const names = files.map((f) => `${f.name.replace(/\.[A-Za-z0-9_-]{22}\./, ".")} ${kb(f.bytes)}`).join(", ");
  console.log(`${who.padEnd(11)} ${path.padEnd(26)} ${kb(wasm).padStart(8)} ${kb(rest).padStart(9)} ${kb(wasm + rest).padStart(9)}  ${names}`);
}

console.log("\ntime to usable (HTML in) and to hydrated (islands alive), CPU 4x slower, Slow 3G, empty cache:");
const seconds = (ms) => `${(ms / 1000).toFixed(1).padStart(6)} s`;
for (const [who, credentials, path] of [pages[0], pages[3], pages[6], pages[8]]) {
  const { usableAfter, hydratedAfter } = await visit(credentials, path, true);
  console.log(`${who.padEnd(11)} ${path.padEnd(26)} ${seconds(usableAfter)} ${seconds(hydratedAfter)}`);
}
await browser.close();
