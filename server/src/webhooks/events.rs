//! Stripe's events parsed once into what they mean for the ledger. Each event type reads only
//! the fields it needs, typed; the handler then matches on [`ProviderEvent`].

use std::collections::HashMap;

use chrono::NaiveDate;
use ledgerport::checkout::{CheckoutStatus, bank_debit_for};
use ledgerport::money::Currency;
use ledgerport::payments::PaymentMethod;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{CHECKOUT_METADATA_KEY, SETUP_METADATA_KEY, WebhookError};

/// One verified event: its id (the claim), its type (recorded with the claim) and its meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub id: String,
    pub kind: String,
    /// When the provider created the event (Unix seconds): orders a failure and a submission.
    pub created: i64,
    pub event: ProviderEvent,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderEvent {
    /// Money collected for one of our checkouts (`checkout.session.completed` when paid,
    /// `checkout.session.async_payment_succeeded`, `payment_intent.succeeded`): several events
    /// announce one payment, and `payment_intent` makes them post it once.
    Collected {
        checkout_id: String,
        payment_intent: String,
        /// How the customer paid, when the event says: a delayed-notification event is the
        /// currency's bank debit, a session paid at once a card; otherwise the checkout's own
        /// record decides.
        method: Option<PaymentMethod>,
        currency: Currency,
        amount_minor: i64,
        received: NaiveDate,
    },
    /// A bank debit submitted for one of our checkouts and not settled yet
    /// (`checkout.session.completed` with `payment_status: unpaid`, `payment_intent.processing`).
    Processing {
        checkout_id: String,
        payment_intent: String,
        method: PaymentMethod,
        submitted: NaiveDate,
    },
    /// Our checkout ended without money: failed (`payment_intent.payment_failed`,
    /// `checkout.session.async_payment_failed`) or expired (`checkout.session.expired`).
    Unpaid {
        checkout_id: String,
        status: CheckoutStatus,
        message: String,
        /// The provider's failure code (a bank debit's return code), when it gives one.
        code: Option<String>,
    },
    /// `charge.refunded`: the charge's running total refunded.
    Refunded {
        payment_intent: String,
        currency: Currency,
        cumulative_minor: i64,
        refunded_on: NaiveDate,
    },
    /// `charge.dispute.created`: the customer's bank pulled the money back (a card chargeback,
    /// or a bank debit returned after it succeeded).
    DisputeOpened {
        dispute_id: String,
        payment_intent: String,
        currency: Currency,
        amount_minor: i64,
        reason: String,
        opened: NaiveDate,
    },
    /// `charge.dispute.closed` as `won` or `lost`.
    DisputeDecided {
        dispute_id: String,
        payment_intent: String,
        currency: Currency,
        amount_minor: i64,
        reason: String,
        won: bool,
        decided: NaiveDate,
    },
    /// `payout.paid`: the provider paid its balance out to the company's bank account.
    PayoutPaid {
        payout_id: String,
        currency: Currency,
        amount_minor: i64,
        arrival: NaiveDate,
    },
    /// `payout.failed`: the bank refused a payout (possibly after `payout.paid`).
    PayoutFailed {
        payout_id: String,
        currency: Currency,
        amount_minor: i64,
        arrival: NaiveDate,
        failure: String,
        failed_on: NaiveDate,
    },
    /// `checkout.session.completed` for one of our setup sessions: the provider saved a
    /// payment method (`setup_intent` says which).
    MethodSaved {
        setup_id: String,
        setup_intent: String,
    },
    /// Recorded and left alone: other types, other systems' checkouts, a session completed but
    /// not paid yet (a delayed method announces its result later), a dispute closed without a
    /// decision (`warning_closed`: an inquiry that never became a chargeback).
    NoMoney,
}

#[derive(Deserialize)]
struct RawEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    created: i64,
    data: RawData,
}

#[derive(Deserialize)]
struct RawData {
    object: Value,
}

#[derive(Deserialize, Default)]
struct Ours {
    #[serde(default)]
    metadata: HashMap<String, Value>,
}

#[derive(Deserialize)]
struct SetupSession {
    setup_intent: String,
}

#[derive(Deserialize)]
struct SessionStatus {
    payment_status: Option<String>,
}

