//! Who issues a customer's document and whom it is made out to (the top of every invoice,
//! statement and transfer instruction), how to pay, and how to check the document is ours (the
//! foot of invoices and statements).

use ledgerport::company::CompanyProfile;
use ledgerport::customers::billing::BillingDetails;
use ledgerport::db::{Db, DbError};
use ledgerport::locale::Locale;
use ledgerport::tr;
use ledgerport::verification::DocumentCode;

use super::logo::LogoImage;
use super::pdf::{Cell, Document, MARGIN, PAGE_WIDTH, wrap};

/// Where "Bill to" starts, right of the company's block.
const BILL_TO: f32 = 330.0;

pub struct Parties {
    pub company: CompanyProfile,
    pub logo: Option<LogoImage>,
    pub customer: String,
    pub billing: BillingDetails,
}

impl Parties {
    pub async fn of(db: &Db, customer_id: i64) -> Result<Parties, DbError> {
        Ok(Parties {
            company: ledgerport::company::store::company_profile(db).await?,
            logo: company_logo(db).await?,
            customer: ledgerport::customers::store::customer_name(db, customer_id)
                .await?
                .unwrap_or_default(),
            billing: ledgerport::customers::billing::store::billing_details(db, customer_id)
                .await?
                .unwrap_or_default(),
        })
    }

    /// The company's logo (top right), then the company (left) and "Bill to" (right), line by
    /// line, under the document's title.
    pub fn print(&self, doc: &mut Document, locale: Locale) {
        if let Some(logo) = &self.logo {
            doc.logo(logo.clone());
        }
        let company = &self.company;
        let mut left = vec![if company.is_empty() {
            "Ledgerport".to_string()
        } else {
            company.legal_name.clone()
        }];
        left.extend(company.address.iter().cloned());
        left.extend(company.tax_numbers.iter().cloned());
        if !company.billing_contact.is_empty() {
            left.push(tr!(
                locale,
                "letterhead.billing_questions",
                contact = company.billing_contact
            ));
        }
        let billing = &self.billing;
        let mut right = vec![tr!(locale, "letterhead.bill_to"), self.customer.clone()];
        // The customer's own address usually starts with its name: not printed twice.
        right.extend(
            billing
                .address
                .iter()
                .filter(|line| **line != self.customer)
                .cloned(),
        );
        if !billing.country.is_empty() {
            right.push(billing.country.clone());
        }
        if !billing.tax_id.is_empty() {
            right.push(tr!(locale, "letterhead.tax_id", id = billing.tax_id));
        }
        // Each block in its column: long lines wrap instead of running into the other or off the page.
        let column = |lines: Vec<String>, width: f32| -> Vec<String> {
            lines
                .iter()
                .flat_map(|line| wrap(line, width, 9.0, false))
                .collect()
        };
        let left = column(left, BILL_TO - MARGIN - 12.0);
        let right = column(right, PAGE_WIDTH - MARGIN - BILL_TO);
        for i in 0..left.len().max(right.len()) {
            let cells: Vec<Cell> = [(MARGIN, left.get(i)), (BILL_TO, right.get(i))]
                .into_iter()
                .filter_map(|(x, text)| text.map(|text| Cell::Left(x, text.clone())))
                .collect();
            doc.row(9.0, i == 0, &cells);
        }
        doc.gap(8.0);
    }
}

/// The logo as documents print it. Every upload is decoded before it is stored; one that still
/// fails to decode here is left off rather than failing every document.
async fn company_logo(db: &Db) -> Result<Option<LogoImage>, DbError> {
    let Some(logo) = ledgerport::company::store::company_logo(db).await? else {
        return Ok(None);
    };
    match LogoImage::decode(logo.png()) {
        Ok(image) => Ok(Some(image)),
        Err(e) => {
            tracing::warn!("the company logo could not be decoded, so documents leave it off: {e}");
            Ok(None)
        }
    }
}

/// How to pay, and a guard against a forged copy: the account to pay is the one the portal shows.
pub fn how_to_pay(
    doc: &mut Document,
    locale: Locale,
    parties: &Parties,
    portal: &str,
    quote: &str,
) {
    let ask = match parties.company.billing_contact.as_str() {
        "" => tr!(locale, "how_to_pay.us"),
        contact => contact.to_string(),
    };
    doc.gap(12.0);
    doc.line(11.0, true, &tr!(locale, "how_to_pay.title"));
    for text in [
        tr!(locale, "how_to_pay.online", portal = portal),
        tr!(locale, "how_to_pay.transfer", quote = quote),
        tr!(locale, "how_to_pay.only_our_account", ask = ask),
    ] {
        doc.paragraph(9.0, false, &text);
    }
}

/// The document's code and a QR code of the public page that checks it: a forged or altered copy
/// shows there as "not issued by us", or with another number, date or total.
pub fn verification(doc: &mut Document, locale: Locale, code: &DocumentCode, portal: &str) {
    let address = format!("{portal}/verify/{}", code.printed());
    let lines = vec![
        tr!(locale, "verify.title"),
        tr!(locale, "verify.code", code = code.printed()),
        tr!(locale, "verify.address", portal = portal),
        tr!(locale, "verify.what"),
    ];
    doc.gap(10.0);
    match qrcode::QrCode::new(address.as_bytes()) {
        Ok(qr) => {
            let dark: Vec<bool> = qr
                .to_colors()
                .iter()
                .map(|color| *color == qrcode::Color::Dark)
                .collect();
            doc.square_with_text(&dark, qr.width(), 64.0, &lines);
        }
        // Only an address longer than a QR code holds (thousands of characters) gets here.
        Err(_) => {
            for line in &lines {
                doc.line(9.0, false, line);
            }
        }
    }
}
