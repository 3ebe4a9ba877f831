//! Paying online: the customer picks invoices and amounts, the server recomputes everything
//! (never trusting the browser), records a checkout, and the provider's signed event settles it
//! into the ledger once.

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use crate::locale::{Explain, Locale};
use crate::money::{Currency, Money};
use crate::payments::PaymentMethod;

#[cfg(feature = "ssr")]
pub mod store;

/// The smallest charge (Stripe's minimum is about $0.50), in minor units.
pub const MINIMUM_CHARGE_MINOR: i64 = 50;
/// Stripe takes at most 8 digits of minor units.
pub const MAXIMUM_CHARGE_MINOR: i64 = 99_999_999;
/// Invoices in one payment.
pub const MAXIMUM_INVOICES: usize = 100;
/// How long the provider's hosted page stays open (Stripe's shortest session, 30 minutes): an
/// abandoned checkout stops holding its invoices back after this.
pub const CHECKOUT_LIFETIME_MINUTES: i64 = 30;

/// The bank debit the provider offers in a currency: ACH Direct Debit for US dollars, SEPA
/// Direct Debit for euros; none elsewhere.
pub fn bank_debit_for(currency: Currency) -> Option<PaymentMethod> {
    match currency {
        Currency::Usd => Some(PaymentMethod::Ach),
        Currency::Eur => Some(PaymentMethod::SepaDebit),
        _ => None,
    }
}

/// The methods offered for a payment of `amount_minor`: card up to the card limit (none: no
/// limit), and the currency's bank debit whatever the amount.
pub fn methods_for(
    currency: Currency,
    amount_minor: i64,
    card_limit_minor: Option<i64>,
) -> Vec<PaymentMethod> {
    let card = card_limit_minor.is_none_or(|limit| amount_minor <= limit);
    card.then_some(PaymentMethod::Card)
        .into_iter()
        .chain(bank_debit_for(currency))
        .collect()
}

/// When a bank debit submitted on `submitted` is expected to settle: business days as Stripe
/// gives them (ACH 4, SEPA 6; weekends skipped, bank holidays not known here).
pub fn expected_settlement(method: PaymentMethod, submitted: NaiveDate) -> NaiveDate {
    let business_days = match method {
        PaymentMethod::SepaDebit => 6,
        _ => 4,
    };
    let mut day = submitted;
    let mut left = business_days;
    while left > 0 {
        day = day + Days::new(1);
        if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            left -= 1;
        }
    }
    day
}

/// What the browser asks for: this much to that invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayItem {
    pub invoice_id: i64,
    pub amount_minor: i64,
}

impl PayItem {
    /// `12:5000;13:2500` → items; `None` when malformed.
    pub fn parse_list(text: &str) -> Option<Vec<PayItem>> {
        text.split(';')
            .filter(|part| !part.trim().is_empty())
            .map(|part| {
                let (id, amount) = part.trim().split_once(':')?;
                Some(PayItem {
                    invoice_id: id.parse().ok()?,
                    amount_minor: amount.parse().ok()?,
                })
            })
            .collect()
    }

    pub fn list_text(items: &[PayItem]) -> String {
        items
            .iter()
            .map(|i| format!("{}:{}", i.invoice_id, i.amount_minor))
            .collect::<Vec<_>>()
            .join(";")
    }
}

/// Where the money will go, as the server computed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewLine {
    pub invoice_id: i64,
    pub number: String,
    pub due_date: NaiveDate,
    pub open_minor: i64,
    /// Cash applied to the invoice.
    pub pay_minor: i64,
    /// Early-payment discount granted because this settles the invoice inside its window.
    pub discount_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentReview {
    pub currency: Currency,
    pub lines: Vec<ReviewLine>,
    /// What will be charged: the sum of `pay_minor`.
    pub total_minor: i64,
    /// Credit the customer could use first instead (see `store::apply_credit_first`).
    pub unapplied_credit_minor: i64,
    /// How this amount can be paid: card up to the card limit, the currency's bank debit.
    pub methods: Vec<PaymentMethod>,
    /// The largest amount accepted by card for this customer, if there is one.
    pub card_limit_minor: Option<i64>,
    /// Whether it can be paid by bank transfer (the company has a receiving account in the
    /// currency), whatever the amount.
    pub bank_transfer: bool,
}

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum CheckoutStatus {
        /// On the provider's hosted page.
        Open = "open",
        /// Money on its way from a bank, not settled yet (days): a bank debit submitted on the
        /// provider's page, or a bank transfer the customer announced.
        Processing = "processing",
        Succeeded = "succeeded",
        Failed = "failed",
        Expired = "expired",
        /// A bank debit that settled and came back (the bank's return): the receipt is reversed.
        Returned = "returned",
    }
}

