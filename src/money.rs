//! Exact money: a `Decimal` amount tied to a `Currency` that knows its minor-unit exponent.
//!
//! Storage uses integer minor units (`to_minor`/`from_minor`); the domain uses `Decimal`.
//! Nothing here touches floating point.

use std::fmt;
use std::str::FromStr;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::locale::{Explain, Locale};

/// The largest amount accepted from input, in minor units (a trillion dollars).
pub const MAXIMUM_INPUT_MINOR: i64 = 100_000_000_000_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoneyError {
    UnknownCurrency(String),
    NotANumber(String),
    TooManyDecimals {
        amount: Decimal,
        currency: Currency,
        exponent: u32,
    },
    CurrencyMismatch(Currency, Currency),
    Overflow,
}

impl Explain for MoneyError {
    fn explain(&self, locale: Locale) -> String {
        match self {
            MoneyError::UnknownCurrency(code) => locale.pick(
                format!(
                    "unknown currency code {code:?} (use a supported ISO 4217 code such as USD)"
                ),
                format!(
                    "unbekannter Währungscode {code:?} (nutzen Sie einen ISO-4217-Code wie EUR)"
                ),
            ),
            MoneyError::NotANumber(typed) => locale.pick(
                format!("{typed:?} is not a number"),
                format!("{typed:?} ist keine Zahl"),
            ),
            MoneyError::TooManyDecimals {
                amount,
                currency,
                exponent,
            } => locale.pick(
                format!("{amount} has more decimals than {currency} allows ({exponent})"),
                format!(
                    "{} hat mehr Nachkommastellen, als {currency} erlaubt ({exponent})",
                    amount.to_string().replace('.', ",")
                ),
            ),
            MoneyError::CurrencyMismatch(one, other) => locale.pick(
                format!("cannot combine {one} and {other} amounts"),
                format!("Beträge in {one} und {other} lassen sich nicht verrechnen"),
            ),
            MoneyError::Overflow => locale
                .pick("amount is too large", "der Betrag ist zu groß")
                .into(),
        }
    }
}

crate::explained_error!(MoneyError);

/// A supported ISO 4217 currency. The list is closed on purpose: every entry has a known
/// minor-unit exponent, so an amount can never be stored with the wrong scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Currency {
    Usd,
    Eur,
    Gbp,
    Cad,
    Aud,
    Chf,
    Jpy,
    Krw,
    Kwd,
    Bhd,
}

impl Currency {
    pub const ALL: [Currency; 10] = [
        Currency::Usd,
        Currency::Eur,
        Currency::Gbp,
        Currency::Cad,
        Currency::Aud,
        Currency::Chf,
        Currency::Jpy,
        Currency::Krw,
        Currency::Kwd,
        Currency::Bhd,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Currency::Usd => "USD",
            Currency::Eur => "EUR",
            Currency::Gbp => "GBP",
            Currency::Cad => "CAD",
            Currency::Aud => "AUD",
            Currency::Chf => "CHF",
            Currency::Jpy => "JPY",
            Currency::Krw => "KRW",
            Currency::Kwd => "KWD",
            Currency::Bhd => "BHD",
        }
    }

    /// Digits after the decimal point in the currency's minor unit (USD 2, JPY 0, KWD 3).
    pub fn exponent(self) -> u32 {
        match self {
            Currency::Jpy | Currency::Krw => 0,
            Currency::Kwd | Currency::Bhd => 3,
            _ => 2,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Currency::Usd | Currency::Cad | Currency::Aud => "$",
            Currency::Eur => "€",
            Currency::Gbp => "£",
            Currency::Jpy => "¥",
            Currency::Krw => "₩",
            Currency::Chf | Currency::Kwd | Currency::Bhd => "",
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let code = s.trim().to_ascii_uppercase();
        Currency::ALL
            .into_iter()
            .find(|c| c.code() == code)
            .ok_or_else(|| MoneyError::UnknownCurrency(s.to_string()))
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.code().to_string()
    }
}

/// An exact amount in one currency. Constructors refuse amounts finer than the minor unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

