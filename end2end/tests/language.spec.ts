// The portal in the customer's language, in one account of its own (Müller Maschinenbau, C-4501,
// billed in euros): a payer whose browser asks for German is invited, signs up and reads the
// summary, an invoice, its PDF and the pay page in German with German numbers and dates; promises
// to pay an amount typed the German way (a refusal comes back in German); pays;
// the receipt page and the receipt PDF agree to the cent; switching to English on the profile
// changes every page.
import { expect, test } from "@playwright/test";
import { signedIn } from "../support/session";
import { openAccountWithPayer } from "../support/accounts";

const PAYER = "greta@mueller.example";

/** A PDF text string as the portal writes it: WinAnsi (the euro sign is byte 0x80), as a literal
 * `(...)` when it is all ASCII and as upper-case hex `<...>` otherwise (pdf-writer's choice). */
function inPdf(text: string): string {
  const bytes = Buffer.from(text.replaceAll("€", "\x80"), "latin1");
  return bytes.every((b) => b < 0x80) ? `(${text})` : `<${bytes.toString("hex").toUpperCase()}>`;
}

test("a contact whose browser asks for German reads the portal, the PDFs and the pay page in German, and English after switching", async ({ browser }) => {
  test.setTimeout(180_000);
  const staff = await signedIn(browser, "manager@ledgerport.example", "manager-sees-everything");
  const link = await openAccountWithPayer(staff, {
    number: "C-4501",
    name: "Müller Maschinenbau GmbH",
    invoice: "MM-0001",
    line: "Wartung der Fräsmaschine",
    amount: "1234.56",
    payer: PAYER,
    payerName: "Greta",
    currency: "EUR",
  });

  // The invitation page already follows the browser's language.
  const context = await browser.newContext({ baseURL: test.info().project.use.baseURL, locale: "de-DE" });
  const payer = await context.newPage();
  await payer.goto(link);
  await expect(payer.locator("html")).toHaveAttribute("lang", "de");
  await expect(payer.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await payer.getByLabel("Neues Passwort").fill("mueller-zahlt-puenktlich");
  await payer.getByRole("button", { name: "Passwort festlegen und anmelden" }).click();

  // The summary, in German with German amounts; hydration keeps the server's text.
  await expect(payer.getByTestId("balance-due")).toHaveText("1.234,56 €");
  await expect(payer.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await expect(payer.getByTestId("summary")).toContainText("Offener Saldo");
  await expect(payer.getByRole("link", { name: "Rechnungen", exact: true })).toBeVisible();
  await expect(payer.locator("p.hint").first()).toContainText(/Saldo zum \d{1,2}\. [A-ZÄÖÜ][a-zä]+\.? \d{4} aus einer offenen Rechnung\./);

  // The invoice page.
  await payer.getByRole("link", { name: "Rechnungen", exact: true }).click();
  await expect(payer.getByTestId("invoices")).toContainText("1.234,56 €");
  await payer.getByRole("link", { name: "MM-0001" }).click();
  await expect(payer.getByRole("heading", { name: "Rechnung MM-0001" })).toBeVisible();
  await expect(payer.getByTestId("total")).toHaveText("1.234,56 €");
  await expect(payer.getByTestId("lines")).toContainText("Einzelpreis");

  // Its PDF, in German: the contact's language was saved at sign-up.
  const id = payer.url().split("/").pop();
  const invoicePdf = (await (await payer.request.get(`/documents/invoices/${id}.pdf`)).body()).toString("latin1");
  expect(invoicePdf.startsWith("%PDF-")).toBe(true);
  for (const text of ["Rechnung MM-0001", "Rechnungsempfänger", "Einzelpreis", "So bezahlen Sie", "Dieses Dokument prüfen", "1.234,56 €"]) {
    expect(invoicePdf).toContain(inPdf(text));
  }

  // A promise to pay, typed as German writes amounts: too much is refused in German, with the
  // most that can be promised in German figures; a German amount is read as such.
  await payer.goto("/promise");
  await expect(payer.getByRole("heading", { name: "Zahlung zusagen", level: 1 })).toBeVisible();
  await expect(payer.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await payer.getByRole("checkbox", { name: "Zahlung für Rechnung MM-0001 zusagen" }).check();
  await payer.getByLabel("Ich zahle bis zum").fill(new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10));
  await payer.getByLabel("Betrag (EUR)").fill("2.000,00");
  await payer.getByRole("button", { name: "Zahlung zusagen" }).click();
  await expect(payer.getByRole("alert")).toContainText(
    "Sie können höchstens zusagen, was auf den gewählten Rechnungen fällig ist: 1.234,56 €.",
  );
  await payer.getByLabel("Betrag (EUR)").fill("1.000,50");
  await payer.getByRole("button", { name: "Zahlung zusagen" }).click();
  await expect(payer.getByTestId("promise-made")).toHaveText("Ihre Zahlungszusage ist erfasst. Vielen Dank.");
  await expect(payer.getByTestId("promises").locator("tbody tr").first()).toContainText("1.000,50 €");
  await expect(payer.getByTestId("promises").locator("tbody tr").first()).toContainText("Offen");

  // The pay page, and the payment.
  await payer.goto(`/invoices/${id}`);
  await payer.getByRole("link", { name: "Diese Rechnung bezahlen" }).click();
  await expect(payer.getByRole("heading", { name: "Rechnungen bezahlen" })).toBeVisible();
  await expect(payer.getByTestId("pay-total")).toHaveText("1.234,56 €");
  await expect(payer.getByLabel("Betrag für MM-0001")).toHaveValue("1234,56");
  await expect(payer.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await payer.getByRole("button", { name: "1.234,56 € bezahlen" }).click();
  await expect(payer.getByText("Sandbox checkout")).toBeVisible();
  await payer.getByLabel("Card number").fill("4242 4242 4242 4242");
  await payer.getByLabel("Expiry (MM / YY)").fill("12 / 34");
  await payer.getByLabel("CVC").fill("123");
  await payer.getByRole("button", { name: /^Pay €[\d,.]+$/ }).click();
  await expect(payer.getByTestId("checkout-succeeded")).toContainText("Zahlung eingegangen");
  await payer.getByRole("link", { name: "Zahlungsbestätigung ansehen" }).click();

  // The receipt page and the receipt PDF agree to the cent.
  const receipt = payer.getByTestId("receipt");
  await expect(receipt).toContainText("Zahlungsbestätigung");
  await expect(receipt).toContainText("1.234,56 €");
  await expect(receipt).toContainText("Karte");
  const paymentId = payer.url().split("/").pop();
  const receiptPdf = (await (await payer.request.get(`/documents/payments/${paymentId}.pdf`)).body()).toString("latin1");
  expect(receiptPdf).toContain(inPdf("Zahlungsbestätigung"));
  expect(receiptPdf).toContain(inPdf("Rechnung MM-0001"));
  expect(receiptPdf.split(inPdf("1.234,56 €")).length - 1).toBe(3); // amount, paid to the invoice, total
  expect(receiptPdf).toContain(inPdf("Karte"));

  // English from the profile: the choice wins over the browser's language, on every page.
  await payer.goto("/profile");
  await expect(payer.getByRole("heading", { name: "Mein Profil" })).toBeVisible();
  await payer.getByRole("combobox", { name: "Sprache" }).selectOption("en");
  await payer.getByRole("button", { name: "Sprache speichern" }).click();
  await expect(payer.getByText("Language saved.")).toBeVisible();
  await expect(payer.locator("html")).toHaveAttribute("lang", "en");
  await payer.goto("/");
  await expect(payer.getByTestId("summary")).toContainText("Balance due");
  await expect(payer.getByTestId("balance-due")).toHaveText("€0.00");
  await payer.goto(`/invoices/${id}`);
  await expect(payer.getByTestId("total")).toHaveText("€1,234.56");
  const englishPdf = (await (await payer.request.get(`/documents/invoices/${id}.pdf`)).body()).toString("latin1");
  expect(englishPdf).toContain(inPdf("Invoice MM-0001"));
  expect(englishPdf).toContain(inPdf("€1,234.56"));
  await context.close();
});
