//! Autopay: a payer lets the portal charge a saved method for invoices as they fall due (on the
//! due date, or on the last day of the early-payment discount so the discount is taken), up to
//! an optional cap per charge. A failed charge is retried on a schedule, a hard decline or a
//! charge the bank wants the customer to confirm is not; then the payer and AR are told and
//! autopay waits until the payer sets it again.
//!
//! The rules here are pure: which day an invoice is charged ([`charge_day`]), which declines are
//! final ([`is_hard_decline`]) and what the job does next for an account ([`next_step`]).

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::locale::{Explain, Locale};
use crate::payments::PaymentMethod;

#[cfg(feature = "ssr")]
pub mod store;

/// Days after the first failed charge of a series on which it is tried again; after the last,
/// autopay waits for the payer.
pub const RETRY_AFTER_DAYS: [u64; 3] = [1, 3, 5];

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum ChargeOn {
        /// On the invoice's due date.
        DueDate = "due_date",
        /// On the last day of its early-payment discount (the due date when it has none).
        DiscountDay = "discount_day",
    }
}

impl ChargeOn {
    pub fn label(self) -> &'static str {
        self.label_in(Locale::En)
    }

    pub fn label_in(self, locale: Locale) -> &'static str {
        let (en, de) = match self {
            ChargeOn::DueDate => ("On the due date", "Am Fälligkeitstag"),
            ChargeOn::DiscountDay => (
                "On the last day of the early-payment discount",
                "Am letzten Tag der Skontofrist",
            ),
        };
        locale.pick(en, de)
    }

    /// The label inside a sentence: "charges on the due date".
    pub fn phrase_in(self, locale: Locale) -> String {
        let label = self.label_in(locale);
        let mut chars = label.chars();
        chars
            .next()
            .map(|first| first.to_lowercase().chain(chars).collect())
            .unwrap_or_default()
    }
}

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum AutopayStatus {
        On = "on",
        /// Stopped after failed charges or a charge only the customer can finish.
        Waiting = "waiting",
        Off = "off",
    }
}

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum ChargeResult {
        /// Recorded, the provider not answered yet.
        Sent = "sent",
        Succeeded = "succeeded",
        /// A bank debit submitted: its checkout settles or fails it.
        Processing = "processing",
        Declined = "declined",
        /// The bank wants the customer to confirm it; they were sent a link to pay.
        NeedsCustomer = "needs_customer",
        /// No answer from the provider: sent again under the same key, its event decides.
        Unknown = "unknown",
        /// Accepted first, then failed or came back (a bank debit), or never answered.
        Failed = "failed",
    }
}

impl ChargeResult {
    pub fn label_in(self, locale: Locale) -> &'static str {
        let (en, de) = match self {
            ChargeResult::Sent => ("Sent", "Gesendet"),
            ChargeResult::Succeeded => ("Paid", "Bezahlt"),
            ChargeResult::Processing => ("Bank debit processing", "Lastschrift in Bearbeitung"),
            ChargeResult::Declined => ("Declined", "Abgelehnt"),
            ChargeResult::NeedsCustomer => {
                ("Needs your confirmation", "Ihre Bestätigung ist nötig")
            }
            ChargeResult::Unknown => (
                "Waiting for the provider",
                "Warten auf den Zahlungsdienstleister",
            ),
            ChargeResult::Failed => ("Failed", "Fehlgeschlagen"),
        };
        locale.pick(en, de)
    }
}

/// The day autopay charges an invoice: its due date, or with [`ChargeOn::DiscountDay`] the last
/// day of its early-payment discount while that day has not passed (once it has, the discount is
/// gone and the invoice waits for its due date).
pub fn charge_day(
    due_date: NaiveDate,
    discount_until: Option<NaiveDate>,
    charge_on: ChargeOn,
    today: NaiveDate,
) -> NaiveDate {
    match (charge_on, discount_until) {
        (ChargeOn::DiscountDay, Some(until)) if today <= until => until.min(due_date),
        _ => due_date,
    }
}

/// At most this many retries of a bank debit that came back for insufficient funds (NACHA
/// allows two); any other failed debit is not retried.
pub const BANK_DEBIT_RETRIES: usize = 2;