#[derive(Deserialize)]
struct PaidSession {
    payment_intent: String,
    amount_total: i64,
    currency: String,
}

#[derive(Deserialize)]
struct SubmittedSession {
    payment_intent: String,
    currency: String,
}

#[derive(Deserialize)]
struct SucceededIntent {
    id: String,
    amount_received: i64,
    currency: String,
    #[serde(default)]
    payment_method_types: Vec<String>,
}

#[derive(Deserialize)]
struct ProcessingIntent {
    id: String,
    currency: String,
    #[serde(default)]
    payment_method_types: Vec<String>,
}

#[derive(Deserialize, Default)]
struct FailedPayment {
    last_payment_error: Option<PaymentError>,
}

#[derive(Deserialize, Default)]
struct PaymentError {
    message: Option<String>,
    code: Option<String>,
}

#[derive(Deserialize)]
struct RefundedCharge {
    payment_intent: String,
    amount_refunded: i64,
    currency: String,
}

#[derive(Deserialize)]
struct Dispute {
    id: String,
    payment_intent: String,
    amount: i64,
    currency: String,
    #[serde(default)]
    reason: String,
}

#[derive(Deserialize)]
struct StripePayout {
    id: String,
    amount: i64,
    currency: String,
    /// When the money is expected at the bank (Unix seconds).
    arrival_date: i64,
    failure_code: Option<String>,
}

#[derive(Deserialize)]
struct DisputeStatus {
    status: Option<String>,
}