impl CheckoutStatus {
    /// Money on its way: the checkout's amounts are in `invoices.pending_minor` (not due again,
    /// not cash yet). Leaving these states releases them, once.
    pub fn in_flight(self) -> bool {
        matches!(self, CheckoutStatus::Open | CheckoutStatus::Processing)
    }
}

/// A payment on its way for one invoice, as the invoice page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentInProgress {
    pub checkout_id: String,
    pub status: CheckoutStatus,
    /// Known once the customer has chosen on the provider's page; `Wire` for an announced
    /// bank transfer.
    pub method: Option<PaymentMethod>,
    /// What this payment brings to the invoice.
    pub amount_minor: i64,
    /// A processing debit's expected settlement date; until when an announced transfer holds
    /// the invoice back.
    pub expected_on: Option<NaiveDate>,
}

/// A checkout as its customer sees it (status page, polling).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutView {
    pub id: String,
    pub status: CheckoutStatus,
    pub currency: Currency,
    pub amount_minor: i64,
    pub failure_message: String,
    pub payment_id: Option<i64>,
    pub method: Option<PaymentMethod>,
    /// What its hosted page offers.
    pub methods: Vec<PaymentMethod>,
    pub expected_on: Option<NaiveDate>,
    /// An announced bank transfer's instructions.
    pub transfer: Option<crate::transfers::TransferInstructions>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckoutError {
    NothingSelected,
    TooManyInvoices,
    DuplicateInvoice,
    UnknownInvoice(i64),
    NotPayable(String),
    NotPositive {
        number: String,
    },
    MoreThanOpen {
        number: String,
    },
    InDispute {
        number: String,
        payable: Money,
    },
    InProgress {
        number: String,
        in_progress: Money,
        payable: Money,
    },
    AboveCardLimit {
        limit: Money,
        currency: Currency,
    },
    TransferOnly {
        limit: Money,
    },
    NoReceivingAccount {
        currency: Currency,
    },
    BelowMinimum {
        minimum: Money,
    },
    AboveMaximum {
        maximum: Money,
    },
    UnknownCheckout,
    NoCredit,
    NotCancellable,
    UnknownCustomerNumber(String),
    CardLimit(String),
}

