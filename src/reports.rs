//! Read models: account summary, statement, aging, DSO and CEI, trial balance, ledger health.
//! Every figure is derived from journal lines, "as of" a date, so it can be reproduced later.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::locale::Locale;
use crate::money::Currency;

#[cfg(feature = "ssr")]
pub mod store;

/// Aging buckets by days past the due date, in minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Aging {
    pub current: i64,
    pub days_1_30: i64,
    pub days_31_60: i64,
    pub days_61_90: i64,
    pub days_over_90: i64,
    /// Held by active disputes: out of the buckets (and of what is due) until resolved.
    pub in_dispute: i64,
}

impl Aging {
    pub const LABELS: [&'static str; 5] = ["Current", "1–30", "31–60", "61–90", "90+"];

    /// The buckets' headings in a language (days past due).
    pub fn labels(locale: Locale) -> [&'static str; 5] {
        locale.pick(
            Aging::LABELS,
            ["Aktuell", "1–30", "31–60", "61–90", "über 90"],
        )
    }

    /// Everything open, disputed amounts included.
    pub fn total(&self) -> i64 {
        self.current + self.past_due() + self.in_dispute
    }

    /// What is due now: everything open except what disputes hold.
    pub fn due_now(&self) -> i64 {
        self.current + self.past_due()
    }

    pub fn past_due(&self) -> i64 {
        self.days_1_30 + self.days_31_60 + self.days_61_90 + self.days_over_90
    }

    pub fn buckets(&self) -> [i64; 5] {
        [
            self.current,
            self.days_1_30,
            self.days_31_60,
            self.days_61_90,
            self.days_over_90,
        ]
    }

    pub fn add(&mut self, bucket: usize, amount_minor: i64) {
        match bucket {
            0 => self.current += amount_minor,
            1 => self.days_1_30 += amount_minor,
            2 => self.days_31_60 += amount_minor,
            3 => self.days_61_90 += amount_minor,
            _ => self.days_over_90 += amount_minor,
        }
    }
}

/// A page of the aging report: the book's totals per currency, and 50 customers from `after`.
/// When nothing is posted after `as_of` (today, usually) they are ranked largest balance first
/// (`next` is the page's last balance and customer id); otherwise (a past date) newest account
/// first (`next` is -1 and the last customer id): ranking by a past balance would read every
/// account's journal to show fifty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgingReport {
    pub as_of: NaiveDate,
    pub totals: Vec<(Currency, Aging)>,
    pub customers: Vec<CustomerAging>,
    pub ranked_by_balance: bool,
    pub next: Option<(i64, i64)>,
}

impl AgingReport {
    pub const PAGE_ROWS: usize = 50;
}

/// One customer's line of the aging report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerAging {
    pub customer_id: i64,
    pub number: String,
    pub name: String,
    pub currency: Currency,
    pub aging: Aging,
}

/// The earliest due date that still falls in each past-due bucket, as of `as_of`: an invoice due
/// on or after `limits[0]` is current, on or after `limits[1]` is 1–30 days late, and so on.
pub fn bucket_limits(as_of: NaiveDate) -> [NaiveDate; 4] {
    let back = |days: u64| {
        as_of
            .checked_sub_days(Days::new(days))
            .unwrap_or(NaiveDate::MIN)
    };
    [as_of, back(30), back(60), back(90)]
}

/// The aging bucket (0 current … 4 over 90 days) of an invoice due on `due_date`, as of `as_of`.
/// `store::BUCKET` is its SQL twin for reports that bucket in the database.
pub fn bucket_of(due_date: NaiveDate, as_of: NaiveDate) -> usize {
    bucket_limits(as_of)
        .iter()
        .position(|limit| due_date >= *limit)
        .unwrap_or(4)
}

