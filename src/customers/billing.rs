//! The customer's own billing details, as a payer keeps them: the address invoices and statements
//! are made out to, its country, and the tax ID (checked against the country's format).

use serde::{Deserialize, Serialize};

use crate::company::{LINE_CHARS, TEXT_LINES, text_lines};
use crate::locale::{Explain, Locale};

#[cfg(feature = "ssr")]
pub mod store;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillingError {
    Address,
    Country,
    TaxIdWithoutCountry,
    /// An EU VAT number that fits none of its state's shapes, with made-up examples of them.
    EuVatShape {
        country: String,
        examples: Vec<String>,
    },
    GbVatShape,
    UsEinShape,
    SwissUidShape,
    TaxIdShape,
    PurchaseOrder,
}

impl Explain for BillingError {
    fn explain(&self, locale: Locale) -> String {
        let text = match self {
            BillingError::Address => {
                return locale.pick(
                    format!(
                        "an address has at most {TEXT_LINES} lines of {LINE_CHARS} characters, without < or >"
                    ),
                    format!(
                        "eine Anschrift hat höchstens {TEXT_LINES} Zeilen mit je {LINE_CHARS} Zeichen, ohne < oder >"
                    ),
                );
            }
            BillingError::Country => locale.pick(
                "choose the country by its ISO two-letter code (DE, FR, GB, US…)",
                "geben Sie das Land mit seinem zweistelligen ISO-Code an (DE, FR, GB, US…)",
            ),
            BillingError::TaxIdWithoutCountry => locale.pick(
                "a tax ID needs the country it was issued in",
                "zu einer Steuernummer gehört das Land, das sie vergeben hat",
            ),
            BillingError::EuVatShape { country, examples } => {
                let examples = match examples.as_slice() {
                    [first, .., last] if examples.len() > 3 => {
                        format!("{first} {} {last}", locale.pick("to", "bis"))
                    }
                    _ => examples.join(locale.pick(" or ", " oder ")),
                };
                return locale.pick(
                    format!("VAT numbers of {country} look like {examples}"),
                    format!("USt-IdNrn. aus {country} sehen so aus: {examples}"),
                );
            }
            BillingError::GbVatShape => locale.pick(
                "GB VAT numbers look like GB123456789, GB123456789012 or GBGD123",
                "britische USt-IdNrn. sehen so aus: GB123456789, GB123456789012 oder GBGD123",
            ),
            BillingError::UsEinShape => locale.pick(
                "a US EIN has 9 digits, like 12-3456789",
                "eine US-EIN hat 9 Ziffern, etwa 12-3456789",
            ),
            BillingError::SwissUidShape => locale.pick(
                "a Swiss UID is CHE followed by 9 digits",
                "eine Schweizer UID ist CHE, gefolgt von 9 Ziffern",
            ),
            BillingError::TaxIdShape => locale.pick(
                "a tax ID has 4 to 30 letters and digits",
                "eine Steuernummer hat 4 bis 30 Buchstaben und Ziffern",
            ),
            BillingError::PurchaseOrder => {
                return locale.pick(
                    format!(
                        "a purchase order number has at most {PO_CHARS} characters, on one line"
                    ),
                    format!("eine Bestellnummer hat höchstens {PO_CHARS} Zeichen in einer Zeile"),
                );
            }
        };
        text.into()
    }
}

crate::explained_error!(BillingError);

/// The longest purchase order number (as an invoice's own PO).
pub const PO_CHARS: usize = 64;

/// What invoices and statements print under "Bill to".
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BillingDetails {
    /// One line each, blank lines dropped.
    pub address: Vec<String>,
    /// ISO 3166 alpha-2, upper case; empty when not given.
    pub country: String,
    /// As printed (`DE123456789`, `GB123456789`, `12-3456789`); empty when not given.
    pub tax_id: String,
    /// The purchase order the customer's accounts payable needs on every invoice; an invoice
    /// issued without its own PO carries this one. Empty: none.
    pub standing_po: String,
}

impl BillingDetails {
    /// Parses the form as typed: the address (lines), the country code and the tax ID, which is
    /// checked against the country's format and stored in its usual printed form.
    pub fn parse(address: &str, country: &str, tax_id: &str) -> Result<Self, BillingError> {
        let address = text_lines(address).ok_or(BillingError::Address)?;
        let country = country.trim().to_ascii_uppercase();
        if !country.is_empty() && !is_country(&country) {
            return Err(BillingError::Country);
        }
        let tax_id = match tax_id.trim() {
            "" => String::new(),
            _ if country.is_empty() => return Err(BillingError::TaxIdWithoutCountry),
            typed => tax_id_for(&country, typed)?,
        };
        Ok(BillingDetails {
            address,
            country,
            tax_id,
            standing_po: String::new(),
        })
    }