impl Explain for CheckoutError {
    fn explain(&self, locale: Locale) -> String {
        let money = |amount: &Money| locale.money(amount.to_minor(), amount.currency());
        match self {
            CheckoutError::NothingSelected => locale
                .pick(
                    "choose at least one invoice to pay",
                    "wählen Sie mindestens eine Rechnung zum Bezahlen",
                )
                .into(),
            CheckoutError::TooManyInvoices => locale.pick(
                format!("pay at most {MAXIMUM_INVOICES} invoices at once"),
                format!("bezahlen Sie höchstens {MAXIMUM_INVOICES} Rechnungen auf einmal"),
            ),
            CheckoutError::DuplicateInvoice => locale
                .pick(
                    "an invoice appears twice",
                    "eine Rechnung ist doppelt aufgeführt",
                )
                .into(),
            CheckoutError::UnknownInvoice(id) => locale.pick(
                format!("there is no invoice {id} on your account"),
                format!("auf Ihrem Konto gibt es keine Rechnung {id}"),
            ),
            CheckoutError::NotPayable(number) => locale.pick(
                format!("invoice {number} is not open (paid or void)"),
                format!("die Rechnung {number} ist nicht offen (bezahlt oder storniert)"),
            ),
            CheckoutError::NotPositive { number } => locale.pick(
                format!("the amount for {number} must be more than zero"),
                format!("der Betrag für {number} muss größer als null sein"),
            ),
            CheckoutError::MoreThanOpen { number } => locale.pick(
                format!("the amount for {number} is more than its open amount"),
                format!("der Betrag für {number} ist höher als der offene Betrag"),
            ),
            CheckoutError::InDispute { number, payable } => {
                let payable = money(payable);
                locale.pick(
                    format!("at most {payable} of {number} can be paid now: the rest is in dispute"),
                    format!(
                        "von {number} können jetzt höchstens {payable} bezahlt werden: der Rest ist in Klärung"
                    ),
                )
            }
            CheckoutError::InProgress {
                number,
                in_progress,
                payable,
            } => {
                let (in_progress, payable) = (money(in_progress), money(payable));
                locale.pick(
                    format!(
                        "a payment of {in_progress} for {number} is already in progress; at most {payable} can be paid now"
                    ),
                    format!(
                        "eine Zahlung von {in_progress} für {number} ist bereits in Bearbeitung; jetzt können höchstens {payable} bezahlt werden"
                    ),
                )
            }
            CheckoutError::AboveCardLimit { limit, currency } => {
                let limit = money(limit);
                locale.pick(
                    format!(
                        "payments above {limit} are not taken by card, and {currency} can be paid neither by bank debit nor by bank transfer here; pay less at once"
                    ),
                    format!(
                        "Zahlungen über {limit} nehmen wir nicht per Karte an, und {currency} kann hier weder per Lastschrift noch per Überweisung bezahlt werden; zahlen Sie weniger auf einmal"
                    ),
                )
            }
            CheckoutError::TransferOnly { limit } => {
                let limit = money(limit);
                locale.pick(
                    format!("payments above {limit} are not taken by card; pay by bank transfer"),
                    format!(
                        "Zahlungen über {limit} nehmen wir nicht per Karte an; zahlen Sie per Überweisung"
                    ),
                )
            }
            CheckoutError::NoReceivingAccount { currency } => locale.pick(
                format!(
                    "{currency} cannot be paid by bank transfer here: there is no receiving account for it"
                ),
                format!(
                    "{currency} kann hier nicht per Überweisung bezahlt werden: dafür gibt es kein Empfängerkonto"
                ),
            ),
            CheckoutError::BelowMinimum { minimum } => {
                let minimum = money(minimum);
                locale.pick(
                    format!("a payment must be at least {minimum}"),
                    format!("eine Zahlung muss mindestens {minimum} betragen"),
                )
            }
            CheckoutError::AboveMaximum { maximum } => {
                let maximum = money(maximum);
                locale.pick(
                    format!("a payment can be at most {maximum}; split it in two"),
                    format!(
                        "eine Zahlung kann höchstens {maximum} betragen; teilen Sie sie in zwei auf"
                    ),
                )
            }
            CheckoutError::UnknownCheckout => locale
                .pick(
                    "there is no such payment on your account",
                    "diese Zahlung gibt es auf Ihrem Konto nicht",
                )
                .into(),
            CheckoutError::NoCredit => locale
                .pick(
                    "there is no unapplied credit to use on these invoices",
                    "es gibt kein freies Guthaben, das auf diese Rechnungen angerechnet werden kann",
                )
                .into(),
            CheckoutError::NotCancellable => locale
                .pick(
                    "this payment is no longer open on the payment page, so it cannot be cancelled",
                    "diese Zahlung ist auf der Zahlungsseite nicht mehr offen und kann daher nicht abgebrochen werden",
                )
                .into(),
            CheckoutError::UnknownCustomerNumber(number) => locale.pick(
                format!("there is no customer numbered {number:?}"),
                format!("es gibt keinen Kunden mit der Nummer {number:?}"),
            ),
            CheckoutError::CardLimit(typed) => locale.pick(
                format!("a card limit is a positive amount (or none), not {typed:?}"),
                format!("ein Kartenlimit ist ein positiver Betrag (oder keiner), nicht {typed:?}"),
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderError {
    Timeout,
    Refused(String),
    Unavailable(String),
}

impl Explain for ProviderError {
    fn explain(&self, locale: Locale) -> String {
        match self {
            ProviderError::Timeout => locale
                .pick(
                    "the payment provider did not answer in time; please try again",
                    "der Zahlungsdienstleister hat nicht rechtzeitig geantwortet; bitte versuchen Sie es erneut",
                )
                .into(),
            // The provider's own words stay as it wrote them.
            ProviderError::Refused(reason) => locale.pick(
                format!("the payment provider refused the request: {reason}"),
                format!("der Zahlungsdienstleister hat die Anfrage abgelehnt: {reason}"),
            ),
            ProviderError::Unavailable(reason) => locale.pick(
                format!("the payment provider is unavailable: {reason}"),
                format!("der Zahlungsdienstleister ist nicht erreichbar: {reason}"),
            ),
        }
    }
}

crate::explained_error!(CheckoutError, ProviderError);

/// What the provider needs to collect a checkout on its hosted page.
#[cfg(feature = "ssr")]
#[derive(Debug, Clone)]
pub struct HostedCheckoutRequest<'a> {
    pub checkout_id: &'a str,
    pub currency: Currency,
    pub amount_minor: i64,
    /// What the hosted page offers (see [`methods_for`]).
    pub methods: &'a [PaymentMethod],
    /// When the hosted page closes (Unix seconds).
    pub expires_at: i64,
    pub description: String,
    pub customer_email: &'a str,
    /// Where the provider sends the customer back.
    pub success_url: String,
    pub cancel_url: String,
}

/// The provider's hosted page for one checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostedCheckout {
    pub session_id: String,
    pub url: String,
}

/// The boundary to the payment provider: Stripe Checkout, or the offline sandbox that behaves
/// like Stripe's test mode. Both announce the outcome through the same signed webhook.
#[cfg(feature = "ssr")]
pub trait PaymentProvider: Send + Sync + std::fmt::Debug {
    fn name(&self) -> &'static str;

    fn create_checkout<'a>(
        &'a self,
        request: HostedCheckoutRequest<'a>,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<HostedCheckout, ProviderError>> + Send + 'a>,
    >;

    /// Closes an open hosted page (the customer cancelled), so it can no longer be paid. Refused
    /// when the customer has already paid or submitted a debit there.
    fn expire_checkout<'a>(
        &'a self,
        session_id: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ProviderError>> + Send + 'a>>;

    /// Asks the provider to return money from a collected payment. The ledger is not touched
    /// here: the provider's signed `charge.refunded` event posts the refund.
    fn refund<'a>(
        &'a self,
        request: RefundRequest<'a>,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<ProviderRefund, ProviderError>> + Send + 'a>,
    >;

    /// What a payout carried: its balance transactions (charges, refunds, disputes) and their
    /// fees, which the payout's `payout.paid` event does not say.
    fn payout_contents<'a>(
        &'a self,
        payout_id: &'a str,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<PayoutContents, ProviderError>> + Send + 'a>,
    >;
    /// Opens the provider's hosted page where the payer saves a card or a bank account for
    /// later charges (Stripe Checkout in setup mode), making the provider's customer first if
    /// the account has none yet.
    fn start_setup<'a>(
        &'a self,
        request: crate::saved_methods::SetupRequest<'a>,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<
                    Output = Result<crate::saved_methods::HostedSetup, ProviderError>,
                > + Send
                + 'a,
        >,
    >;

    /// What a completed setup saved (`setup_reference`: Stripe's SetupIntent), asked before
    /// the event's transaction opens.
    fn saved_method<'a>(
        &'a self,
        setup_reference: &'a str,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<
                    Output = Result<crate::saved_methods::ProviderMethod, ProviderError>,
                > + Send
                + 'a,
        >,
    >;

    /// Charges a saved method with nobody at the keyboard. The ledger is not touched here: the
    /// provider's signed event settles the checkout, as for any payment.
    fn charge_saved<'a>(
        &'a self,
        charge: crate::saved_methods::OffSessionCharge<'a>,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<
                    Output = Result<crate::saved_methods::ChargeOutcome, ProviderError>,
                > + Send
                + 'a,
        >,
    >;

    /// Makes the provider forget a saved method (Stripe: detach it from the customer).
    fn remove_saved<'a>(
        &'a self,
        provider_method: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ProviderError>> + Send + 'a>>;
}

/// The balance transactions one payout carried, summed.
#[cfg(feature = "ssr")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PayoutContents {
    pub transactions: i64,
    pub fees_minor: i64,
}

/// A refund as sent to the provider.
#[cfg(feature = "ssr")]
#[derive(Debug, Clone)]
pub struct RefundRequest<'a> {
    /// Our refund id: the idempotency key, so a resend never refunds twice.
    pub refund_id: &'a str,
    /// The provider's payment (Stripe's PaymentIntent id).
    pub payment_reference: &'a str,
    pub currency: Currency,
    pub amount_minor: i64,
}

