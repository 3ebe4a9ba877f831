//! The collections worklist: every account with something to chase, worst first, each with the
//! next thing a clerk should do, the last contact, notes, and the clerk who chases it. One rule
//! ranks the accounts ([`tier`] of the next action, then age, then amount) and one rule names the next
//! action ([`next_action`]); the store's SQL orders by the same tier, checked in its tests.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::money::Currency;

#[cfg(feature = "ssr")]
pub mod store;

/// Accounts per worklist page.
pub const PAGE_SIZE: i64 = 50;
/// The longest collection note.
pub const NOTE_MAX_CHARS: usize = 2000;
/// Overdue longer than this, an account is escalated rather than followed up.
pub const ESCALATE_AFTER_DAYS: i64 = 60;
/// A failed or returned bank payment, or a failed autopay charge, counts on the worklist for
/// this long.
pub const FAILED_PAYMENT_DAYS: i64 = 30;

/// What the clerk should do next on an account, worst first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum NextAction {
    /// A promise to pay broke in the last 30 days and something overdue is not promised.
    CallAboutBrokenPromise { pay_by: NaiveDate },
    /// A payment plan broke (an instalment was missed) in the last 30 days.
    CallAboutBrokenPlan { broke_on: NaiveDate },
    /// A bank payment failed or was returned, or an autopay charge failed, recently, and the
    /// money is overdue.
    CallAboutFailedPayment,
    /// Overdue longer than [`ESCALATE_AFTER_DAYS`].
    Escalate { days_overdue: i64 },
    /// Overdue, reminders going out.
    FollowUp { days_overdue: i64 },
    /// An open promise covers the account until its day.
    AwaitPromise { pay_by: NaiveDate },
    /// What is overdue is on an active payment plan, whose instalments are on time.
    AwaitPlan,
    /// Nothing is overdue but disputes hold money: the dispute queue, not collections.
    ResolveDisputes,
}

impl NextAction {
    pub fn label(&self) -> String {
        match self {
            NextAction::CallAboutBrokenPromise { pay_by } => {
                format!("Call: the promise to pay by {pay_by} was broken")
            }
            NextAction::CallAboutBrokenPlan { broke_on } => {
                format!("Call: the payment plan broke on {broke_on} (an instalment was missed)")
            }
            NextAction::CallAboutFailedPayment => "Call: a payment failed or came back".into(),
            NextAction::Escalate { days_overdue } => {
                format!("Escalate: {days_overdue} days overdue")
            }
            NextAction::FollowUp { days_overdue } => {
                format!("Follow up: {days_overdue} days overdue")
            }
            NextAction::AwaitPromise { pay_by } => format!("Wait: promised by {pay_by}"),
            NextAction::AwaitPlan => "Wait: on a payment plan".into(),
            NextAction::ResolveDisputes => "Resolve the disputes".into(),
        }
    }
}

/// What the worklist knows about one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorklistRow {
    pub customer_id: i64,
    pub number: String,
    pub name: String,
    pub currency: Currency,
    pub facts: AccountFacts,
    pub collector: Option<(i64, String)>,
    pub last_contact: Option<Contact>,
    pub next_action: NextAction,
}

/// The latest contact with an account: a note staff wrote or a reminder sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// The day (YYYY-MM-DD) or time (RFC 3339) it happened.
    pub at: String,
    pub what: String,
}

/// What the ranking and [`next_action`] read about an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountFacts {
    /// What is due now on invoices past their due date (disputed and in-flight amounts left out).
    pub overdue_minor: i64,
    /// The part of it no open promise to pay and no active payment plan covers.
    pub unpromised_minor: i64,
    /// The part of it an active payment plan covers.
    pub on_plan_minor: i64,
    /// The due date of the oldest overdue invoice no open promise or plan covers.
    pub oldest_unpromised: Option<NaiveDate>,
    /// What disputes hold: apart from what is overdue.
    pub in_dispute_minor: i64,
    /// The earliest day of the open promises that cover its overdue invoices.
    pub promised_by: Option<NaiveDate>,
    /// The latest day of the account's promises broken in the last
    /// [`crate::promises::BROKEN_PROMISE_DAYS`] days.
    pub broken_promise: Option<NaiveDate>,
    /// The day the account's latest payment plan broke, if that was in the last
    /// [`crate::promises::BROKEN_PROMISE_DAYS`] days.
    pub broken_plan: Option<NaiveDate>,
    /// Bank payments that failed or came back, and autopay charges that failed, in the last
    /// [`FAILED_PAYMENT_DAYS`] days.
    pub failed_payments: i64,
}

/// The next action on an account on `today`: `None` when there is nothing to chase.
pub fn next_action(facts: &AccountFacts, today: NaiveDate) -> Option<NextAction> {
    if facts.unpromised_minor > 0 {
        let days_overdue = facts
            .oldest_unpromised
            .map(|due| (today - due).num_days())
            .unwrap_or(0);
        return Some(if let Some(pay_by) = facts.broken_promise {
            NextAction::CallAboutBrokenPromise { pay_by }
        } else if let Some(broke_on) = facts.broken_plan {
            NextAction::CallAboutBrokenPlan { broke_on }
        } else if facts.failed_payments > 0 {
            NextAction::CallAboutFailedPayment
        } else if days_overdue > ESCALATE_AFTER_DAYS {
            NextAction::Escalate { days_overdue }
        } else {
            NextAction::FollowUp { days_overdue }
        });
    }
    match facts.promised_by {
        Some(pay_by) if facts.overdue_minor > 0 => Some(NextAction::AwaitPromise { pay_by }),
        None if facts.on_plan_minor > 0 => Some(NextAction::AwaitPlan),
        _ if facts.in_dispute_minor > 0 => Some(NextAction::ResolveDisputes),
        _ => None,
    }
}