impl Money {
    pub fn new(amount: Decimal, currency: Currency) -> Result<Self, MoneyError> {
        let normalized = amount.normalize();
        if normalized.scale() > currency.exponent() {
            return Err(MoneyError::TooManyDecimals {
                amount,
                currency,
                exponent: currency.exponent(),
            });
        }
        Ok(Self {
            amount: normalized,
            currency,
        })
    }

    pub fn zero(currency: Currency) -> Self {
        Self {
            amount: Decimal::ZERO,
            currency,
        }
    }

    /// An amount as a person typed it in `locale` (`1.234,50` in German; see
    /// [`Locale::read_decimal`]); what only a guess could read is not a number.
    pub fn parse_typed(
        input: &str,
        locale: Locale,
        currency: Currency,
    ) -> Result<Self, MoneyError> {
        let plain = locale
            .read_decimal(input)
            .ok_or_else(|| MoneyError::NotANumber(input.trim().to_string()))?;
        Self::parse(&plain, currency)
    }

    /// Parses user input such as `"1234.50"` or `"1,234.50"`.
    pub fn parse(input: &str, currency: Currency) -> Result<Self, MoneyError> {
        let cleaned: String = input
            .trim()
            .chars()
            .filter(|c| *c != ',' && *c != '_')
            .collect();
        let amount = Decimal::from_str_exact(&cleaned)
            .map_err(|_| MoneyError::NotANumber(input.to_string()))?;
        let money = Self::new(amount, currency)?;
        // Typed amounts stay far inside i64 minor units, so sums of them cannot overflow.
        // checked: a 29-digit amount would overflow the multiplication itself.
        let minor = money
            .amount
            .abs()
            .checked_mul(Decimal::from(10i64.pow(currency.exponent())))
            .ok_or(MoneyError::Overflow)?;
        if minor > Decimal::from(MAXIMUM_INPUT_MINOR) {
            return Err(MoneyError::Overflow);
        }
        Ok(money)
    }

    pub fn from_minor(minor: i64, currency: Currency) -> Self {
        Self {
            amount: Decimal::new(minor, currency.exponent()).normalize(),
            currency,
        }
    }

    /// A plain decimal with the currency's full scale, for CSV files, form fields and APIs:
    /// `6592.50`, `-12.00`, `500` (JPY), `1.250` (KWD). No grouping, no symbol.
    pub fn decimal_text(self) -> String {
        format!("{:.*}", self.currency.exponent() as usize, self.amount)
    }

    /// Integer minor units for storage and for Stripe.
    pub fn to_minor(self) -> i64 {
        let scaled = self.amount * Decimal::from(10i64.pow(self.currency.exponent()));
        // `new` guarantees the scale fits, so this is an integer; overflow is not reachable for
        // amounts built from i64 minor units.
        scaled.trunc().to_i64().unwrap_or(i64::MAX)
    }

    /// Rounds a computed amount (tax, discount) to the minor unit, half away from zero, the
    /// convention used on invoices.
    pub fn round_half_up(amount: Decimal, currency: Currency) -> Self {
        Self {
            amount: amount
                .round_dp_with_strategy(currency.exponent(), RoundingStrategy::MidpointAwayFromZero)
                .normalize(),
            currency,
        }
    }

    pub fn amount(self) -> Decimal {
        self.amount
    }

    pub fn currency(self) -> Currency {
        self.currency
    }

    pub fn is_zero(self) -> bool {
        self.amount.is_zero()
    }

    pub fn is_negative(self) -> bool {
        self.amount.is_sign_negative() && !self.amount.is_zero()
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_add(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money {
            amount,
            currency: self.currency,
        })
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.checked_add(-other)
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency, other.currency))
        }
    }
}

impl std::ops::Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money {
            amount: -self.amount,
            currency: self.currency,
        }
    }
}

