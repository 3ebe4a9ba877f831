//! The Stripe adapter: one hosted Checkout Session per Ledgerport checkout, refunds of
//! collected payments, the contents (fees) of a payout, and saved methods (a Checkout Session in
//! setup mode, the SetupIntent it completes, off-session charges, detaching), through
//! async-stripe.
//!
//! Card data never reaches this server (PCI SAQ A). Our checkout id travels as metadata on the
//! session and on its PaymentIntent, so every webhook event names the checkout it settles.
//!
//! async-stripe's own retry strategies send a random idempotency key, so this adapter retries
//! itself with a key derived from our checkout (or refund) id: a retried create can never open a
//! second session or refund twice, even when the first attempt reached Stripe and only its
//! answer was lost.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use ledgerport::checkout::{
    HostedCheckout, HostedCheckoutRequest, PaymentProvider, PayoutContents, ProviderError,
    ProviderRefund, RefundRequest,
};
use ledgerport::money::Currency;
use ledgerport::payments::PaymentMethod;
use ledgerport::saved_methods::{
    ChargeOutcome, HostedSetup, OffSessionCharge, ProviderMethod, SetupRequest,
};
use stripe::{
    ApiErrorsCode, Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError,
    StripeRequest,
};
use stripe_checkout::CheckoutSessionMode;
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionAllowedPaymentMethodTypes,
    CreateCheckoutSessionLineItems, CreateCheckoutSessionLineItemsPriceData,
    CreateCheckoutSessionPaymentIntentData, CreateCheckoutSessionSetupIntentData,
    ExpireCheckoutSession, ProductData,
};
use stripe_core::balance_transaction::ListBalanceTransaction;
use stripe_core::customer::CreateCustomer;
use stripe_core::payment_intent::{CreatePaymentIntent, CreatePaymentIntentOffSession};
use stripe_core::refund::CreateRefund;
use stripe_core::setup_intent::RetrieveSetupIntent;
use stripe_core::{
    BalanceTransactionType, PaymentIntentAllowedPaymentMethodTypes, PaymentIntentStatus,
};
use stripe_payment::PaymentMethodType;
use stripe_payment::payment_method::DetachPaymentMethod;

use crate::webhooks::{CHECKOUT_METADATA_KEY, SETUP_METADATA_KEY};

/// How the adapter talks to Stripe.
#[derive(Debug, Clone)]
pub struct StripeSettings {
    /// `https://api.stripe.com/` in production; a local fake Stripe in tests.
    pub api_base: Option<String>,
    /// Each attempt's budget: the async client has no timeout of its own.
    pub attempt_timeout: Duration,
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The first pause between attempts; it doubles after each.
    pub first_backoff: Duration,
}

impl Default for StripeSettings {
    fn default() -> Self {
        Self {
            api_base: None,
            attempt_timeout: Duration::from_secs(10),
            attempts: 3,
            first_backoff: Duration::from_millis(250),
        }
    }
}

#[derive(Debug, Clone)]
pub struct StripeProvider {
    client: Client,
    settings: StripeSettings,
}

impl StripeProvider {
    pub fn new(secret_key: &str, settings: StripeSettings) -> Result<Self, StripeError> {
        let mut builder = ClientBuilder::new(secret_key).timeout(settings.attempt_timeout);
        if let Some(base) = &settings.api_base {
            builder = builder.url(base.as_str());
        }
        Ok(Self {
            client: builder.build()?,
            settings,
        })
    }

    /// Runs one Stripe call, retrying what may succeed on a second try. The caller's request
    /// carries a fixed idempotency key, so a retry never creates a second object.
    async fn with_retries<T, F, Fut>(
        &self,
        what: &str,
        ours: &str,
        call: F,
    ) -> Result<T, ProviderError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, StripeError>>,
    {
        self.retrying(what, ours, call).await.map_err(|error| {
            tracing::error!(%error, ours, "Stripe refused or failed a {what}");
            provider_error(error)
        })
    }

    /// [`Self::with_retries`], leaving Stripe's last error as it is (a charge reads its
    /// decline code).
    async fn retrying<T, F, Fut>(&self, what: &str, ours: &str, call: F) -> Result<T, StripeError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, StripeError>>,
    {
        let mut pause = self.settings.first_backoff;
        let mut attempt = 1;
        loop {
            match call().await {
                Err(error) if attempt < self.settings.attempts && worth_retrying(&error) => {
                    tracing::warn!(attempt, %error, ours, "retrying a Stripe {what}");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                    attempt += 1;
                }
                answer => return answer,
            }
        }
    }

