//! Payment plans: an account pays some invoices in instalments (amounts and dates) instead of
//! by their due dates. Staff offer a plan and a payer accepts it in the portal, or a payer asks
//! for one and staff approve it; a manager sets the limits. While a plan is active its
//! instalments are what is due on its invoices: the summary, "pay everything due", reminders,
//! autopay and the worklist follow [`standing`]. An instalment more than the grace days late
//! breaks the plan, and the invoices are due as invoiced again.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::invoices::draft::FieldError;
use crate::locale::Locale;
use crate::money::{Currency, Money};
use crate::promises::PromisableInvoice;

#[cfg(feature = "ssr")]
pub mod store;

/// The smallest instalment: smaller parts cost more to collect than they bring.
pub const MIN_INSTALMENT_MINOR: i64 = 1_000;
/// An instalment's reminder goes out this many days before its day.
pub const REMIND_DAYS_BEFORE: i64 = 3;
/// The longest note a plan carries.
pub const NOTE_MAX_CHARS: usize = 500;

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum PlanStatus {
        /// Staff offered it; waits for a payer to accept.
        Offered = "offered",
        /// A payer asked for it (and agreed to it); waits for staff to approve.
        Requested = "requested",
        Active = "active",
        Completed = "completed",
        /// An instalment was more than the grace days late.
        Broken = "broken",
        /// The payer declined the offer, or staff the request.
        Declined = "declined",
        /// Staff withdrew it (an offer, a request or an active plan).
        Withdrawn = "withdrawn",
    }
}

impl PlanStatus {
    pub fn label(self) -> &'static str {
        self.label_in(Locale::En)
    }

    pub fn label_in(self, locale: Locale) -> &'static str {
        let (en, de) = match self {
            PlanStatus::Offered => ("Offered", "Angeboten"),
            PlanStatus::Requested => ("Requested", "Angefragt"),
            PlanStatus::Active => ("Active", "Aktiv"),
            PlanStatus::Completed => ("Completed", "Abgeschlossen"),
            PlanStatus::Broken => ("Broken", "Nicht eingehalten"),
            PlanStatus::Declined => ("Declined", "Abgelehnt"),
            PlanStatus::Withdrawn => ("Withdrawn", "Zurückgezogen"),
        };
        locale.pick(en, de)
    }

    /// Offered, requested or active: one such plan per account, and its invoices are taken.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            PlanStatus::Offered | PlanStatus::Requested | PlanStatus::Active
        )
    }
}

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum Interval {
        Weekly = "weekly",
        Fortnightly = "fortnightly",
        Monthly = "monthly",
    }
}

impl Interval {
    pub fn label(self) -> &'static str {
        self.label_in(Locale::En)
    }

    pub fn label_in(self, locale: Locale) -> &'static str {
        let (en, de) = match self {
            Interval::Weekly => ("Every week", "Jede Woche"),
            Interval::Fortnightly => ("Every two weeks", "Alle zwei Wochen"),
            Interval::Monthly => ("Every month", "Jeden Monat"),
        };
        locale.pick(en, de)
    }

    /// The day of instalment `n` (from 0) when the first falls on `first`. Monthly keeps the
    /// day of the month, or the month's last day when it is shorter (Jan 31 → Feb 28 → Mar 31).
    pub fn nth(self, first: NaiveDate, n: u32) -> Option<NaiveDate> {
        match self {
            Interval::Weekly => first.checked_add_days(chrono::Days::new(7 * u64::from(n))),
            Interval::Fortnightly => first.checked_add_days(chrono::Days::new(14 * u64::from(n))),
            Interval::Monthly => first.checked_add_months(Months::new(n)),
        }
    }
}

/// What a manager allows for every plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanLimits {
    pub max_instalments: u32,
    /// The last instalment falls at most this many days after the plan is proposed.
    pub max_days: i64,
    /// An instalment this many days late breaks the plan.
    pub grace_days: i64,
}

