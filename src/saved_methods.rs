//! Saved payment methods: a payer saves a card or a bank account on the provider's hosted setup
//! page (the number never reaches this server), and the portal keeps what it may show (brand or
//! bank, last four digits, expiry) with the consent the payer gave: its text, who, when and from
//! which address. Autopay charges a saved method; a payer can remove one at any time.

use serde::{Deserialize, Serialize};

use crate::locale::{Explain, Locale};
use crate::payments::PaymentMethod;

#[cfg(feature = "ssr")]
pub mod store;

/// What the payer agrees to before leaving for the provider's setup page. Kept word for word
/// with every method saved under it, so what was agreed stays readable after this text changes.
pub const CONSENT_TEXT: &str = "I authorise the seller to save this payment method with its \
     payment provider and to charge it for this account's invoices: when I pay in this portal, \
     and automatically while autopay is on, within the limits set there. A bank account is \
     debited under the mandate shown on the provider's page. I can remove this method at any \
     time in the portal; charges already made are not affected.";

/// A saved method as the payer (and staff) see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedMethod {
    pub id: i64,
    pub kind: PaymentMethod,
    /// The card's brand or the bank's name.
    pub label: String,
    pub last4: String,
    /// A card's expiry as `MM/YYYY`.
    pub expires: Option<String>,
    pub consent_text: String,
    pub consented_by: String,
    pub consented_at: String,
    pub consented_ip: String,
    /// Whether autopay charges it now.
    pub autopay: bool,
}

impl SavedMethod {
    /// "Visa •••• 4242", "STRIPE TEST BANK •••• 6789".
    pub fn name(&self) -> String {
        format!("{} •••• {}", self.label, self.last4)
    }
}

/// What the provider reports about a method it saved (before it is ours).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderMethod {
    /// The provider's id for the method (Stripe's PaymentMethod).
    pub id: String,
    pub kind: PaymentMethod,
    pub label: String,
    pub last4: String,
    pub exp_month: Option<u32>,
    pub exp_year: Option<i32>,
    /// A bank debit's mandate at the provider.
    pub mandate: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SavedMethodError {
    NoConsent,
    Unknown,
    UsedByAutopay,
}

impl Explain for SavedMethodError {
    fn explain(&self, locale: Locale) -> String {
        let text = match self {
            SavedMethodError::NoConsent => locale.pick(
                "tick the box to agree to the terms of saving a payment method",
                "setzen Sie das Häkchen, um den Bedingungen für das Speichern einer Zahlungsart zuzustimmen",
            ),
            SavedMethodError::Unknown => locale.pick(
                "there is no such saved payment method on your account",
                "diese gespeicherte Zahlungsart gibt es auf Ihrem Konto nicht",
            ),
            SavedMethodError::UsedByAutopay => locale.pick(
                "autopay charges this method; turn autopay off or choose another method first",
                "die automatische Zahlung belastet diese Zahlungsart; schalten Sie sie zuerst aus oder wählen Sie eine andere Zahlungsart",
            ),
        };
        text.into()
    }
}

crate::explained_error!(SavedMethodError);

/// What the provider needs to open its setup page.
#[cfg(feature = "ssr")]
#[derive(Debug, Clone)]
pub struct SetupRequest<'a> {
    /// Our setup id: carried in the provider's metadata, and its idempotency key.
    pub setup_id: &'a str,
    pub customer_id: i64,
    pub customer_name: &'a str,
    /// The customer at the provider, once known (the provider makes one otherwise).
    pub provider_customer: Option<&'a str>,
    pub email: &'a str,
    pub currency: crate::money::Currency,
    /// Card and the currency's bank debit.
    pub methods: &'a [PaymentMethod],
    pub success_url: String,
    pub cancel_url: String,
}

/// The provider's setup page for one setup, and the customer it saves the method to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostedSetup {
    pub provider_customer: String,
    pub url: String,
}

/// A charge of a saved method with nobody at the keyboard (autopay).
#[cfg(feature = "ssr")]
#[derive(Debug, Clone)]
pub struct OffSessionCharge<'a> {
    /// Our checkout id: the provider's metadata and the idempotency key.
    pub checkout_id: &'a str,
    pub provider_customer: &'a str,
    pub provider_method: &'a str,
    pub kind: PaymentMethod,
    pub currency: crate::money::Currency,
    pub amount_minor: i64,
    pub description: String,
}

/// What the provider answered to an off-session charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    /// Collected (a card); the provider's event posts it.
    Succeeded,
    /// A bank debit submitted; it settles or fails days later.
    Processing,
    /// Refused, with the provider's decline code and message.
    Declined { code: String, message: String },
    /// The bank wants the customer to confirm (3-D Secure): only they can finish it.
    NeedsCustomer { message: String },
}