    async fn create_session(
        &self,
        request: HostedCheckoutRequest<'_>,
    ) -> Result<HostedCheckout, ProviderError> {
        let key = stripe_key(&idempotency_key(request.checkout_id))?;
        let params = session_params(&request);
        let session = self
            .with_retries("checkout session", request.checkout_id, || {
                params
                    .customize()
                    .request_strategy(RequestStrategy::Idempotent(key.clone()))
                    .send(&self.client)
            })
            .await?;
        let url = session.url.ok_or_else(|| {
            ProviderError::Unavailable("Stripe returned a session without a URL".into())
        })?;
        Ok(HostedCheckout {
            session_id: session.id.to_string(),
            url,
        })
    }

    async fn create_refund(
        &self,
        request: RefundRequest<'_>,
    ) -> Result<ProviderRefund, ProviderError> {
        let key = stripe_key(&refund_idempotency_key(request.refund_id))?;
        let params = CreateRefund::new()
            .payment_intent(request.payment_reference)
            .amount(request.amount_minor)
            .metadata(HashMap::from([(
                REFUND_METADATA_KEY.to_string(),
                request.refund_id.to_string(),
            )]));
        let refund = self
            .with_retries("refund", request.refund_id, || {
                params
                    .customize()
                    .request_strategy(RequestStrategy::Idempotent(key.clone()))
                    .send(&self.client)
            })
            .await?;
        Ok(ProviderRefund {
            id: refund.id.to_string(),
        })
    }

    /// The account's Stripe customer: the one already known, or one made now under a key
    /// derived from our customer id (so a retry never makes two).
    async fn customer_for(&self, request: &SetupRequest<'_>) -> Result<String, ProviderError> {
        if let Some(known) = request.provider_customer {
            return Ok(known.to_string());
        }
        let ours = request.customer_id.to_string();
        let key = stripe_key(&customer_idempotency_key(request.customer_id))?;
        let params = CreateCustomer::new()
            .name(request.customer_name)
            .email(request.email)
            .metadata(HashMap::from([(
                CUSTOMER_METADATA_KEY.to_string(),
                ours.clone(),
            )]));
        let customer = self
            .with_retries("customer", &ours, || {
                params
                    .customize()
                    .request_strategy(RequestStrategy::Idempotent(key.clone()))
                    .send(&self.client)
            })
            .await?;
        Ok(customer.id.to_string())
    }

    async fn create_setup(&self, request: SetupRequest<'_>) -> Result<HostedSetup, ProviderError> {
        let customer = self.customer_for(&request).await?;
        let key = stripe_key(&setup_idempotency_key(request.setup_id))?;
        let metadata =
            HashMap::from([(SETUP_METADATA_KEY.to_string(), request.setup_id.to_string())]);
        let mut intent = CreateCheckoutSessionSetupIntentData::new();
        intent.metadata = Some(metadata.clone());
        let params = CreateCheckoutSession::new()
            .mode(CheckoutSessionMode::Setup)
            .currency(stripe_currency(request.currency))
            .customer(customer.as_str())
            .allowed_payment_method_types(
                request
                    .methods
                    .iter()
                    .copied()
                    .map(session_method)
                    .collect::<Vec<_>>(),
            )
            .client_reference_id(request.setup_id)
            .metadata(metadata)
            .setup_intent_data(intent)
            .success_url(request.success_url.clone())
            .cancel_url(request.cancel_url.clone());
        let session = self
            .with_retries("setup session", request.setup_id, || {
                params
                    .customize()
                    .request_strategy(RequestStrategy::Idempotent(key.clone()))
                    .send(&self.client)
            })
            .await?;
        let url = session.url.ok_or_else(|| {
            ProviderError::Unavailable("Stripe returned a setup session without a URL".into())
        })?;
        Ok(HostedSetup {
            provider_customer: customer,
            url,
        })
    }