impl PlanLimits {
    /// Reads the manager's form; every problem at once, named by field.
    pub fn parse(
        max_instalments: &str,
        max_days: &str,
        grace_days: &str,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut number =
            |field: &'static str, text: &str, low: i64, high: i64, what: &str| match text
                .trim()
                .parse::<i64>()
            {
                Ok(n) if (low..=high).contains(&n) => Some(n),
                _ => {
                    errors.push(FieldError::new(
                        field,
                        format!("{what} is a whole number from {low} to {high}."),
                    ));
                    None
                }
            };
        let count = number(
            "max_instalments",
            max_instalments,
            2,
            60,
            "The most instalments",
        );
        let days = number("max_days", max_days, 14, 1100, "The longest plan in days");
        let grace = number("grace_days", grace_days, 0, 30, "The grace period in days");
        match (count, days, grace) {
            (Some(count), Some(max_days), Some(grace_days)) => Ok(PlanLimits {
                max_instalments: count as u32,
                max_days,
                grace_days,
            }),
            _ => Err(errors),
        }
    }
}

/// One instalment: this much by that day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instalment {
    pub seq: u32,
    pub due_date: NaiveDate,
    pub amount_minor: i64,
}

/// `count` instalments adding up to `total_minor`, the first on `first` and then every
/// `interval`: equal parts, the cents that do not divide going to the first ones.
pub fn schedule(
    total_minor: i64,
    count: u32,
    first: NaiveDate,
    interval: Interval,
) -> Option<Vec<Instalment>> {
    let parts = i64::from(count);
    if parts == 0 || total_minor <= 0 {
        return None;
    }
    let (each, rest) = (total_minor / parts, total_minor % parts);
    (0..count)
        .map(|n| {
            Some(Instalment {
                seq: n + 1,
                due_date: interval.nth(first, n)?,
                amount_minor: each + i64::from(i64::from(n) < rest),
            })
        })
        .collect()
}

/// A plan as the form sends it: the chosen invoices, then either how many equal instalments,
/// the first day and how often, or a schedule typed line by line (a day and an amount each),
/// and a note.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanDraft {
    pub invoice_ids: Vec<i64>,
    pub instalments: String,
    pub first_due: String,
    pub interval: String,
    /// When not blank, this schedule is the plan and the three fields above are not read.
    pub schedule: String,
    pub note: String,
    /// The language the form was written in: how its amounts are read and its problems told.
    #[serde(default)]
    pub locale: Locale,
}

/// A checked plan, ready to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPlan {
    /// Each covered invoice with what is due on it now.
    pub invoices: Vec<(i64, i64)>,
    pub instalments: Vec<Instalment>,
    pub note: String,
}

impl NewPlan {
    pub fn total_minor(&self) -> i64 {
        self.invoices.iter().map(|(_, due)| due).sum()
    }
}