    /// The same details with the purchase order every invoice must quote (blank: none).
    pub fn with_standing_po(self, po: &str) -> Result<Self, BillingError> {
        let po = po.trim();
        if po.chars().count() > PO_CHARS || po.chars().any(char::is_control) {
            return Err(BillingError::PurchaseOrder);
        }
        Ok(BillingDetails {
            standing_po: po.to_string(),
            ..self
        })
    }

    /// The address as one text (stored, and shown in a text area).
    pub fn address_text(&self) -> String {
        self.address.join("\n")
    }
}

/// The EU member states' VAT number formats after the country prefix (Greece's prefix is EL):
/// `9` a digit, `A` a letter, `X` a letter or digit; several shapes where the state has several.
const EU_VAT: &[(&str, &[&str])] = &[
    ("AT", &["U99999999"]),
    ("BE", &["9999999999"]),
    ("BG", &["999999999", "9999999999"]),
    ("CY", &["99999999A"]),
    ("CZ", &["99999999", "999999999", "9999999999"]),
    ("DE", &["999999999"]),
    ("DK", &["99999999"]),
    ("EE", &["999999999"]),
    ("EL", &["999999999"]),
    ("ES", &["X9999999X"]),
    ("FI", &["99999999"]),
    ("FR", &["XX999999999"]),
    ("HR", &["99999999999"]),
    ("HU", &["99999999"]),
    ("IE", &["9999999A", "9999999AA", "9A99999A"]),
    ("IT", &["99999999999"]),
    ("LT", &["999999999", "999999999999"]),
    ("LU", &["99999999"]),
    ("LV", &["99999999999"]),
    ("MT", &["99999999"]),
    ("NL", &["999999999B99"]),
    ("PL", &["9999999999"]),
    ("PT", &["999999999"]),
    (
        "RO",
        &[
            "99",
            "999",
            "9999",
            "99999",
            "999999",
            "9999999",
            "99999999",
            "999999999",
            "9999999999",
        ],
    ),
    ("SE", &["999999999901"]),
    ("SI", &["99999999"]),
    ("SK", &["9999999999"]),
];

/// A made-up number of a shape, for the error that shows it: `X9999999X` → `A1234567B`.
fn example(shape: &str) -> String {
    let mut digits = "1234567890".chars().cycle();
    let mut letters = "ABCDEFGH".chars().cycle();
    shape
        .chars()
        .map(|s| match s {
            '9' => digits.next().unwrap_or('1'),
            'A' | 'X' => letters.next().unwrap_or('A'),
            literal => literal,
        })
        .collect()
}

/// ISO 3166-1 alpha-2: the countries a billing address may be in.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN \
    BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC \
    EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR \
    HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT \
    LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP \
    NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL \
    SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE \
    VG VI VN VU WF WS YE YT ZA ZM ZW";

fn is_country(code: &str) -> bool {
    code.len() == 2 && COUNTRIES.split_whitespace().any(|known| known == code)
}

fn fits(shape: &str, text: &str) -> bool {
    shape.len() == text.len()
        && shape.chars().zip(text.chars()).all(|(s, c)| match s {
            '9' => c.is_ascii_digit(),
            'A' => c.is_ascii_uppercase(),
            'X' => c.is_ascii_uppercase() || c.is_ascii_digit(),
            literal => c == literal,
        })
}

