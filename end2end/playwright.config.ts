import { defineConfig } from "@playwright/test";

// Debian's Chromium, launched with the flags this closed network needs (toolchain.md);
// `npx playwright install` cannot download browsers here.
export default defineConfig({
  testDir: "./tests",
  // The SMTP server the portal under test sends its mail to (support/mailbox.ts).
  globalSetup: "./support/global-setup.ts",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: "list",
  use: {
    baseURL: process.env.BASE_URL ?? "http://127.0.0.1:3000",
    // Browsers ask for English unless a test says otherwise (language.spec.ts asks for German).
    locale: "en-US",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
      ],
    },
    trace: "off",
  },
});