impl Aging {
    /// A customer's aging from its open items as of `as_of`: each invoice's open amount less
    /// what disputes hold, in its bucket; the held part in dispute.
    pub fn of_items(items: &[OpenItem], as_of: NaiveDate) -> Aging {
        let mut aging = Aging::default();
        for item in items {
            aging.add(
                bucket_of(item.due_date, as_of),
                item.open_minor - item.held_minor,
            );
            aging.in_dispute += item.held_minor;
        }
        aging
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSummary {
    pub currency: Currency,
    pub as_of: NaiveDate,
    /// Everything the customer owes on invoices, disputed amounts included.
    pub balance_due_minor: i64,
    /// Held by open disputes: not due until they are resolved.
    pub in_dispute_minor: i64,
    pub overdue_minor: i64,
    pub unapplied_credit_minor: i64,
    /// What the customer can pay now ([`crate::receivables::due_now`] over the open invoices).
    pub due_now_minor: i64,
    /// Money on its way (open checkouts, processing bank debits): not due again, not cash yet.
    pub in_payment_minor: i64,
    /// The earliest day something falls due, and how much: an invoice's due date, or the next
    /// instalment of an active payment plan.
    pub next_due: Option<(NaiveDate, i64)>,
    /// The account's active payment plan; its invoices are due by its instalments.
    pub plan: Option<crate::plans::PlanDue>,
    /// A payment plan offered to the account or requested by it, waiting for an answer.
    pub pending_plan: Option<crate::plans::PlanStatus>,
    /// Promises to pay the account has made and not yet kept, broken or withdrawn.
    pub open_promises: i64,
    pub open_invoices: i64,
    pub aging: Aging,
}

/// One entry of the account's recent activity, as the summary shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityLine {
    pub date: NaiveDate,
    pub kind: String,
    pub description: String,
    /// Positive: the customer owes more (invoice); negative: less (payment, credit).
    pub amount_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementLine {
    pub date: NaiveDate,
    pub kind: String,
    pub description: String,
    /// Positive: the customer owes more (invoice); negative: less (payment, credit).
    pub amount_minor: i64,
    pub balance_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct OpenItem {
    #[cfg_attr(feature = "ssr", sqlx(rename = "id"))]
    pub invoice_id: i64,
    pub number: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::db::Day"))]
    pub due_date: NaiveDate,
    pub open_minor: i64,
    /// The part of `open_minor` held by active disputes.
    pub held_minor: i64,
    /// Money on its way for this invoice (an open checkout or a processing bank debit): not due
    /// again, not cash yet. Zero for a past date.
    pub pending_minor: i64,
}

/// A balance-forward statement (opening, activity, closing) with the aging of what is open at
/// its end. The invoice list is the open-item view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    pub currency: Currency,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub opening_minor: i64,
    pub lines: Vec<StatementLine>,
    pub closing_minor: i64,
    pub aging: Aging,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct TrialBalanceRow {
    #[cfg_attr(feature = "ssr", sqlx(rename = "code"))]
    pub account_code: String,
    #[cfg_attr(feature = "ssr", sqlx(rename = "name"))]
    pub account_name: String,
    pub currency: String,
    #[cfg_attr(feature = "ssr", sqlx(rename = "debit"))]
    pub debit_minor: i64,
    #[cfg_attr(feature = "ssr", sqlx(rename = "credit"))]
    pub credit_minor: i64,
}

/// DSO and CEI over a period, in one currency.
///
/// - DSO = ending AR ÷ credit sales in the period × days in the period.
/// - CEI = (beginning AR + credit sales − ending total AR) ÷ (beginning AR + credit sales −
///   ending current AR) × 100, where "current" means not yet past due at the period end.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CollectionMetrics {
    pub beginning_ar_minor: i64,
    pub credit_sales_minor: i64,
    pub ending_ar_minor: i64,
    pub ending_current_ar_minor: i64,
    pub days: i64,
    /// `None` when there were no credit sales.
    pub dso_days: Option<rust_decimal::Decimal>,
    /// `None` when the denominator is zero.
    pub cei_percent: Option<rust_decimal::Decimal>,
}

impl CollectionMetrics {
    pub fn compute(
        beginning_ar_minor: i64,
        credit_sales_minor: i64,
        ending_ar_minor: i64,
        ending_current_ar_minor: i64,
        days: i64,
    ) -> Self {
        use rust_decimal::Decimal;
        let dso_days = (credit_sales_minor != 0).then(|| {
            (Decimal::from(ending_ar_minor) / Decimal::from(credit_sales_minor)
                * Decimal::from(days))
            .round_dp(1)
        });
        let collectible = beginning_ar_minor + credit_sales_minor - ending_current_ar_minor;
        let cei_percent = (collectible != 0).then(|| {
            (Decimal::from(beginning_ar_minor + credit_sales_minor - ending_ar_minor)
                / Decimal::from(collectible)
                * Decimal::from(100))
            .round_dp(1)
        });
        Self {
            beginning_ar_minor,
            credit_sales_minor,
            ending_ar_minor,
            ending_current_ar_minor,
            days,
            dso_days,
            cei_percent,
        }
    }
}

/// Cash received on one day in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct DailyCollection {
    #[cfg_attr(
        feature = "ssr",
        sqlx(rename = "received_date", try_from = "crate::db::Day")
    )]
    pub date: NaiveDate,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub currency: crate::money::Currency,
    #[cfg_attr(feature = "ssr", sqlx(rename = "amount"))]
    pub amount_minor: i64,
    pub payments: i64,
}