    /// The method a SetupIntent saved, with its card or bank details and a debit's mandate.
    async fn retrieve_saved(&self, setup_intent: &str) -> Result<ProviderMethod, ProviderError> {
        let params = RetrieveSetupIntent::new(setup_intent).expand(vec!["payment_method".into()]);
        let intent = self
            .with_retries("setup intent", setup_intent, || params.send(&self.client))
            .await?;
        let unreadable =
            |what: &str| ProviderError::Unavailable(format!("the SetupIntent has no {what}"));
        let method = intent
            .payment_method
            .and_then(|m| m.into_object())
            .ok_or_else(|| unreadable("payment method"))?;
        let mandate = intent.mandate.map(|m| m.id().to_string());
        let (kind, label, last4, exp) = match method.type_ {
            PaymentMethodType::Card => {
                let card = method.card.ok_or_else(|| unreadable("card"))?;
                let brand = card.display_brand.unwrap_or(card.brand);
                (
                    PaymentMethod::Card,
                    brand_label(&brand),
                    card.last4,
                    Some((card.exp_month, card.exp_year)),
                )
            }
            PaymentMethodType::UsBankAccount => {
                let bank = method
                    .us_bank_account
                    .ok_or_else(|| unreadable("bank account"))?;
                (
                    PaymentMethod::Ach,
                    bank.bank_name.unwrap_or_else(|| "US bank account".into()),
                    bank.last4.unwrap_or_default(),
                    None,
                )
            }
            PaymentMethodType::SepaDebit => {
                let bank = method
                    .sepa_debit
                    .ok_or_else(|| unreadable("SEPA account"))?;
                let label = bank.bank_code.map_or_else(
                    || "SEPA account".to_string(),
                    |code| format!("SEPA account (bank {code})"),
                );
                (
                    PaymentMethod::SepaDebit,
                    label,
                    bank.last4.unwrap_or_default(),
                    None,
                )
            }
            other => {
                return Err(ProviderError::Refused(format!(
                    "a {} cannot be saved here",
                    other.as_str()
                )));
            }
        };
        if last4.len() != 4 {
            return Err(unreadable("last four digits"));
        }
        Ok(ProviderMethod {
            id: method.id.to_string(),
            kind,
            label,
            last4,
            exp_month: exp.and_then(|(month, _)| u32::try_from(month).ok()),
            exp_year: exp.and_then(|(_, year)| i32::try_from(year).ok()),
            mandate,
        })
    }

    /// An off-session PaymentIntent, confirmed at once, under a key derived from our checkout:
    /// a retry after a lost answer never charges twice. A decline is an answer, not an error.
    async fn create_charge(
        &self,
        charge: OffSessionCharge<'_>,
    ) -> Result<ChargeOutcome, ProviderError> {
        let key = stripe_key(&charge_idempotency_key(charge.checkout_id))?;
        let params =
            CreatePaymentIntent::new(charge.amount_minor, stripe_currency(charge.currency))
                .customer(charge.provider_customer)
                .payment_method(charge.provider_method)
                .confirm(true)
                .off_session(CreatePaymentIntentOffSession::Bool(true))
                // The saved method's type only: no redirect-based method, so no return URL.
                .allowed_payment_method_types(vec![match charge.kind {
                    PaymentMethod::Ach => PaymentIntentAllowedPaymentMethodTypes::UsBankAccount,
                    PaymentMethod::SepaDebit => PaymentIntentAllowedPaymentMethodTypes::SepaDebit,
                    _ => PaymentIntentAllowedPaymentMethodTypes::Card,
                }])
                .description(charge.description.clone())
                .metadata(HashMap::from([(
                    CHECKOUT_METADATA_KEY.to_string(),
                    charge.checkout_id.to_string(),
                )]));
        let answer = self
            .retrying("off-session charge", charge.checkout_id, || {
                params
                    .customize()
                    .request_strategy(RequestStrategy::Idempotent(key.clone()))
                    .send(&self.client)
            })
            .await;
        match answer {
            Ok(intent) => Ok(match intent.status {
                PaymentIntentStatus::Succeeded => ChargeOutcome::Succeeded,
                PaymentIntentStatus::Processing => ChargeOutcome::Processing,
                PaymentIntentStatus::RequiresAction => ChargeOutcome::NeedsCustomer {
                    message: "The bank asks the customer to confirm this payment.".into(),
                },
                _ => {
                    let error = intent.last_payment_error.map(|e| *e);
                    declined(error.as_ref())
                }
            }),
            // 402: the card or bank said no; Stripe names why.
            Err(StripeError::Stripe(error, 402)) => Ok(
                if error.code == Some(ApiErrorsCode::AuthenticationRequired) {
                    ChargeOutcome::NeedsCustomer {
                        message: error.message.unwrap_or_else(|| {
                            "The bank asks the customer to confirm this payment.".into()
                        }),
                    }
                } else {
                    declined(Some(&error))
                },
            ),
            Err(error) => {
                tracing::error!(%error, charge.checkout_id, "Stripe failed an off-session charge");
                Err(provider_error(error))
            }
        }
    }

