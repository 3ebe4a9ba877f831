//! The Stripe adapter: one hosted Checkout Session per Ledgerport checkout, refunds of
//! collected payments, and the contents (fees) of a payout, through async-stripe.
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
use ledgerport::payments::PaymentMethod;
use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_checkout::CheckoutSessionMode;
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionAllowedPaymentMethodTypes,
    CreateCheckoutSessionLineItems, CreateCheckoutSessionLineItemsPriceData,
    CreateCheckoutSessionPaymentIntentData, ExpireCheckoutSession, ProductData,
};
use stripe_core::BalanceTransactionType;
use stripe_core::balance_transaction::ListBalanceTransaction;
use stripe_core::refund::CreateRefund;

use crate::webhooks::CHECKOUT_METADATA_KEY;

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
        let mut pause = self.settings.first_backoff;
        let mut attempt = 1;
        loop {
            match call().await {
                Ok(answer) => return Ok(answer),
                Err(error) if attempt < self.settings.attempts && worth_retrying(&error) => {
                    tracing::warn!(attempt, %error, ours, "retrying a Stripe {what}");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                    attempt += 1;
                }
                Err(error) => {
                    tracing::error!(attempt, %error, ours, "Stripe refused or failed a {what}");
                    return Err(provider_error(error));
                }
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

fn session_params(request: &HostedCheckoutRequest<'_>) -> CreateCheckoutSession {
    let metadata = HashMap::from([(
        CHECKOUT_METADATA_KEY.to_string(),
        request.checkout_id.to_string(),
    )]);
    let currency = request
        .currency
        .code()
        .to_ascii_lowercase()
        .parse::<stripe_types::Currency>()
        .unwrap_or_else(|never| match never {});
    let mut price = CreateCheckoutSessionLineItemsPriceData::new(currency);
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
        .map(|method| match method {
            PaymentMethod::Ach => CreateCheckoutSessionAllowedPaymentMethodTypes::UsBankAccount,
            PaymentMethod::SepaDebit => CreateCheckoutSessionAllowedPaymentMethodTypes::SepaDebit,
            _ => CreateCheckoutSessionAllowedPaymentMethodTypes::Card,
        })
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