impl PlanDraft {
    /// Checks the draft against the invoices a plan can cover today (`offered`) and the
    /// manager's limits. Every problem is reported at once, named by field.
    pub fn parse(
        &self,
        offered: &[PromisableInvoice],
        limits: &PlanLimits,
        currency: Currency,
        today: NaiveDate,
    ) -> Result<NewPlan, Vec<FieldError>> {
        let locale = self.locale;
        let mut errors = Vec::new();
        let mut invoices: Vec<(i64, i64)> = Vec::new();
        for id in &self.invoice_ids {
            match offered.iter().find(|o| o.invoice_id == *id) {
                Some(o) if !invoices.iter().any(|(known, _)| known == id) => {
                    invoices.push((o.invoice_id, o.due_minor))
                }
                Some(_) => {}
                None => errors.push(FieldError::new(
                    "invoices",
                    locale.pick(
                        "One of the chosen invoices cannot go on a plan: nothing is due on it, a \
                         payment is on its way, or a promise or another plan covers it.",
                        "Eine der gewählten Rechnungen kann nicht in einen Ratenplan aufgenommen \
                         werden: Nichts ist darauf fällig, eine Zahlung ist unterwegs, oder eine \
                         Zusage oder ein anderer Ratenplan deckt sie ab.",
                    ),
                )),
            }
        }
        if self.invoice_ids.is_empty() {
            errors.push(FieldError::new(
                "invoices",
                locale.pick(
                    "Choose at least one invoice for the plan.",
                    "Wählen Sie mindestens eine Rechnung für den Ratenplan.",
                ),
            ));
        }
        let note = self.note.trim().to_string();
        if note.chars().count() > NOTE_MAX_CHARS {
            errors.push(FieldError::new(
                "note",
                locale.pick(
                    format!("The note can be at most {NOTE_MAX_CHARS} characters."),
                    format!("Die Notiz kann höchstens {NOTE_MAX_CHARS} Zeichen haben."),
                ),
            ));
        }
        let total: i64 = invoices.iter().map(|(_, due)| due).sum();
        let latest = today + chrono::Duration::days(limits.max_days);
        let instalments = if self.schedule.trim().is_empty() {
            self.equal_parts(total, limits, currency, today, &mut errors)
        } else {
            self.own_schedule(total, limits, currency, today, &mut errors)
        };
        if let Some(last) = instalments.last()
            && last.due_date > latest
        {
            errors.push(FieldError::new(
                if self.schedule.trim().is_empty() {
                    "first_due"
                } else {
                    "schedule"
                },
                locale.pick(
                    format!(
                        "The last instalment must fall by {latest} ({} days from today): start \
                         earlier, or choose fewer or more frequent instalments.",
                        limits.max_days
                    ),
                    format!(
                        "Die letzte Rate muss bis zum {} fällig sein ({} Tage ab heute): Beginnen \
                         Sie früher, oder wählen Sie weniger oder häufigere Raten.",
                        locale.date(latest),
                        limits.max_days
                    ),
                ),
            ));
        }
        if errors.is_empty() && !instalments.is_empty() {
            Ok(NewPlan {
                instalments,
                invoices,
                note,
            })
        } else {
            Err(errors)
        }
    }

    /// `instalments` equal parts, the first on `first_due`, then every `interval`.
    fn equal_parts(
        &self,
        total: i64,
        limits: &PlanLimits,
        currency: Currency,
        today: NaiveDate,
        errors: &mut Vec<FieldError>,
    ) -> Vec<Instalment> {
        let locale = self.locale;
        let count = match self.instalments.trim().parse::<u32>() {
            Ok(n) if (2..=limits.max_instalments).contains(&n) => Some(n),
            _ => {
                errors.push(FieldError::new(
                    "instalments",
                    instalment_count(locale, limits),
                ));
                None
            }
        };
        let first = match self.first_due.trim().parse::<NaiveDate>() {
            Ok(day) if day < today => {
                errors.push(FieldError::new(
                    "first_due",
                    locale.pick(
                        "The first instalment cannot be in the past.",
                        "Die erste Rate kann nicht in der Vergangenheit liegen.",
                    ),
                ));
                None
            }
            Ok(day) => Some(day),
            Err(_) => {
                errors.push(FieldError::new(
                    "first_due",
                    locale.pick(
                        "Give the first instalment's day as a date (YYYY-MM-DD).",
                        "Geben Sie den Tag der ersten Rate als Datum an (JJJJ-MM-TT).",
                    ),
                ));
                None
            }
        };
        let interval = Interval::parse(self.interval.trim());
        if interval.is_none() {
            errors.push(FieldError::new(
                "interval",
                locale.pick(
                    "Choose how often: weekly, fortnightly or monthly.",
                    "Wählen Sie, wie oft: wöchentlich, alle zwei Wochen oder monatlich.",
                ),
            ));
        }
        let (Some(count), Some(first), Some(interval)) = (count, first, interval) else {
            return Vec::new();
        };
        // With no invoice chosen the dates are still checked, against a placeholder total.
        let Some(instalments) = schedule(total.max(i64::from(count)), count, first, interval)
        else {
            errors.push(FieldError::new(
                "first_due",
                locale.pick(
                    "The instalments' days run past the calendar: choose an earlier first day.",
                    "Die Tage der Raten laufen über den Kalender hinaus: Wählen Sie einen früheren ersten Tag.",
                ),
            ));
            return Vec::new();
        };
        if total > 0 && total / i64::from(count) < MIN_INSTALMENT_MINOR {
            errors.push(FieldError::new(
                "instalments",
                locale.pick(
                    format!(
                        "Each instalment must be at least {}: choose fewer instalments.",
                        locale.money(MIN_INSTALMENT_MINOR, currency)
                    ),
                    format!(
                        "Jede Rate muss mindestens {} betragen: Wählen Sie weniger Raten.",
                        locale.money(MIN_INSTALMENT_MINOR, currency)
                    ),
                ),
            ));
        }
        instalments
    }