/// The worklist's order: lower tiers first, then the oldest overdue, then the largest amount.
/// Written once more as SQL in the store (`TIER_SQL`), which pages by it; a test holds the two equal.
pub fn tier(action: &NextAction) -> i64 {
    match action {
        NextAction::CallAboutBrokenPromise { .. } | NextAction::CallAboutBrokenPlan { .. } => 0,
        NextAction::CallAboutFailedPayment => 1,
        NextAction::Escalate { .. } => 2,
        NextAction::FollowUp { .. } => 3,
        NextAction::AwaitPromise { .. } | NextAction::AwaitPlan => 4,
        NextAction::ResolveDisputes => 5,
    }
}

/// Whose accounts the worklist shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CollectorFilter {
    Everyone,
    Unassigned,
    User(i64),
}

/// One page of the worklist, with how many accounts it has in all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Worklist {
    pub rows: Vec<WorklistRow>,
    pub total: i64,
    pub page: i64,
    /// Staff who can be assigned: id and name.
    pub staff: Vec<(i64, String)>,
    /// Notes on the accounts of this page, newest first: customer id, when, who, what.
    pub notes: Vec<CollectionNote>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct CollectionNote {
    pub customer_id: i64,
    pub at: String,
    pub author: String,
    pub body: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    const TODAY: &str = "2026-12-05";

    fn overdue_since(due: &str) -> AccountFacts {
        AccountFacts {
            overdue_minor: 10_000,
            unpromised_minor: 10_000,
            on_plan_minor: 0,
            oldest_unpromised: Some(d(due)),
            in_dispute_minor: 0,
            promised_by: None,
            broken_promise: None,
            broken_plan: None,
            failed_payments: 0,
        }
    }

    #[test]
    fn an_account_whose_overdue_money_is_on_a_plan_waits_until_the_plan_breaks() {
        let mut facts = overdue_since("2026-09-01");
        facts.unpromised_minor = 0;
        facts.oldest_unpromised = None;
        facts.on_plan_minor = 10_000;
        let waiting = next_action(&facts, d(TODAY)).unwrap();
        assert_eq!(
            (waiting.clone(), tier(&waiting)),
            (NextAction::AwaitPlan, 4)
        );
        let mut broken = overdue_since("2026-09-01");
        broken.broken_plan = Some(d("2026-12-01"));
        let call = next_action(&broken, d(TODAY)).unwrap();
        assert_eq!(
            (call.clone(), tier(&call)),
            (
                NextAction::CallAboutBrokenPlan {
                    broke_on: d("2026-12-01")
                },
                0
            )
        );
    }

    #[test]
    fn a_promise_covering_only_part_of_what_is_overdue_does_not_stop_the_chase() {
        let mut facts = overdue_since("2026-11-01");
        facts.promised_by = Some(d("2026-12-10"));
        facts.overdue_minor = 25_000;
        assert_eq!(
            next_action(&facts, d(TODAY)),
            Some(NextAction::FollowUp { days_overdue: 34 })
        );
    }

    #[test]
    fn an_open_promise_waits_and_a_broken_one_comes_first() {
        let today = d(TODAY);
        let mut facts = overdue_since("2026-08-01");
        facts.broken_promise = Some(d("2026-11-30"));
        let broken = next_action(&facts, today).unwrap();
        assert_eq!(
            broken.label(),
            "Call: the promise to pay by 2026-11-30 was broken"
        );
        // A new promise covers everything overdue: the clerk waits for it.
        facts.promised_by = Some(d("2026-12-10"));
        facts.unpromised_minor = 0;
        facts.oldest_unpromised = None;
        let waiting = next_action(&facts, today).unwrap();
        assert_eq!(
            waiting,
            NextAction::AwaitPromise {
                pay_by: d("2026-12-10")
            }
        );
        assert!(tier(&broken) < tier(&NextAction::Escalate { days_overdue: 400 }));
        assert!(tier(&waiting) > tier(&NextAction::FollowUp { days_overdue: 1 }));
    }

    #[test]
    fn age_decides_between_following_up_and_escalating() {
        let today = d(TODAY);
        assert_eq!(
            next_action(&overdue_since("2026-10-06"), today),
            Some(NextAction::FollowUp { days_overdue: 60 })
        );
        assert_eq!(
            next_action(&overdue_since("2026-10-05"), today),
            Some(NextAction::Escalate { days_overdue: 61 })
        );
        let mut failed = overdue_since("2026-12-01");
        failed.failed_payments = 1;
        assert_eq!(
            next_action(&failed, today),
            Some(NextAction::CallAboutFailedPayment)
        );
    }

    #[test]
    fn disputes_alone_go_to_the_dispute_queue_and_nothing_due_is_not_listed() {
        let today = d(TODAY);
        let mut facts = overdue_since("2026-11-01");
        facts.overdue_minor = 0;
        facts.unpromised_minor = 0;
        facts.oldest_unpromised = None;
        assert_eq!(next_action(&facts, today), None);
        facts.in_dispute_minor = 5_000;
        assert_eq!(
            next_action(&facts, today),
            Some(NextAction::ResolveDisputes)
        );
        // A broken promise whose money came in since is nothing to chase.
        facts.in_dispute_minor = 0;
        facts.broken_promise = Some(d("2026-11-20"));
        assert_eq!(next_action(&facts, today), None);
    }
}
