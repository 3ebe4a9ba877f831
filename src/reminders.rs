//! Payment reminders (dunning): a schedule of days relative to each invoice's due date. Only
//! what is due now is reminded of: amounts held by a dispute are left out, and an invoice whose
//! whole open amount is disputed gets no reminder at all; nor does an invoice a promise to pay
//! covers until the promise's day has passed.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod store;

/// Days relative to the due date: 3 days before; 1, 7, 14 and 30 days overdue.
pub const DEFAULT_SCHEDULE: [i64; 5] = [-3, 1, 7, 14, 30];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "a reminder schedule is 1 to 10 comma-separated whole days between -60 and 365, e.g. -3,1,7,14,30"
    )]
    Invalid,
}

/// A reminder schedule: distinct steps in ascending order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule(Vec<i64>);

impl Default for Schedule {
    fn default() -> Self {
        Self(DEFAULT_SCHEDULE.to_vec())
    }
}

impl Schedule {
    /// `"-3,1,7,14,30"`.
    pub fn parse(text: &str) -> Result<Self, ScheduleError> {
        let mut steps = text
            .split(',')
            .map(|part| part.trim().parse::<i64>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| ScheduleError::Invalid)?;
        steps.sort_unstable();
        steps.dedup();
        if steps.is_empty() || steps.len() > 10 || steps.iter().any(|s| !(-60..=365).contains(s)) {
            return Err(ScheduleError::Invalid);
        }
        Ok(Self(steps))
    }

    pub fn steps(&self) -> &[i64] {
        &self.0
    }

    /// The latest step reached on `today` for an invoice due on `due`. Only the latest is sent:
    /// after downtime a customer gets one reminder, not every step they missed.
    pub fn step_on(&self, due: NaiveDate, today: NaiveDate) -> Option<i64> {
        let days_past_due = (today - due).num_days();
        self.0.iter().rev().copied().find(|s| *s <= days_past_due)
    }
}

/// What one run of the reminder job did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderRun {
    /// Reminders this run sent (queued in the outbox).
    pub sent: usize,
    /// Invoices at a step whose open amount is entirely held by disputes.
    pub held: usize,
    /// Invoices at a step whose account has nobody to write to.
    pub without_recipient: usize,
    /// Promises to pay this run closed as kept or broken (reviewed after the reminders).
    pub promises: crate::promises::PromiseReview,
    /// Payment plans this run reminded of an instalment, completed or broke.
    pub plans: crate::plans::PlanReview,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn the_latest_step_reached_is_the_one_sent() {
        let schedule = Schedule::default();
        let due = d("2026-11-10");
        assert_eq!(schedule.step_on(due, d("2026-11-06")), None);
        assert_eq!(schedule.step_on(due, d("2026-11-07")), Some(-3));
        assert_eq!(schedule.step_on(due, d("2026-11-10")), Some(-3));
        assert_eq!(schedule.step_on(due, d("2026-11-11")), Some(1));
        assert_eq!(schedule.step_on(due, d("2026-11-17")), Some(7));
        assert_eq!(schedule.step_on(due, d("2027-03-01")), Some(30));
    }

    #[test]
    fn schedules_are_sorted_distinct_and_bounded() {
        assert_eq!(Schedule::parse(" 7, -3,7,1").unwrap().steps(), [-3, 1, 7]);
        assert_eq!(Schedule::parse(""), Err(ScheduleError::Invalid));
        assert_eq!(Schedule::parse("1,x"), Err(ScheduleError::Invalid));
        assert_eq!(Schedule::parse("400"), Err(ScheduleError::Invalid));
    }
}