    /// The schedule as typed: one instalment per line, its day and its amount
    /// (`2027-01-15 300.00`), days in order, adding up to what is due on the chosen invoices.
    fn own_schedule(
        &self,
        total: i64,
        limits: &PlanLimits,
        currency: Currency,
        today: NaiveDate,
        errors: &mut Vec<FieldError>,
    ) -> Vec<Instalment> {
        let locale = self.locale;
        let mut instalments: Vec<Instalment> = Vec::new();
        let lines: Vec<&str> = self
            .schedule
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let error_count = errors.len();
        if !(2..=limits.max_instalments as usize).contains(&lines.len()) {
            errors.push(FieldError::new(
                "schedule",
                instalment_count(locale, limits),
            ));
            // More lines than a plan may have are not read one by one.
            if lines.len() > limits.max_instalments as usize {
                return Vec::new();
            }
        }
        for (n, line) in lines.iter().enumerate() {
            let seq = n as u32 + 1;
            let mut parts = line.split_whitespace();
            let day = parts.next().and_then(|d| d.parse::<NaiveDate>().ok());
            let amount = parts
                .next()
                .map(|a| Money::parse_typed(a, locale, currency).map(Money::to_minor));
            match (day, amount, parts.next()) {
                (Some(due_date), Some(Ok(amount_minor)), None) => {
                    if due_date < today {
                        errors.push(FieldError::new(
                            "schedule",
                            locale.pick(
                                format!("Instalment {seq} ({due_date}) is in the past."),
                                format!(
                                    "Rate {seq} ({}) liegt in der Vergangenheit.",
                                    locale.date(due_date)
                                ),
                            ),
                        ));
                    } else if instalments.last().is_some_and(|l| l.due_date >= due_date) {
                        errors.push(FieldError::new(
                            "schedule",
                            locale.pick(
                                format!(
                                    "Instalment {seq} ({due_date}) must come after the one before."
                                ),
                                format!(
                                    "Rate {seq} ({}) muss nach der vorigen kommen.",
                                    locale.date(due_date)
                                ),
                            ),
                        ));
                    }
                    if amount_minor < MIN_INSTALMENT_MINOR {
                        errors.push(FieldError::new(
                            "schedule",
                            locale.pick(
                                format!(
                                    "Instalment {seq} must be at least {}.",
                                    locale.money(MIN_INSTALMENT_MINOR, currency)
                                ),
                                format!(
                                    "Rate {seq} muss mindestens {} betragen.",
                                    locale.money(MIN_INSTALMENT_MINOR, currency)
                                ),
                            ),
                        ));
                    }
                    instalments.push(Instalment {
                        seq,
                        due_date,
                        amount_minor,
                    });
                }
                _ => errors.push(FieldError::new(
                    "schedule",
                    locale.pick(
                        format!(
                            "Line {seq} should be a day and an amount, such as {today} 300.00."
                        ),
                        format!(
                            "Zeile {seq} sollte ein Tag und ein Betrag sein, etwa {today} 300,00."
                        ),
                    ),
                )),
            }
        }
        let planned: i64 = instalments.iter().map(|i| i.amount_minor).sum();
        if errors.len() == error_count && total > 0 && planned != total {
            errors.push(FieldError::new(
                "schedule",
                locale.pick(
                    format!(
                        "The instalments add up to {}; what is due on the chosen invoices is {}.",
                        locale.money(planned, currency),
                        locale.money(total, currency)
                    ),
                    format!(
                        "Die Raten ergeben zusammen {}; auf den gewählten Rechnungen sind {} fällig.",
                        locale.money(planned, currency),
                        locale.money(total, currency)
                    ),
                ),
            ));
        }
        instalments
    }
}