/// Declines no retry can fix (Stripe's decline codes): the card is gone, blocked or refused for
/// good, or the bank account is closed or not authorised. Anything else (insufficient funds, a
/// generic decline, the issuer unavailable) is worth another try later.
pub fn is_hard_decline(code: &str) -> bool {
    matches!(
        code,
        "expired_card"
            | "lost_card"
            | "stolen_card"
            | "pickup_card"
            | "restricted_card"
            | "incorrect_number"
            | "invalid_account"
            | "card_not_supported"
            | "currency_not_supported"
            | "do_not_honor"
            | "do_not_try_again"
            | "fraudulent"
            | "revocation_of_authorization"
            | "revocation_of_all_authorizations"
            | "stop_payment_order"
            | "transaction_not_allowed"
            | "account_closed"
            | "no_account"
            | "debit_not_authorized"
            | "bank_account_restricted"
    )
}

/// One earlier charge of the current series, as the job sees it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastCharge {
    pub attempt: u32,
    pub charged_on: NaiveDate,
    /// A bank debit (ACH, SEPA): retried less, and only for insufficient funds.
    pub bank_debit: bool,
    pub state: PastChargeState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PastChargeState {
    /// The money arrived: the series starts over.
    Paid,
    /// Its checkout is still open or processing.
    InFlight,
    /// Declined or failed, with the provider's code (empty when not known).
    Failed { code: String },
    /// Only the customer can finish it.
    NeedsCustomer,
}

/// What the job does for an account today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextStep {
    /// Charge what is due, as this attempt of the series.
    Charge { attempt: u32 },
    /// Nothing today: a charge is on its way, or the next retry is on this day.
    Wait { until: Option<NaiveDate> },
    /// Stop and tell the payer and AR why.
    GiveUp { reason: String },
}

/// The next step after `charges` (oldest first, since autopay was last set). Only the current
/// run of failures counts: the failures since the last success, and of those the ones since the
/// first failure that is not older than the retry schedule (a failure weeks ago, on an invoice
/// since paid by hand, does not shorten this month's retries).
pub fn next_step(charges: &[PastCharge], today: NaiveDate) -> NextStep {
    if charges.iter().any(|c| c.state == PastChargeState::InFlight) {
        return NextStep::Wait { until: None };
    }
    let since_success: Vec<&PastCharge> = charges
        .iter()
        .rev()
        .take_while(|c| c.state != PastChargeState::Paid)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let window = RETRY_AFTER_DAYS[RETRY_AFTER_DAYS.len() - 1];
    let mut failures: Vec<&PastCharge> = Vec::new();
    for charge in since_success {
        if failures
            .first()
            .is_some_and(|first| charge.charged_on > first.charged_on + Days::new(window))
        {
            failures.clear();
        }
        failures.push(charge);
    }
    let (Some(first), Some(last)) = (failures.first(), failures.last()) else {
        return NextStep::Charge { attempt: 1 };
    };
    match &last.state {
        PastChargeState::NeedsCustomer => {
            return NextStep::GiveUp {
                reason: "the bank asked you to confirm the last charge".into(),
            };
        }
        PastChargeState::Failed { code } if is_hard_decline(code) => {
            return NextStep::GiveUp {
                reason: format!(
                    "the last charge was declined for good ({})",
                    code.replace('_', " ")
                ),
            };
        }
        PastChargeState::Failed { code } if last.bank_debit && code != "insufficient_funds" => {
            return NextStep::GiveUp {
                reason: "the bank debit came back, and a returned debit is not tried again".into(),
            };
        }
        _ => {}
    }
    let retries = if last.bank_debit {
        BANK_DEBIT_RETRIES
    } else {
        RETRY_AFTER_DAYS.len()
    };
    let Some(after) = RETRY_AFTER_DAYS[..retries].get(failures.len() - 1) else {
        return NextStep::GiveUp {
            reason: format!("{} charges in a row were declined", failures.len()),
        };
    };
    let retry_on = first.charged_on + Days::new(*after);
    if today >= retry_on {
        NextStep::Charge {
            attempt: last.attempt + 1,
        }
    } else {
        NextStep::Wait {
            until: Some(retry_on),
        }
    }
}

/// Autopay as the payer sets it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutopayDraft {
    pub method_id: i64,
    pub charge_on: String,
    /// Blank: no cap.
    pub cap: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutopayError {
    UnknownMethod,
    ChargeOn,
    Cap(String),
    NotOn,
}