/// Parses a verified body. A missing or mistyped field the event needs is `Malformed` (400).
pub fn parse(body: &[u8]) -> Result<Envelope, WebhookError> {
    let raw: RawEvent =
        serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let object = &raw.data.object;
    // Only events that move money need a valid date.
    let day = || event_date(raw.created);
    let ours = fields::<Ours>(object).unwrap_or_default();
    let named = |key: &str| {
        ours.metadata
            .get(key)
            .and_then(|id| id.as_str().map(str::to_string))
    };
    let checkout_id = named(CHECKOUT_METADATA_KEY);
    if raw.kind == "checkout.session.completed"
        && let Some(setup_id) = named(SETUP_METADATA_KEY)
    {
        let session: SetupSession = fields(object)?;
        let saved = ProviderEvent::MethodSaved {
            setup_id,
            setup_intent: session.setup_intent,
        };
        return Ok(envelope(raw.id, raw.kind, raw.created, saved));
    }
    let event = match (raw.kind.as_str(), checkout_id) {
        ("charge.refunded", _) => {
            let charge: RefundedCharge = fields(object)?;
            ProviderEvent::Refunded {
                currency: currency(&charge.currency)?,
                payment_intent: charge.payment_intent,
                cumulative_minor: charge.amount_refunded,
                refunded_on: day()?,
            }
        }
        ("charge.dispute.created", _) => {
            let dispute: Dispute = fields(object)?;
            ProviderEvent::DisputeOpened {
                currency: currency(&dispute.currency)?,
                dispute_id: dispute.id,
                payment_intent: dispute.payment_intent,
                amount_minor: dispute.amount,
                reason: dispute.reason,
                opened: day()?,
            }
        }
        ("charge.dispute.closed", _) => {
            // A status of another shape is no decision, as an absent one.
            let status = fields::<DisputeStatus>(object).ok().and_then(|d| d.status);
            let won = match status.as_deref() {
                Some("won") => true,
                Some("lost") => false,
                _ => {
                    return Ok(envelope(
                        raw.id,
                        raw.kind,
                        raw.created,
                        ProviderEvent::NoMoney,
                    ));
                }
            };
            let dispute: Dispute = fields(object)?;
            ProviderEvent::DisputeDecided {
                currency: currency(&dispute.currency)?,
                dispute_id: dispute.id,
                payment_intent: dispute.payment_intent,
                amount_minor: dispute.amount,
                reason: dispute.reason,
                won,
                decided: day()?,
            }
        }
        ("payout.paid", _) => {
            let payout: StripePayout = fields(object)?;
            ProviderEvent::PayoutPaid {
                currency: currency(&payout.currency)?,
                arrival: event_date(payout.arrival_date)?,
                payout_id: payout.id,
                amount_minor: payout.amount,
            }
        }
        ("payout.failed", _) => {
            let payout: StripePayout = fields(object)?;
            ProviderEvent::PayoutFailed {
                currency: currency(&payout.currency)?,
                arrival: event_date(payout.arrival_date)?,
                failure: payout.failure_code.unwrap_or_else(|| "failed".into()),
                payout_id: payout.id,
                amount_minor: payout.amount,
                failed_on: day()?,
            }
        }
        // Only our own checkouts move money from here on.
        (_, None) => ProviderEvent::NoMoney,
        ("checkout.session.completed", Some(id))
            if fields::<SessionStatus>(object)
                .ok()
                .and_then(|s| s.payment_status)
                .as_deref()
                != Some("paid") =>
        {
            // Submitted but not paid: a delayed-notification method (a bank debit), or a
            // session without a payment yet (nothing to follow).
            match fields::<SubmittedSession>(object) {
                Ok(session) => {
                    let currency = currency(&session.currency)?;
                    match bank_debit_for(currency) {
                        Some(method) => ProviderEvent::Processing {
                            checkout_id: id,
                            payment_intent: session.payment_intent,
                            method,
                            submitted: day()?,
                        },
                        None => ProviderEvent::NoMoney,
                    }
                }
                Err(_) => ProviderEvent::NoMoney,
            }
        }
        ("checkout.session.completed" | "checkout.session.async_payment_succeeded", Some(id)) => {
            let session: PaidSession = fields(object)?;
            let currency = currency(&session.currency)?;
            ProviderEvent::Collected {
                checkout_id: id,
                method: if raw.kind == "checkout.session.completed" {
                    Some(PaymentMethod::Card)
                } else {
                    bank_debit_for(currency)
                },
                currency,
                payment_intent: session.payment_intent,
                amount_minor: session.amount_total,
                received: day()?,
            }
        }
        ("payment_intent.succeeded", Some(id)) => {
            let intent: SucceededIntent = fields(object)?;
            ProviderEvent::Collected {
                checkout_id: id,
                method: only_method(&intent.payment_method_types),
                currency: currency(&intent.currency)?,
                payment_intent: intent.id,
                amount_minor: intent.amount_received,
                received: day()?,
            }
        }
        ("payment_intent.processing", Some(id)) => {
            let intent: ProcessingIntent = fields(object)?;
            let currency = currency(&intent.currency)?;
            match only_method(&intent.payment_method_types).or(bank_debit_for(currency)) {
                Some(method) if method.is_bank_debit() => ProviderEvent::Processing {
                    checkout_id: id,
                    payment_intent: intent.id,
                    method,
                    submitted: day()?,
                },
                _ => ProviderEvent::NoMoney,
            }
        }
        ("payment_intent.payment_failed" | "checkout.session.async_payment_failed", Some(id)) => {
            let failed: FailedPayment = fields(object).unwrap_or_default();
            let error = failed.last_payment_error.unwrap_or_default();
            ProviderEvent::Unpaid {
                checkout_id: id,
                status: CheckoutStatus::Failed,
                code: error.code.clone(),
                message: match (error.message, error.code) {
                    (Some(message), _) => message,
                    (None, Some(code)) => {
                        format!(
                            "The payment failed: {}.",
                            ledgerport::chargebacks::return_reason(&code)
                        )
                    }
                    (None, None) => "The payment failed.".into(),
                },
            }
        }
        ("checkout.session.expired", Some(id)) => ProviderEvent::Unpaid {
            checkout_id: id,
            status: CheckoutStatus::Expired,
            message: "The payment page expired.".into(),
            code: None,
        },
        _ => ProviderEvent::NoMoney,
    };
    Ok(envelope(raw.id, raw.kind, raw.created, event))
}

/// The method an object names when it names exactly one (Stripe's `payment_method_types`).
fn only_method(types: &[String]) -> Option<PaymentMethod> {
    match types {
        [only] => match only.as_str() {
            "card" => Some(PaymentMethod::Card),
            "us_bank_account" => Some(PaymentMethod::Ach),
            "sepa_debit" => Some(PaymentMethod::SepaDebit),
            _ => None,
        },
        _ => None,
    }
}

fn envelope(id: String, kind: String, created: i64, event: ProviderEvent) -> Envelope {
    Envelope {
        id,
        kind,
        created,
        event,
    }
}