impl Locale {
    /// An amount in minor units as this language writes it, with the currency's full scale:
    /// `$1,234.50`, `KWD 1.250`; `1.234,50 $`, `1,250 KWD`.
    pub fn money(self, minor: i64, currency: Currency) -> String {
        let number = self.number(minor, currency.exponent());
        let symbol = currency.symbol();
        match (self, symbol.is_empty()) {
            (Locale::En, false) => match number.strip_prefix('-') {
                Some(unsigned) => format!("-{symbol}{unsigned}"),
                None => format!("{symbol}{number}"),
            },
            (Locale::En, true) => match number.strip_prefix('-') {
                Some(unsigned) => format!("-{} {unsigned}", currency.code()),
                None => format!("{} {number}", currency.code()),
            },
            (Locale::De, false) => format!("{number} {symbol}"),
            (Locale::De, true) => format!("{number} {}", currency.code()),
        }
    }
}

impl fmt::Display for Money {
    /// `$1,234.50`, `¥500`, `KWD 1.250`: as English writes it ([`Locale::money`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&Locale::En.money(self.to_minor(), self.currency))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn decimal_text_keeps_the_currencys_full_scale() {
        assert_eq!(
            Money::from_minor(659_250, Currency::Usd).decimal_text(),
            "6592.50"
        );
        assert_eq!(
            Money::from_minor(-1_200, Currency::Eur).decimal_text(),
            "-12.00"
        );
        assert_eq!(Money::from_minor(500, Currency::Jpy).decimal_text(), "500");
        assert_eq!(
            Money::from_minor(1_250, Currency::Kwd).decimal_text(),
            "1.250"
        );
    }

    #[test]
    fn minor_units_follow_the_currency_exponent() {
        assert_eq!(
            Money::parse("12.34", Currency::Usd).unwrap().to_minor(),
            1234
        );
        assert_eq!(Money::parse("500", Currency::Jpy).unwrap().to_minor(), 500);
        assert_eq!(
            Money::parse("1.250", Currency::Kwd).unwrap().to_minor(),
            1250
        );
        assert_eq!(Money::from_minor(1250, Currency::Kwd).amount(), dec!(1.25));
    }

    #[test]
    fn amounts_finer_than_the_minor_unit_are_refused() {
        assert!(matches!(
            Money::parse("1.005", Currency::Usd),
            Err(MoneyError::TooManyDecimals { .. })
        ));
        assert!(Money::parse("1.5", Currency::Jpy).is_err());
        // Trailing zeros are not extra precision.
        assert_eq!(
            Money::parse("1.500", Currency::Usd).unwrap().to_minor(),
            150
        );
    }

    #[test]
    fn amounts_too_large_for_the_books_are_refused_without_overflowing() {
        for typed in ["100000000000000000", "9999999999999999999999999999"] {
            assert!(
                matches!(
                    Money::parse(typed, Currency::Usd),
                    Err(MoneyError::Overflow)
                ),
                "{typed}"
            );
        }
    }

    #[test]
    fn unknown_currencies_and_garbage_are_refused() {
        assert!(matches!(
            "XYZ".parse::<Currency>(),
            Err(MoneyError::UnknownCurrency(_))
        ));
        assert!(matches!(
            Money::parse("12abc", Currency::Usd),
            Err(MoneyError::NotANumber(_))
        ));
    }

    #[test]
    fn adding_different_currencies_is_an_error() {
        let usd = Money::from_minor(100, Currency::Usd);
        let eur = Money::from_minor(100, Currency::Eur);
        assert_eq!(
            usd.checked_add(eur),
            Err(MoneyError::CurrencyMismatch(Currency::Usd, Currency::Eur))
        );
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(
            Money::round_half_up(dec!(0.125), Currency::Usd).to_minor(),
            13
        );
        assert_eq!(
            Money::round_half_up(dec!(-0.125), Currency::Usd).to_minor(),
            -13
        );
    }

    #[test]
    fn display_groups_thousands_and_keeps_the_minor_scale() {
        assert_eq!(
            Money::from_minor(123_456_789, Currency::Usd).to_string(),
            "$1,234,567.89"
        );
        assert_eq!(Money::from_minor(500, Currency::Jpy).to_string(), "¥500");
        assert_eq!(
            Money::from_minor(-1250, Currency::Kwd).to_string(),
            "-KWD 1.250"
        );
        assert_eq!(Money::from_minor(5, Currency::Eur).to_string(), "€0.05");
    }
}