/// How many instalments a plan may have, as a form's problem.
fn instalment_count(locale: Locale, limits: &PlanLimits) -> String {
    let most = limits.max_instalments;
    locale.pick(
        format!("A plan has from 2 to {most} instalments."),
        format!("Ein Ratenplan hat 2 bis {most} Raten."),
    )
}

/// Where an active plan stands on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    /// What has come in on its invoices since it was proposed, up to its total.
    pub paid_minor: i64,
    /// What is on its way to its invoices (a checkout, a processing debit, an announced transfer).
    pub pending_minor: i64,
    /// What its instalments ask for now: those whose day has come, less what came in or is on
    /// its way.
    pub due_now_minor: i64,
    /// The part of it whose day has passed.
    pub late_minor: i64,
    /// The first instalment not yet covered, with what is left of it.
    pub next: Option<Instalment>,
    /// The day of the first instalment more than the grace days late: the plan is broken.
    pub missed: Option<NaiveDate>,
}

impl Standing {
    pub fn completed(&self, total_minor: i64) -> bool {
        self.paid_minor >= total_minor
    }
}

/// Where a plan with these instalments stands on `today`, when `outstanding_minor` is still
/// open on its invoices (less what disputes hold) of the `total_minor` it started from. Money on
/// its way counts against what is asked for, and keeps a late instalment from breaking the
/// plan until it settles or fails (as with promises to pay).
pub fn standing(
    instalments: &[Instalment],
    total_minor: i64,
    outstanding_minor: i64,
    pending_minor: i64,
    grace_days: i64,
    today: NaiveDate,
) -> Standing {
    let paid_minor = (total_minor - outstanding_minor).clamp(0, total_minor);
    let covered = paid_minor + pending_minor;
    let scheduled = |until: &dyn Fn(NaiveDate) -> bool| -> i64 {
        instalments
            .iter()
            .filter(|i| until(i.due_date))
            .map(|i| i.amount_minor)
            .sum()
    };
    let due_now_minor = (scheduled(&|day| day <= today) - covered).max(0);
    let late_minor = (scheduled(&|day| day < today) - covered).max(0);
    let mut cumulative = 0;
    let mut next = None;
    let mut missed = None;
    for instalment in instalments {
        cumulative += instalment.amount_minor;
        if cumulative <= covered {
            continue;
        }
        if next.is_none() {
            next = Some(Instalment {
                amount_minor: (cumulative - covered).min(instalment.amount_minor),
                ..*instalment
            });
        }
        if missed.is_none() && instalment.due_date + chrono::Duration::days(grace_days) < today {
            missed = Some(instalment.due_date);
        }
    }
    Standing {
        paid_minor,
        pending_minor,
        due_now_minor,
        late_minor,
        next,
        missed,
    }
}

crate::text_enum! {
    /// Where one instalment stands, as the plan's pages show it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum InstalmentState {
        Paid = "paid",
        OnItsWay = "on_its_way",
        Late = "late",
        DueToday = "due_today",
        Upcoming = "upcoming",
    }
}

impl InstalmentState {
    pub fn label(self) -> &'static str {
        self.label_in(Locale::En)
    }

    pub fn label_in(self, locale: Locale) -> &'static str {
        let (en, de) = match self {
            InstalmentState::Paid => ("Paid", "Bezahlt"),
            InstalmentState::OnItsWay => ("Payment on its way", "Zahlung unterwegs"),
            InstalmentState::Late => ("Late", "Überfällig"),
            InstalmentState::DueToday => ("Due today", "Heute fällig"),
            InstalmentState::Upcoming => ("Upcoming", "Anstehend"),
        };
        locale.pick(en, de)
    }

    /// Each instalment's state on `today`: what came in covers them in order, then what is on
    /// its way.
    pub fn of_each(
        instalments: &[Instalment],
        standing: &Standing,
        today: NaiveDate,
    ) -> Vec<InstalmentState> {
        let mut cumulative = 0;
        instalments
            .iter()
            .map(|i| {
                cumulative += i.amount_minor;
                if cumulative <= standing.paid_minor {
                    InstalmentState::Paid
                } else if cumulative <= standing.paid_minor + standing.pending_minor {
                    InstalmentState::OnItsWay
                } else if i.due_date < today {
                    InstalmentState::Late
                } else if i.due_date == today {
                    InstalmentState::DueToday
                } else {
                    InstalmentState::Upcoming
                }
            })
            .collect()
    }
}