/// A tax ID in its printed form, or why it does not fit the country's format.
fn tax_id_for(country: &str, typed: &str) -> Result<String, BillingError> {
    let compact: String = typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_uppercase();
    let vat_prefix = if country == "GR" { "EL" } else { country };
    if let Some((_, shapes)) = EU_VAT.iter().find(|(prefix, _)| *prefix == vat_prefix) {
        let number = compact.strip_prefix(vat_prefix).unwrap_or(&compact);
        return if shapes.iter().any(|shape| fits(shape, number)) {
            Ok(format!("{vat_prefix}{number}"))
        } else {
            Err(BillingError::EuVatShape {
                country: country.to_string(),
                examples: shapes
                    .iter()
                    .map(|shape| format!("{vat_prefix}{}", example(shape)))
                    .collect(),
            })
        };
    }
    match country {
        // GB VAT: 9 digits, 12 for a group branch, or GD/HA and 3 digits for government bodies.
        "GB" => {
            let number = compact.strip_prefix("GB").unwrap_or(&compact);
            if ["999999999", "999999999999", "GD999", "HA999"]
                .iter()
                .any(|shape| fits(shape, number))
            {
                Ok(format!("GB{number}"))
            } else {
                Err(BillingError::GbVatShape)
            }
        }
        // A US employer identification number: 9 digits, printed NN-NNNNNNN; no prefix is 00.
        "US" => {
            if fits("999999999", &compact) && !compact.starts_with("00") {
                Ok(format!("{}-{}", &compact[..2], &compact[2..]))
            } else {
                Err(BillingError::UsEinShape)
            }
        }
        // The Swiss UID: CHE and 9 digits, printed CHE-123.456.789 (a trailing MWST/TVA/IVA dropped).
        "CH" => {
            let number = compact.strip_prefix("CHE").unwrap_or(&compact);
            let number = ["MWST", "TVA", "IVA"]
                .iter()
                .find_map(|suffix| number.strip_suffix(suffix))
                .unwrap_or(number);
            if fits("999999999", number) {
                Ok(format!(
                    "CHE-{}.{}.{}",
                    &number[..3],
                    &number[3..6],
                    &number[6..]
                ))
            } else {
                Err(BillingError::SwissUidShape)
            }
        }
        _ => {
            let kept = typed.trim();
            if (4..=30).contains(&compact.len())
                && kept.chars().count() <= 40
                && kept
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '.' | '/'))
            {
                Ok(kept.to_string())
            } else {
                Err(BillingError::TaxIdShape)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tax_id(country: &str, typed: &str) -> Result<String, BillingError> {
        BillingDetails::parse("", country, typed).map(|details| details.tax_id)
    }

    #[test]
    fn eu_vat_numbers_are_checked_against_their_member_states_format() {
        assert_eq!(tax_id("de", "de 123 456 789"), Ok("DE123456789".into()));
        assert_eq!(tax_id("DE", "123456789"), Ok("DE123456789".into()));
        assert_eq!(tax_id("FR", "FR 40 303265045"), Ok("FR40303265045".into()));
        assert_eq!(tax_id("NL", "NL123456789B01"), Ok("NL123456789B01".into()));
        assert_eq!(tax_id("GR", "EL123456789"), Ok("EL123456789".into()));
        assert_eq!(tax_id("AT", "ATU12345678"), Ok("ATU12345678".into()));
        let short = tax_id("DE", "DE12345678").unwrap_err();
        assert_eq!(short.to_string(), "VAT numbers of DE look like DE123456789");
        assert_eq!(
            short.explain(Locale::De),
            "USt-IdNrn. aus DE sehen so aus: DE123456789"
        );
        assert_eq!(
            tax_id("ES", "ES123").unwrap_err().to_string(),
            "VAT numbers of ES look like ESA1234567B"
        );
        assert_eq!(
            tax_id("RO", "RO1").unwrap_err().to_string(),
            "VAT numbers of RO look like RO12 to RO1234567890"
        );
        assert!(tax_id("NL", "NL123456789").is_err());
        assert_eq!(tax_id("SE", "SE123456789001"), Ok("SE123456789001".into()));
        assert!(tax_id("SE", "SE123456789002").is_err());
    }

    #[test]
    fn gb_vat_us_ein_and_swiss_uid_have_their_own_shapes() {
        assert_eq!(tax_id("GB", "GB 123 4567 89"), Ok("GB123456789".into()));
        assert_eq!(tax_id("GB", "GD123"), Ok("GBGD123".into()));
        assert!(tax_id("GB", "GB12345678").is_err());
        assert_eq!(tax_id("US", "123456789"), Ok("12-3456789".into()));
        assert_eq!(tax_id("US", "12-3456789"), Ok("12-3456789".into()));
        assert!(tax_id("US", "00-3456789").is_err());
        assert!(tax_id("US", "1234567").is_err());
        assert_eq!(
            tax_id("CH", "CHE-123.456.789 MWST"),
            Ok("CHE-123.456.789".into())
        );
        assert!(tax_id("CH", "CHE-123.456.78").is_err());
    }

    #[test]
    fn other_countries_take_a_plain_identifier_and_a_tax_id_needs_a_country() {
        assert_eq!(tax_id("JP", "T1234567890123"), Ok("T1234567890123".into()));
        assert!(tax_id("JP", "12").is_err());
        assert_eq!(
            BillingDetails::parse("", "", "DE123456789"),
            Err(BillingError::TaxIdWithoutCountry)
        );
        assert_eq!(
            BillingDetails::parse("", "Germany", ""),
            Err(BillingError::Country)
        );
        // Not ISO: the United Kingdom is GB.
        assert_eq!(
            BillingDetails::parse("", "UK", ""),
            Err(BillingError::Country)
        );
        assert!(tax_id("JP", &format!("T{}", " 1".repeat(30))).is_err());
    }

    #[test]
    fn the_address_keeps_its_lines_and_refuses_a_novel() {
        let details = BillingDetails::parse(
            "  Acme Fabrication Ltd\n\n 1 Works Road \nSpringfield",
            "us",
            "",
        )
        .unwrap();
        assert_eq!(
            details.address,
            vec!["Acme Fabrication Ltd", "1 Works Road", "Springfield"]
        );
        assert_eq!(details.country, "US");
        assert_eq!(
            BillingDetails::parse(&"line\n".repeat(7), "", ""),
            Err(BillingError::Address)
        );
        assert_eq!(
            BillingDetails::parse(&"x".repeat(81), "", ""),
            Err(BillingError::Address)
        );
        assert_eq!(
            BillingDetails::parse("</textarea><b>pay here</b>", "", ""),
            Err(BillingError::Address)
        );
    }
}