/// The fields `T` names, from Stripe's object (never from an array read by position).
fn fields<T: DeserializeOwned>(object: &Value) -> Result<T, WebhookError> {
    if !object.is_object() {
        return Err(WebhookError::Malformed(
            "data.object is not an object".into(),
        ));
    }
    T::deserialize(object).map_err(|e| WebhookError::Malformed(format!("data.object: {e}")))
}

fn currency(code: &str) -> Result<Currency, WebhookError> {
    code.to_uppercase()
        .parse()
        .map_err(|_| WebhookError::Malformed("unknown currency".into()))
}

fn event_date(created: i64) -> Result<NaiveDate, WebhookError> {
    Ok(chrono::DateTime::from_timestamp(created, 0)
        .ok_or_else(|| WebhookError::Malformed("created is not a valid time".into()))?
        .date_naive())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(kind: &str, object: Value) -> Vec<u8> {
        json!({"id": "evt_1", "type": kind, "created": 1_780_000_000, "data": {"object": object}})
            .to_string()
            .into_bytes()
    }

    fn day() -> NaiveDate {
        event_date(1_780_000_000).unwrap()
    }

    #[test]
    fn a_paid_session_and_its_payment_intent_both_read_as_the_same_collection() {
        let metadata = json!({ CHECKOUT_METADATA_KEY: "chk_1" });
        let session = parse(&event(
            "checkout.session.completed",
            json!({"metadata": metadata, "payment_status": "paid", "payment_intent": "pi_1",
                   "amount_total": 12_345, "currency": "usd"}),
        ))
        .unwrap();
        let intent = parse(&event(
            "payment_intent.succeeded",
            json!({"id": "pi_1", "metadata": metadata, "amount_received": 12_345, "currency": "usd"}),
        ))
        .unwrap();
        let collected = |method| ProviderEvent::Collected {
            checkout_id: "chk_1".into(),
            payment_intent: "pi_1".into(),
            method,
            currency: Currency::Usd,
            amount_minor: 12_345,
            received: day(),
        };
        assert_eq!(session.event, collected(Some(PaymentMethod::Card)));
        assert_eq!(intent.event, collected(None));
        assert_eq!(session.kind, "checkout.session.completed");
    }

    #[test]
    fn a_bank_debit_submitted_on_the_session_is_processing_until_its_own_event() {
        let metadata = json!({ CHECKOUT_METADATA_KEY: "chk_1" });
        let submitted = parse(&event(
            "checkout.session.completed",
            json!({"metadata": metadata, "payment_status": "unpaid", "payment_intent": "pi_1",
                   "amount_total": 500, "currency": "eur"}),
        ))
        .unwrap();
        assert_eq!(
            submitted.event,
            ProviderEvent::Processing {
                checkout_id: "chk_1".into(),
                payment_intent: "pi_1".into(),
                method: PaymentMethod::SepaDebit,
                submitted: day(),
            }
        );
        let settled = parse(&event(
            "checkout.session.async_payment_succeeded",
            json!({"metadata": metadata, "payment_status": "paid", "payment_intent": "pi_1",
                   "amount_total": 500, "currency": "usd"}),
        ))
        .unwrap();
        assert!(matches!(
            settled.event,
            ProviderEvent::Collected {
                method: Some(PaymentMethod::Ach),
                ..
            }
        ));
        let intent = parse(&event(
            "payment_intent.processing",
            json!({"id": "pi_2", "metadata": metadata, "currency": "usd",
                   "payment_method_types": ["us_bank_account"]}),
        ))
        .unwrap();
        assert!(matches!(
            intent.event,
            ProviderEvent::Processing {
                method: PaymentMethod::Ach,
                ..
            }
        ));
    }

    #[test]
    fn a_session_not_paid_yet_or_not_ours_moves_no_money() {
        let unpaid = json!({"metadata": { CHECKOUT_METADATA_KEY: "chk_1" },
                            "payment_status": "unpaid", "payment_intent": null});
        let foreign = json!({"metadata": {}, "payment_status": "paid"});
        for object in [unpaid, foreign] {
            let parsed = parse(&event("checkout.session.completed", object)).unwrap();
            assert_eq!(parsed.event, ProviderEvent::NoMoney);
        }
    }

    #[test]
    fn a_dispute_closed_without_a_decision_moves_no_money_and_a_lost_one_is_decided() {
        let closed = |status: &str| {
            parse(&event(
                "charge.dispute.closed",
                json!({"id": "dp_1", "payment_intent": "pi_1", "amount": 500,
                       "currency": "eur", "status": status}),
            ))
            .unwrap()
            .event
        };
        assert_eq!(closed("warning_closed"), ProviderEvent::NoMoney);
        assert!(matches!(
            closed("lost"),
            ProviderEvent::DisputeDecided {
                won: false,
                currency: Currency::Eur,
                ..
            }
        ));
    }

    #[test]
    fn an_event_missing_what_it_needs_is_malformed_and_names_the_field() {
        let refund = parse(&event(
            "charge.refunded",
            json!({"payment_intent": "pi_1", "currency": "usd"}),
        ));
        assert!(
            matches!(&refund, Err(WebhookError::Malformed(m)) if m.contains("amount_refunded")),
            "{refund:?}"
        );
        assert!(matches!(
            parse(b"{\"id\": \"evt_1\"}"),
            Err(WebhookError::Malformed(_))
        ));
    }

    #[test]
    fn an_event_that_moves_no_money_is_recorded_whatever_else_it_carries() {
        let odd_time = json!({"id": "evt_2", "type": "customer.updated", "created": i64::MAX,
                              "data": {"object": {}}});
        let parsed = parse(odd_time.to_string().as_bytes()).unwrap();
        assert_eq!(parsed.event, ProviderEvent::NoMoney);
        let odd_status = parse(&event(
            "charge.dispute.closed",
            json!({"id": "dp_1", "status": 7}),
        ))
        .unwrap();
        assert_eq!(odd_status.event, ProviderEvent::NoMoney);
        let not_an_object = parse(&event(
            "checkout.session.expired",
            json!([{ CHECKOUT_METADATA_KEY: "chk_1" }]),
        ))
        .unwrap();
        assert_eq!(not_an_object.event, ProviderEvent::NoMoney);
    }

    #[test]
    fn a_failure_without_a_message_gets_a_plain_one() {
        let failed = parse(&event(
            "payment_intent.payment_failed",
            json!({"metadata": { CHECKOUT_METADATA_KEY: "chk_1" }}),
        ))
        .unwrap();
        assert_eq!(
            failed.event,
            ProviderEvent::Unpaid {
                checkout_id: "chk_1".into(),
                status: CheckoutStatus::Failed,
                message: "The payment failed.".into(),
                code: None,
            }
        );
    }

    #[test]
    fn a_completed_setup_session_names_our_setup_and_the_setup_intent() {
        let completed = parse(&event(
            "checkout.session.completed",
            json!({"mode": "setup", "setup_intent": "seti_1",
                   "metadata": { SETUP_METADATA_KEY: "ps_1" }}),
        ))
        .unwrap();
        assert_eq!(
            completed.event,
            ProviderEvent::MethodSaved {
                setup_id: "ps_1".into(),
                setup_intent: "seti_1".into()
            }
        );
    }

    #[test]
    fn a_payout_paid_and_failed_read_with_its_arrival_date_and_failure_code() {
        let payout = json!({"id": "po_1", "object": "payout", "amount": 97_070, "currency": "eur",
                            "arrival_date": 1_780_086_400, "status": "paid"});
        let paid = parse(&event("payout.paid", payout.clone())).unwrap();
        let arrival = event_date(1_780_086_400).unwrap();
        assert_eq!(
            paid.event,
            ProviderEvent::PayoutPaid {
                payout_id: "po_1".into(),
                currency: Currency::Eur,
                amount_minor: 97_070,
                arrival,
            }
        );
        let mut refused = payout;
        refused["failure_code"] = json!("account_closed");
        let failed = parse(&event("payout.failed", refused)).unwrap();
        assert_eq!(
            failed.event,
            ProviderEvent::PayoutFailed {
                payout_id: "po_1".into(),
                currency: Currency::Eur,
                amount_minor: 97_070,
                arrival,
                failure: "account_closed".into(),
                failed_on: day(),
            }
        );
        assert!(matches!(
            parse(&event("payout.paid", json!({"id": "po_2"}))),
            Err(WebhookError::Malformed(_))
        ));
    }
}