    /// Pages through the payout's balance transactions (Stripe lists them for automatic
    /// payouts; a manual payout lists none, and its fees stay unknown here).
    async fn list_payout_contents(&self, payout_id: &str) -> Result<PayoutContents, ProviderError> {
        let mut contents = PayoutContents::default();
        let mut after: Option<String> = None;
        loop {
            let mut params = ListBalanceTransaction::new().payout(payout_id).limit(100);
            if let Some(last) = &after {
                params = params.starting_after(last.as_str());
            }
            let page = self
                .with_retries("balance transaction list", payout_id, || {
                    params.send(&self.client)
                })
                .await?;
            for transaction in &page.data {
                match transaction.type_ {
                    // The money leaving the balance, not what the payout carried.
                    BalanceTransactionType::Payout => continue,
                    // Stripe's own charges to the balance (Billing, Radar, currency conversion).
                    BalanceTransactionType::StripeFee
                    | BalanceTransactionType::StripeFxFee
                    | BalanceTransactionType::TaxFee => {
                        contents.fees_minor += transaction.fee - transaction.amount
                    }
                    _ => contents.fees_minor += transaction.fee,
                }
                contents.transactions += 1;
            }
            match page.data.last() {
                Some(last) if page.has_more => after = Some(last.id.to_string()),
                _ => return Ok(contents),
            }
        }
    }
}

fn stripe_key(text: &str) -> Result<IdempotencyKey, ProviderError> {
    IdempotencyKey::new(text).map_err(|e| ProviderError::Refused(e.to_string()))
}

impl PaymentProvider for StripeProvider {
    fn name(&self) -> &'static str {
        "stripe"
    }

    fn create_checkout<'a>(
        &'a self,
        request: HostedCheckoutRequest<'a>,
    ) -> Pin<Box<dyn Future<Output = Result<HostedCheckout, ProviderError>> + Send + 'a>> {
        Box::pin(self.create_session(request))
    }

    fn expire_checkout<'a>(
        &'a self,
        session_id: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), ProviderError>> + Send + 'a>> {
        Box::pin(async move {
            // Expiring twice is harmless (Stripe refuses the second), so no idempotency key.
            let params = ExpireCheckoutSession::new(session_id);
            self.with_retries("session expiry", session_id, || params.send(&self.client))
                .await
                .map(|_| ())
        })
    }

    fn refund<'a>(
        &'a self,
        request: RefundRequest<'a>,
    ) -> Pin<Box<dyn Future<Output = Result<ProviderRefund, ProviderError>> + Send + 'a>> {
        Box::pin(self.create_refund(request))
    }

    fn payout_contents<'a>(
        &'a self,
        payout_id: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<PayoutContents, ProviderError>> + Send + 'a>> {
        Box::pin(self.list_payout_contents(payout_id))
    }

    fn start_setup<'a>(
        &'a self,
        request: SetupRequest<'a>,
    ) -> Pin<Box<dyn Future<Output = Result<HostedSetup, ProviderError>> + Send + 'a>> {
        Box::pin(self.create_setup(request))
    }

    fn saved_method<'a>(
        &'a self,
        setup_reference: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<ProviderMethod, ProviderError>> + Send + 'a>> {
        Box::pin(self.retrieve_saved(setup_reference))
    }

    fn charge_saved<'a>(
        &'a self,
        charge: OffSessionCharge<'a>,
    ) -> Pin<Box<dyn Future<Output = Result<ChargeOutcome, ProviderError>> + Send + 'a>> {
        Box::pin(self.create_charge(charge))
    }

    fn remove_saved<'a>(
        &'a self,
        provider_method: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), ProviderError>> + Send + 'a>> {
        Box::pin(async move {
            // Detaching twice is refused by Stripe and harmless, so no idempotency key.
            let params = DetachPaymentMethod::new(provider_method);
            self.with_retries("payment method removal", provider_method, || {
                params.send(&self.client)
            })
            .await
            .map(|_| ())
        })
    }
}

/// One key per checkout: Stripe keeps keys for at least 24 hours, longer than a checkout lives.
pub fn idempotency_key(checkout_id: &str) -> String {
    format!("ledgerport-checkout-{checkout_id}")
}

/// One key per refund request, so sending it again never refunds twice.
pub fn refund_idempotency_key(refund_id: &str) -> String {
    format!("ledgerport-refund-{refund_id}")
}

/// The metadata key naming our refund request on Stripe's refund.
pub const REFUND_METADATA_KEY: &str = "ledgerport_refund_id";

/// One key per saved-method setup.
pub fn setup_idempotency_key(setup_id: &str) -> String {
    format!("ledgerport-setup-{setup_id}")
}

/// One key per off-session charge: its checkout.
pub fn charge_idempotency_key(checkout_id: &str) -> String {
    format!("ledgerport-charge-{checkout_id}")
}