impl Explain for AutopayError {
    fn explain(&self, locale: Locale) -> String {
        let text = match self {
            AutopayError::UnknownMethod => locale.pick(
                "choose one of your saved payment methods",
                "wählen Sie eine Ihrer gespeicherten Zahlungsarten",
            ),
            AutopayError::ChargeOn => locale.pick(
                "choose when autopay charges: on the due date or on the last discount day",
                "wählen Sie, wann die automatische Zahlung abbucht: am Fälligkeitstag oder am letzten Tag der Skontofrist",
            ),
            AutopayError::Cap(typed) => {
                return locale.pick(
                    format!("the cap {typed:?} is not a positive amount"),
                    format!("die Obergrenze {typed:?} ist kein positiver Betrag"),
                );
            }
            AutopayError::NotOn => locale.pick(
                "autopay is not on",
                "die automatische Zahlung ist nicht eingeschaltet",
            ),
        };
        text.into()
    }
}

crate::explained_error!(AutopayError);

/// Autopay's settings parsed: a known method is checked by the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutopayChoice {
    pub method_id: i64,
    pub charge_on: ChargeOn,
    pub cap_minor: Option<i64>,
}

impl AutopayDraft {
    pub fn parse(&self, currency: crate::money::Currency) -> Result<AutopayChoice, AutopayError> {
        let charge_on = ChargeOn::parse(self.charge_on.trim()).ok_or(AutopayError::ChargeOn)?;
        let cap = self.cap.trim();
        let cap_minor = if cap.is_empty() {
            None
        } else {
            let amount = crate::money::Money::parse(cap, currency)
                .map_err(|_| AutopayError::Cap(cap.to_string()))?;
            let minor = amount.to_minor();
            if minor <= 0 {
                return Err(AutopayError::Cap(cap.to_string()));
            }
            Some(minor)
        };
        Ok(AutopayChoice {
            method_id: self.method_id,
            charge_on,
            cap_minor,
        })
    }
}

/// What one run of the job did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutopayRun {
    /// Charges sent to the provider.
    pub charged: usize,
    pub declined: usize,
    pub needs_customer: usize,
    /// Accounts where autopay stopped and waits for the payer.
    pub stopped: usize,
    /// Accounts the run could not handle, and why (the others are charged all the same).
    pub problems: Vec<String>,
}

/// One charge autopay made, as the payer sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutopayCharge {
    pub checkout_id: String,
    pub charged_on: NaiveDate,
    pub attempt: u32,
    pub amount_minor: i64,
    pub result: ChargeResult,
    pub message: String,
}