/// The provider's id for an accepted refund.
#[cfg(feature = "ssr")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderRefund {
    pub id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pay_list_round_trips_and_malformed_lists_are_refused() {
        let items = vec![
            PayItem {
                invoice_id: 12,
                amount_minor: 5_000,
            },
            PayItem {
                invoice_id: 13,
                amount_minor: 250,
            },
        ];
        assert_eq!(
            PayItem::parse_list(&PayItem::list_text(&items)),
            Some(items)
        );
        assert_eq!(PayItem::parse_list("12:abc"), None);
        assert_eq!(PayItem::parse_list("12"), None);
        assert_eq!(PayItem::parse_list(""), Some(vec![]));
    }

    #[test]
    fn cards_are_offered_up_to_the_card_limit_and_bank_debits_by_currency() {
        use PaymentMethod::{Ach, Card, SepaDebit};
        assert_eq!(methods_for(Currency::Usd, 5_000, None), vec![Card, Ach]);
        assert_eq!(
            methods_for(Currency::Usd, 5_000, Some(5_000)),
            vec![Card, Ach]
        );
        assert_eq!(methods_for(Currency::Usd, 5_001, Some(5_000)), vec![Ach]);
        assert_eq!(methods_for(Currency::Eur, 100, None), vec![Card, SepaDebit]);
        assert_eq!(methods_for(Currency::Gbp, 100, None), vec![Card]);
        assert_eq!(methods_for(Currency::Gbp, 100, Some(50)), vec![]);
    }

    #[test]
    fn a_debit_is_expected_after_its_business_days_skipping_weekends() {
        let friday = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        assert_eq!(
            expected_settlement(PaymentMethod::Ach, friday),
            NaiveDate::from_ymd_opt(2026, 12, 10).unwrap()
        );
        assert_eq!(
            expected_settlement(PaymentMethod::SepaDebit, friday),
            NaiveDate::from_ymd_opt(2026, 12, 14).unwrap()
        );
    }
}