/// How much of `amount_minor` goes to each invoice of a plan: oldest due first, each up to
/// what is due on it now. `due` is (invoice, due now), oldest first.
pub fn allocate(amount_minor: i64, due: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let mut left = amount_minor;
    let mut parts = Vec::new();
    for (invoice_id, due_minor) in due {
        if left <= 0 {
            break;
        }
        let part = left.min(*due_minor);
        if part > 0 {
            parts.push((*invoice_id, part));
            left -= part;
        }
    }
    parts
}

/// An active plan as the account summary shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanDue {
    pub plan_id: i64,
    /// What its instalments ask for now, and the part of it that is late.
    pub due_now_minor: i64,
    pub late_minor: i64,
    /// The next instalment (what is left of it), and where paying it goes: (invoice, amount).
    pub next: Option<Instalment>,
    pub next_items: Vec<(i64, i64)>,
}

/// A plan as the customer's and the staff pages show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanView {
    pub id: i64,
    pub status: PlanStatus,
    pub currency: Currency,
    pub total_minor: i64,
    pub instalments: Vec<Instalment>,
    /// The covered invoices: id and number.
    pub invoices: Vec<(i64, String)>,
    pub note: String,
    pub proposed_by: String,
    pub proposed_at: String,
    /// Who agreed to it, when and from which address.
    pub accepted: Option<(String, String, String)>,
    pub grace_days: i64,
    /// Where it stands (active plans), or how much came in (closed ones: `paid_minor` only).
    pub standing: Standing,
    pub closed_on: Option<NaiveDate>,
}

/// The plan page: the limits, what a plan can cover today, and the account's plans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanOffer {
    pub currency: Currency,
    pub today: NaiveDate,
    pub limits: PlanLimits,
    pub invoices: Vec<PromisableInvoice>,
    pub plans: Vec<PlanView>,
}