/// The account's autopay as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutopaySettings {
    pub status: AutopayStatus,
    pub method_id: i64,
    pub method: String,
    pub method_kind: PaymentMethod,
    pub charge_on: ChargeOn,
    pub cap_minor: Option<i64>,
    pub waiting_reason: String,
    pub set_by: String,
    pub since: String,
    /// The latest charges, newest first.
    pub charges: Vec<AutopayCharge>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    fn failed(attempt: u32, on: u32, code: &str) -> PastCharge {
        PastCharge {
            attempt,
            charged_on: day(on),
            bank_debit: false,
            state: PastChargeState::Failed { code: code.into() },
        }
    }

    fn debit_failed(attempt: u32, on: u32, code: &str) -> PastCharge {
        PastCharge {
            bank_debit: true,
            ..failed(attempt, on, code)
        }
    }

    #[test]
    fn an_invoice_is_charged_on_its_due_date_or_on_the_last_discount_day_when_asked() {
        let today = day(1);
        let on = |until, charge_on, today| charge_day(day(31), until, charge_on, today);
        assert_eq!(on(Some(day(10)), ChargeOn::DueDate, today), day(31));
        assert_eq!(on(Some(day(10)), ChargeOn::DiscountDay, today), day(10));
        assert_eq!(on(None, ChargeOn::DiscountDay, today), day(31));
        // Once the discount day has passed (autopay set late), the due date again.
        assert_eq!(on(Some(day(10)), ChargeOn::DiscountDay, day(11)), day(31));
    }

    #[test]
    fn a_fresh_series_charges_and_a_charge_on_its_way_makes_the_job_wait() {
        assert_eq!(next_step(&[], day(1)), NextStep::Charge { attempt: 1 });
        let in_flight = PastCharge {
            attempt: 1,
            charged_on: day(1),
            bank_debit: false,
            state: PastChargeState::InFlight,
        };
        assert_eq!(
            next_step(&[in_flight], day(9)),
            NextStep::Wait { until: None }
        );
    }

    #[test]
    fn a_soft_decline_is_retried_after_one_three_and_five_days_then_autopay_gives_up() {
        let first = failed(1, 1, "insufficient_funds");
        assert_eq!(
            next_step(std::slice::from_ref(&first), day(1)),
            NextStep::Wait {
                until: Some(day(2))
            }
        );
        assert_eq!(
            next_step(std::slice::from_ref(&first), day(2)),
            NextStep::Charge { attempt: 2 }
        );
        let two = [first.clone(), failed(2, 2, "generic_decline")];
        assert_eq!(
            next_step(&two, day(3)),
            NextStep::Wait {
                until: Some(day(4))
            }
        );
        let three = [two[0].clone(), two[1].clone(), failed(3, 4, "")];
        assert_eq!(next_step(&three, day(6)), NextStep::Charge { attempt: 4 });
        let four = [
            three[0].clone(),
            three[1].clone(),
            three[2].clone(),
            failed(4, 6, "insufficient_funds"),
        ];
        assert!(matches!(next_step(&four, day(30)), NextStep::GiveUp { .. }));
    }

    #[test]
    fn a_hard_decline_or_a_charge_needing_the_customer_gives_up_at_once() {
        assert!(matches!(
            next_step(&[failed(1, 1, "expired_card")], day(9)),
            NextStep::GiveUp { .. }
        ));
        let confirm = PastCharge {
            attempt: 1,
            charged_on: day(1),
            bank_debit: false,
            state: PastChargeState::NeedsCustomer,
        };
        assert!(matches!(
            next_step(&[confirm], day(9)),
            NextStep::GiveUp { .. }
        ));
    }

    #[test]
    fn a_success_starts_the_series_over() {
        let paid = PastCharge {
            attempt: 2,
            charged_on: day(2),
            bank_debit: false,
            state: PastChargeState::Paid,
        };
        let charges = [failed(1, 1, "insufficient_funds"), paid];
        assert_eq!(
            next_step(&charges, day(20)),
            NextStep::Charge { attempt: 1 }
        );
    }

    #[test]
    fn a_failure_older_than_the_retry_schedule_starts_no_run_of_failures() {
        // Failed on the 1st (the invoice was then paid by hand); this month's charge fails on the 20th.
        let charges = [
            failed(1, 1, "insufficient_funds"),
            failed(2, 20, "insufficient_funds"),
        ];
        assert_eq!(
            next_step(&charges, day(20)),
            NextStep::Wait {
                until: Some(day(21))
            }
        );
    }

    #[test]
    fn a_returned_bank_debit_is_retried_twice_for_insufficient_funds_and_never_otherwise() {
        assert!(matches!(
            next_step(&[debit_failed(1, 1, "debit_not_authorized")], day(9)),
            NextStep::GiveUp { .. }
        ));
        assert!(matches!(
            next_step(&[debit_failed(1, 1, "")], day(9)),
            NextStep::GiveUp { .. }
        ));
        let once = [debit_failed(1, 1, "insufficient_funds")];
        assert_eq!(next_step(&once, day(2)), NextStep::Charge { attempt: 2 });
        let twice = [once[0].clone(), debit_failed(2, 2, "insufficient_funds")];
        assert_eq!(next_step(&twice, day(4)), NextStep::Charge { attempt: 3 });
        let thrice = [
            twice[0].clone(),
            twice[1].clone(),
            debit_failed(3, 4, "insufficient_funds"),
        ];
        assert!(matches!(
            next_step(&thrice, day(9)),
            NextStep::GiveUp { .. }
        ));
    }

    #[test]
    fn a_cap_must_be_a_positive_amount_and_the_day_one_of_the_two_choices() {
        let draft = |charge_on: &str, cap: &str| AutopayDraft {
            method_id: 1,
            charge_on: charge_on.into(),
            cap: cap.into(),
        };
        let currency = crate::money::Currency::Usd;
        assert_eq!(
            draft("due_date", "").parse(currency),
            Ok(AutopayChoice {
                method_id: 1,
                charge_on: ChargeOn::DueDate,
                cap_minor: None
            })
        );
        assert_eq!(
            draft("discount_day", "1,500.00")
                .parse(currency)
                .map(|c| c.cap_minor),
            Ok(Some(150_000))
        );
        assert_eq!(
            draft("someday", "").parse(currency),
            Err(AutopayError::ChargeOn)
        );
        assert!(matches!(
            draft("due_date", "-5").parse(currency),
            Err(AutopayError::Cap(_))
        ));
        assert!(matches!(
            draft("due_date", "abc").parse(currency),
            Err(AutopayError::Cap(_))
        ));
    }
}