/// What is expected to come in during one week (Monday to Sunday) in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectedWeek {
    pub week_start: NaiveDate,
    pub currency: crate::money::Currency,
    pub amount_minor: i64,
}

/// The Monday of `date`'s week.
pub fn week_start(date: NaiveDate) -> NaiveDate {
    use chrono::Datelike;
    date - chrono::Duration::days(i64::from(date.weekday().num_days_from_monday()))
}

/// Which of the `weeks` weeks starting with today's an invoice due on `due` is expected to be
/// paid in, for a customer who pays `lateness_days` after the due date on average. Overdue
/// amounts are expected this week; `None` is beyond the horizon.
pub fn expected_week(
    due: NaiveDate,
    lateness_days: i64,
    today: NaiveDate,
    weeks: usize,
) -> Option<usize> {
    let expected = (due + chrono::Duration::days(lateness_days)).max(today);
    let week = (week_start(expected) - week_start(today)).num_days() / 7;
    usize::try_from(week).ok().filter(|w| *w < weeks)
}

/// The ledger-health check's findings; empty `violations` means every invariant holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthReport {
    pub entries: i64,
    pub lines: i64,
    pub invoices: i64,
    /// The day the subledgers were proven as of; `None`: the books as they stand now.
    pub as_of: Option<NaiveDate>,
    pub controls: Vec<ControlCheck>,
    pub violations: Vec<String>,
}

/// A subledger against its control account, in one currency: the receivables (each invoice's
/// open amount) against Accounts receivable, or each customer's unapplied credit against its
/// liability account. Any difference comes with what causes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlCheck {
    pub account_code: String,
    pub currency: Currency,
    pub subledger_minor: i64,
    pub control_minor: i64,
    /// The entries (or cached open amounts) that make the two differ.
    pub causes: Vec<String>,
}

impl ControlCheck {
    pub fn difference_minor(&self) -> i64 {
        self.subledger_minor - self.control_minor
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn bucket_limits_count_days_past_the_due_date() {
        let as_of = NaiveDate::from_ymd_opt(2026, 4, 30).unwrap();
        let [current, d30, d60, d90] = bucket_limits(as_of);
        assert_eq!(current, as_of);
        assert_eq!(d30.to_string(), "2026-03-31");
        assert_eq!(d60.to_string(), "2026-03-01");
        assert_eq!(d90.to_string(), "2026-01-30");
    }

    #[test]
    fn expected_payments_land_in_the_week_of_due_date_plus_lateness() {
        let d = |t: &str| t.parse::<NaiveDate>().unwrap();
        // Monday 2026-11-23.
        let today = d("2026-11-25");
        assert_eq!(week_start(today), d("2026-11-23"));
        assert_eq!(
            expected_week(d("2026-11-01"), 0, today, 8),
            Some(0),
            "overdue: now"
        );
        assert_eq!(expected_week(d("2026-11-30"), 0, today, 8), Some(1));
        assert_eq!(expected_week(d("2026-11-30"), 10, today, 8), Some(2));
        assert_eq!(expected_week(d("2026-12-10"), -5, today, 8), Some(1));
        assert_eq!(expected_week(d("2027-06-01"), 0, today, 8), None);
    }

    #[test]
    fn dso_and_cei_match_a_hand_computed_quarter() {
        // Beginning AR 50,000; credit sales 150,000 over 90 days; ending AR 60,000 of which
        // 40,000 is current. DSO = 60/150 × 90 = 36.0 days.
        // CEI = (50 + 150 − 60) / (50 + 150 − 40) × 100 = 140/160 × 100 = 87.5 %.
        let m = CollectionMetrics::compute(5_000_000, 15_000_000, 6_000_000, 4_000_000, 90);
        assert_eq!(m.dso_days, Some(dec!(36.0)));
        assert_eq!(m.cei_percent, Some(dec!(87.5)));
        let empty = CollectionMetrics::compute(0, 0, 0, 0, 30);
        assert_eq!((empty.dso_days, empty.cei_percent), (None, None));
    }
}