/// What one run of the plan review did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanReview {
    pub reminded: usize,
    pub completed: usize,
    pub broken: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn limits() -> PlanLimits {
        PlanLimits {
            max_instalments: 6,
            max_days: 180,
            grace_days: 5,
        }
    }

    fn offered() -> Vec<PromisableInvoice> {
        vec![
            PromisableInvoice {
                invoice_id: 1,
                number: "INV-1".into(),
                due_date: d("2026-10-31"),
                due_minor: 100_000,
            },
            PromisableInvoice {
                invoice_id: 2,
                number: "INV-2".into(),
                due_date: d("2026-11-30"),
                due_minor: 20_001,
            },
        ]
    }

    fn draft(count: &str, first: &str, interval: &str) -> PlanDraft {
        PlanDraft {
            invoice_ids: vec![1, 2],
            instalments: count.into(),
            first_due: first.into(),
            interval: interval.into(),
            schedule: String::new(),
            note: " after harvest ".into(),
            locale: Locale::En,
        }
    }

    #[test]
    fn a_schedule_adds_up_to_the_total_with_the_odd_cents_first() {
        let plan = schedule(100_001, 3, d("2027-01-31"), Interval::Monthly).unwrap();
        let amounts: Vec<i64> = plan.iter().map(|i| i.amount_minor).collect();
        assert_eq!(amounts, vec![33_334, 33_334, 33_333]);
        assert_eq!(amounts.iter().sum::<i64>(), 100_001);
        let days: Vec<NaiveDate> = plan.iter().map(|i| i.due_date).collect();
        assert_eq!(
            days,
            vec![d("2027-01-31"), d("2027-02-28"), d("2027-03-31")]
        );
        let weekly = schedule(3_000, 3, d("2026-12-07"), Interval::Fortnightly).unwrap();
        assert_eq!(weekly[2].due_date, d("2027-01-04"));
        assert_eq!(schedule(0, 3, d("2026-12-07"), Interval::Weekly), None);
    }

    #[test]
    fn a_draft_within_the_limits_becomes_a_plan_over_what_is_due() {
        let plan = draft("3", "2026-12-15", "monthly")
            .parse(&offered(), &limits(), Currency::Usd, d("2026-12-06"))
            .unwrap();
        assert_eq!(plan.invoices, vec![(1, 100_000), (2, 20_001)]);
        assert_eq!(plan.total_minor(), 120_001);
        assert_eq!(plan.instalments.len(), 3);
        assert_eq!(plan.instalments[0].amount_minor, 40_001);
        assert_eq!(plan.note, "after harvest");
    }

    #[test]
    fn a_draft_outside_the_limits_is_refused_field_by_field() {
        let today = d("2026-12-06");
        let fields = |draft: PlanDraft| -> Vec<String> {
            draft
                .parse(&offered(), &limits(), Currency::Usd, today)
                .unwrap_err()
                .into_iter()
                .map(|e| e.field)
                .collect()
        };
        assert_eq!(fields(draft("7", "2026-12-15", "monthly")), ["instalments"]);
        assert_eq!(fields(draft("1", "2026-12-15", "monthly")), ["instalments"]);
        assert_eq!(fields(draft("3", "2026-12-05", "monthly")), ["first_due"]);
        // Six months from mid-January end in mid-June: past 180 days from today.
        assert_eq!(fields(draft("6", "2027-01-15", "monthly")), ["first_due"]);
        assert_eq!(
            fields(draft("3", "soon", "daily")),
            ["first_due", "interval"]
        );
        let mut unknown = draft("3", "2026-12-15", "weekly");
        unknown.invoice_ids = vec![9];
        assert_eq!(fields(unknown), ["invoices"]);
        let mut small = draft("3", "2026-12-15", "weekly");
        small.invoice_ids = vec![2];
        assert_eq!(
            small
                .parse(&offered(), &limits(), Currency::Usd, today)
                .map(|p| p.instalments.len()),
            Ok(3)
        );
        let tiny = PromisableInvoice {
            due_minor: 2_500,
            ..offered()[1].clone()
        };
        assert_eq!(
            small
                .parse(&[tiny], &limits(), Currency::Usd, today)
                .unwrap_err()[0]
                .message,
            "Each instalment must be at least $10.00: choose fewer instalments."
        );
    }

    #[test]
    fn an_own_schedule_of_days_and_amounts_must_add_up_to_what_is_due() {
        let today = d("2026-12-06");
        let mut own = draft("", "", "");
        own.schedule = "2026-12-20 200.01\n\n 2027-01-20   500 \n2027-02-20 500.00".into();
        let plan = own
            .parse(&offered(), &limits(), Currency::Usd, today)
            .unwrap();
        let amounts: Vec<(u32, i64)> = plan
            .instalments
            .iter()
            .map(|i| (i.seq, i.amount_minor))
            .collect();
        assert_eq!(amounts, vec![(1, 20_001), (2, 50_000), (3, 50_000)]);
        let message = |schedule: &str| -> Vec<String> {
            let mut draft = draft("", "", "");
            draft.schedule = schedule.into();
            draft
                .parse(&offered(), &limits(), Currency::Usd, today)
                .unwrap_err()
                .into_iter()
                .map(|e| e.message)
                .collect()
        };
        assert_eq!(
            message("2026-12-20 600.00\n2027-01-20 600.00"),
            [
                "The instalments add up to $1,200.00; what is due on the chosen invoices is $1,200.01."
            ]
        );
        assert_eq!(
            message("2027-01-20 600.00\n2026-12-20 600.01"),
            ["Instalment 2 (2026-12-20) must come after the one before."]
        );
        assert_eq!(
            message("2026-12-01 1200.01"),
            [
                "A plan has from 2 to 6 instalments.",
                "Instalment 1 (2026-12-01) is in the past."
            ]
        );
        assert_eq!(
            message(&"2027-01-20 600.00\n".repeat(7)),
            ["A plan has from 2 to 6 instalments."],
            "more lines than a plan may have are not read one by one"
        );
        assert_eq!(
            message("soon 600\n2027-01-20 5.00"),
            [
                "Line 1 should be a day and an amount, such as 2026-12-06 300.00.",
                "Instalment 2 must be at least $10.00."
            ]
        );
    }

    #[test]
    fn limits_are_whole_numbers_in_their_ranges() {
        assert_eq!(
            PlanLimits::parse("12", "365", "5"),
            Ok(PlanLimits {
                max_instalments: 12,
                max_days: 365,
                grace_days: 5
            })
        );
        let fields: Vec<String> = PlanLimits::parse("1", "2000", "-1")
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["max_instalments", "max_days", "grace_days"]);
    }

    fn three() -> Vec<Instalment> {
        schedule(30_000, 3, d("2027-01-10"), Interval::Monthly).unwrap()
    }

    #[test]
    fn only_instalments_whose_day_has_come_are_due() {
        let before = standing(&three(), 30_000, 30_000, 0, 5, d("2027-01-09"));
        assert_eq!((before.due_now_minor, before.late_minor), (0, 0));
        assert_eq!(before.next, Some(three()[0]));
        let on_the_day = standing(&three(), 30_000, 30_000, 0, 5, d("2027-01-10"));
        assert_eq!(
            (on_the_day.due_now_minor, on_the_day.late_minor),
            (10_000, 0)
        );
        let late = standing(&three(), 30_000, 30_000, 0, 5, d("2027-01-15"));
        assert_eq!(
            (late.due_now_minor, late.late_minor, late.missed),
            (10_000, 10_000, None)
        );
        let broken = standing(&three(), 30_000, 30_000, 0, 5, d("2027-01-16"));
        assert_eq!(broken.missed, Some(d("2027-01-10")));
    }

    #[test]
    fn payments_cover_instalments_in_order_and_money_on_its_way_holds_off_a_break() {
        // 12,000 came in: the first instalment is covered and 2,000 of the second.
        let part = standing(&three(), 30_000, 18_000, 0, 5, d("2027-02-10"));
        assert_eq!(part.paid_minor, 12_000);
        assert_eq!(part.due_now_minor, 8_000);
        assert_eq!(
            part.next,
            Some(Instalment {
                seq: 2,
                due_date: d("2027-02-10"),
                amount_minor: 8_000
            })
        );
        let waiting = standing(&three(), 30_000, 18_000, 8_000, 5, d("2027-02-20"));
        assert_eq!((waiting.due_now_minor, waiting.missed), (0, None));
        let paid_ahead = standing(&three(), 30_000, 0, 0, 5, d("2027-01-01"));
        assert!(paid_ahead.completed(30_000));
        assert_eq!(paid_ahead.next, None);
    }

    #[test]
    fn each_instalment_is_paid_on_its_way_late_due_or_upcoming() {
        let now = standing(&three(), 30_000, 18_000, 10_000, 5, d("2027-02-10"));
        assert_eq!(
            InstalmentState::of_each(&three(), &now, d("2027-02-10")),
            vec![
                InstalmentState::Paid,
                InstalmentState::OnItsWay,
                InstalmentState::Upcoming
            ]
        );
        let late = standing(&three(), 30_000, 30_000, 0, 5, d("2027-02-10"));
        assert_eq!(
            InstalmentState::of_each(&three(), &late, d("2027-02-10")),
            vec![
                InstalmentState::Late,
                InstalmentState::DueToday,
                InstalmentState::Upcoming
            ]
        );
    }

    #[test]
    fn an_amount_is_spread_over_the_plans_invoices_oldest_first() {
        assert_eq!(
            allocate(15_000, &[(1, 10_000), (2, 20_000)]),
            vec![(1, 10_000), (2, 5_000)]
        );
        assert_eq!(allocate(5_000, &[(1, 0), (2, 20_000)]), vec![(2, 5_000)]);
        assert!(allocate(0, &[(1, 10_000)]).is_empty());
    }
}
