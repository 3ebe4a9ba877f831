//! Closing the books: a manager closes a month once it has ended, and with it every month
//! before; nothing may then be dated on or before its last day (ledger invariant 18). Reopening a
//! month (and every month after it) takes a manager and a reason. The state is one date, "closed
//! through", as accounting systems keep it; the history of changes is kept beside it.

use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod store;

/// A calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Month {
    first_day: NaiveDate,
}

impl Month {
    /// `2026-11`.
    pub fn parse(text: &str) -> Result<Self, PeriodError> {
        let bad = || PeriodError::NotAMonth(text.to_string());
        let (year, month) = text.trim().split_once('-').ok_or_else(bad)?;
        if year.len() != 4 || month.len() != 2 {
            return Err(bad());
        }
        let first_day = NaiveDate::from_ymd_opt(
            year.parse().map_err(|_| bad())?,
            month.parse().map_err(|_| bad())?,
            1,
        )
        .ok_or_else(bad)?;
        Ok(Self { first_day })
    }

    /// The month `day` falls in.
    pub fn of(day: NaiveDate) -> Self {
        Self {
            first_day: day.with_day(1).unwrap_or(day),
        }
    }

    pub fn first_day(self) -> NaiveDate {
        self.first_day
    }

    pub fn last_day(self) -> NaiveDate {
        self.next().first_day - Duration::days(1)
    }

    pub fn next(self) -> Self {
        let (year, month) = match self.first_day.month() {
            12 => (self.first_day.year() + 1, 1),
            m => (self.first_day.year(), m + 1),
        };
        Self {
            first_day: NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(self.first_day),
        }
    }

    pub fn previous(self) -> Self {
        Self::of(self.first_day - Duration::days(1))
    }

    /// `2026-11`, as stored and sent.
    pub fn key(self) -> String {
        self.first_day.format("%Y-%m").to_string()
    }

    /// `November 2026`.
    pub fn label(self) -> String {
        self.first_day.format("%B %Y").to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("{0:?} is not a month; write it as YYYY-MM")]
    NotAMonth(String),
    #[error("{0} has not ended yet; a month closes after its last day")]
    NotEnded(String),
    #[error("{month} is closed already (the books are closed through {closed_through})")]
    AlreadyClosed {
        month: String,
        closed_through: NaiveDate,
    },
    #[error("{0} is not closed")]
    NotClosed(String),
    #[error("say why the period is reopened")]
    ReasonNeeded,
}

/// Closing `month`: the new "closed through" day (its last), when it has ended and is not
/// closed already. Every month before it closes with it.
pub fn close(
    closed_through: Option<NaiveDate>,
    month: Month,
    today: NaiveDate,
) -> Result<NaiveDate, PeriodError> {
    let last = month.last_day();
    if last >= today {
        return Err(PeriodError::NotEnded(month.label()));
    }
    match closed_through {
        Some(through) if through >= last => Err(PeriodError::AlreadyClosed {
            month: month.label(),
            closed_through: through,
        }),
        _ => Ok(last),
    }
}

/// Reopening `month` (and every month after it): the new "closed through" day, the day before
/// the month starts, when it is closed and a reason is given.
pub fn reopen(
    closed_through: Option<NaiveDate>,
    month: Month,
    reason: &str,
) -> Result<NaiveDate, PeriodError> {
    if reason.trim().is_empty() {
        return Err(PeriodError::ReasonNeeded);
    }
    match closed_through {
        Some(through) if through >= month.first_day() => Ok(month.first_day() - Duration::days(1)),
        _ => Err(PeriodError::NotClosed(month.label())),
    }
}

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum PeriodAction {
        Close = "close",
        Reopen = "reopen",
    }
}

/// One close or reopening, as the history lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct PeriodChange {
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub action: PeriodAction,
    pub month: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::db::MaybeDay"))]
    pub closed_through: Option<NaiveDate>,
    pub reason: String,
    pub changed_by: String,
    pub changed_at: String,
}

/// Where the books stand: closed through which day, and how they got there (newest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Periods {
    pub closed_through: Option<NaiveDate>,
    pub history: Vec<PeriodChange>,
}

/// How many months the close and reopen forms offer.
const OFFERED: usize = 12;

impl Periods {
    /// The first day an entry may be dated.
    pub fn first_open_day(&self) -> Option<NaiveDate> {
        self.closed_through.map(|d| d + Duration::days(1))
    }

    /// The months that may be closed on `today`: ended and still open, latest first.
    pub fn closable(&self, today: NaiveDate) -> Vec<Month> {
        std::iter::successors(Some(Month::of(today).previous()), |m| Some(m.previous()))
            .take_while(|m| {
                self.closed_through
                    .is_none_or(|through| m.last_day() > through)
            })
            .take(OFFERED)
            .collect()
    }

    /// The closed months that may be reopened, latest first.
    pub fn reopenable(&self) -> Vec<Month> {
        let Some(through) = self.closed_through else {
            return Vec::new();
        };
        let last_closed = if through == Month::of(through).last_day() {
            Month::of(through)
        } else {
            Month::of(through).previous()
        };
        std::iter::successors(Some(last_closed), |m| Some(m.previous()))
            .take(OFFERED)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn a_month_is_written_yyyy_mm_and_knows_its_first_and_last_day() {
        let feb = Month::parse("2028-02").unwrap();
        assert_eq!(feb.last_day(), day("2028-02-29"));
        assert_eq!(Month::parse("2026-12").unwrap().next().key(), "2027-01");
        assert_eq!(
            Month::parse("2027-01").unwrap().previous().label(),
            "December 2026"
        );
        for bad in ["2026-13", "2026-1", "26-11", "November", ""] {
            assert!(Month::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_month_closes_once_after_it_has_ended_and_takes_every_month_before_with_it() {
        let november = Month::parse("2026-11").unwrap();
        assert_eq!(
            close(None, november, day("2026-12-01")),
            Ok(day("2026-11-30"))
        );
        assert!(matches!(
            close(None, november, day("2026-11-30")),
            Err(PeriodError::NotEnded(_))
        ));
        let october = Month::parse("2026-10").unwrap();
        assert!(matches!(
            close(Some(day("2026-11-30")), october, day("2026-12-05")),
            Err(PeriodError::AlreadyClosed { .. })
        ));
    }

    #[test]
    fn the_forms_offer_the_ended_open_months_to_close_and_the_closed_ones_to_reopen() {
        let open = Periods {
            closed_through: Some(day("2026-09-30")),
            history: Vec::new(),
        };
        let keys = |months: Vec<Month>| months.into_iter().map(Month::key).collect::<Vec<_>>();
        assert_eq!(
            keys(open.closable(day("2026-12-05"))),
            ["2026-11", "2026-10"]
        );
        assert_eq!(keys(open.reopenable())[..2], ["2026-09", "2026-08"]);
        let never = Periods {
            closed_through: None,
            history: Vec::new(),
        };
        assert_eq!(never.closable(day("2026-12-05")).len(), 12);
        assert!(never.reopenable().is_empty());
    }

    #[test]
    fn reopening_takes_a_reason_and_opens_the_month_and_every_month_after() {
        let october = Month::parse("2026-10").unwrap();
        assert_eq!(
            reopen(Some(day("2026-11-30")), october, "late credit memo"),
            Ok(day("2026-09-30"))
        );
        assert_eq!(
            reopen(Some(day("2026-11-30")), october, "  "),
            Err(PeriodError::ReasonNeeded)
        );
        assert!(matches!(
            reopen(Some(day("2026-09-30")), october, "why"),
            Err(PeriodError::NotClosed(_))
        ));
    }
}