/// One key per account: its Stripe customer is made once.
pub fn customer_idempotency_key(customer_id: i64) -> String {
    format!("ledgerport-customer-{customer_id}")
}

/// The metadata key naming our customer on Stripe's customer.
pub const CUSTOMER_METADATA_KEY: &str = "ledgerport_customer_id";

fn stripe_currency(currency: Currency) -> stripe_types::Currency {
    currency
        .code()
        .to_ascii_lowercase()
        .parse::<stripe_types::Currency>()
        .unwrap_or_else(|never| match never {})
}

fn session_method(method: PaymentMethod) -> CreateCheckoutSessionAllowedPaymentMethodTypes {
    match method {
        PaymentMethod::Ach => CreateCheckoutSessionAllowedPaymentMethodTypes::UsBankAccount,
        PaymentMethod::SepaDebit => CreateCheckoutSessionAllowedPaymentMethodTypes::SepaDebit,
        _ => CreateCheckoutSessionAllowedPaymentMethodTypes::Card,
    }
}

/// "visa" → "Visa", "american_express" → "American Express".
fn brand_label(brand: &str) -> String {
    brand
        .split(['_', ' '])
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A refused charge: Stripe's decline code (else its error code) and message.
fn declined(error: Option<&stripe::ApiErrors>) -> ChargeOutcome {
    let code = error
        .and_then(|e| {
            e.decline_code
                .clone()
                .or_else(|| e.code.as_ref().map(|c| c.as_str().to_string()))
        })
        .unwrap_or_default();
    let message = error
        .and_then(|e| e.message.clone())
        .unwrap_or_else(|| "The payment was declined.".into());
    ChargeOutcome::Declined { code, message }
}

fn session_params(request: &HostedCheckoutRequest<'_>) -> CreateCheckoutSession {
    let metadata = HashMap::from([(
        CHECKOUT_METADATA_KEY.to_string(),
        request.checkout_id.to_string(),
    )]);
    let mut price = CreateCheckoutSessionLineItemsPriceData::new(stripe_currency(request.currency));
    price.unit_amount = Some(request.amount_minor);
    price.product_data = Some(ProductData::new(request.description.clone()));
    let mut line = CreateCheckoutSessionLineItems::new();
    line.price_data = Some(price);
    line.quantity = Some(1);
    let mut intent = CreateCheckoutSessionPaymentIntentData::new();
    intent.metadata = Some(metadata.clone());
    intent.description = Some(request.description.clone());
    // Only what the review offered (a card above the card limit is not among them), and of
    // those what the Stripe account has enabled.
    let methods = request
        .methods
        .iter()
        .copied()
        .map(session_method)
        .collect::<Vec<_>>();
    CreateCheckoutSession::new()
        .mode(CheckoutSessionMode::Payment)
        .allowed_payment_method_types(methods)
        .expires_at(request.expires_at)
        .line_items(vec![line])
        .client_reference_id(request.checkout_id)
        .customer_email(request.customer_email)
        .metadata(metadata)
        .payment_intent_data(intent)
        .success_url(request.success_url.clone())
        .cancel_url(request.cancel_url.clone())
}

/// Timeouts, lost connections, rate limits and Stripe's own 5xx may succeed on a second try;
/// a 4xx other than 409/429 will not.
fn worth_retrying(error: &StripeError) -> bool {
    match error {
        StripeError::Timeout | StripeError::ClientError(_) => true,
        StripeError::Stripe(_, status) => matches!(status, 409 | 429) || *status >= 500,
        StripeError::JSONDeserialize(_) | StripeError::ConfigError(_) => false,
    }
}

fn provider_error(error: StripeError) -> ProviderError {
    match error {
        StripeError::Timeout => ProviderError::Timeout,
        // 409: the same idempotency key is in flight elsewhere; the outcome is not known yet.
        StripeError::Stripe(details, status)
            if (400..500).contains(&status) && status != 429 && status != 409 =>
        {
            ProviderError::Refused(
                details
                    .message
                    .unwrap_or_else(|| format!("Stripe answered {status}")),
            )
        }
        StripeError::Stripe(_, status) => {
            ProviderError::Unavailable(format!("Stripe answered {status}"))
        }
        StripeError::ClientError(_) => {
            ProviderError::Unavailable("Stripe could not be reached".into())
        }
        StripeError::JSONDeserialize(_) => {
            ProviderError::Unavailable("Stripe's answer could not be read".into())
        }
        StripeError::ConfigError(_) => {
            ProviderError::Unavailable("the Stripe client is misconfigured".into())
        }
    }
}
