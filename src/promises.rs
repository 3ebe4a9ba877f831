//! Promises to pay: a payer picks invoices with something due and says by which day, and how
//! much, the account will pay. While a promise is open and its day has not passed, its invoices
//! get no reminders. A promise is kept once what was due on its invoices has come down by the
//! promised amount (paid, on its way, credited or put in dispute: no longer asked for), and
//! broken when its day passes first; staff see both on the collections worklist.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::invoices::draft::FieldError;
use crate::locale::{Explain, Locale};
use crate::money::{Currency, Money};

#[cfg(feature = "ssr")]
pub mod store;

/// How far ahead a promise may be dated: beyond that it is a payment plan, not a promise.
pub const MAX_DAYS_AHEAD: i64 = 60;
/// For this many days after a promise broke, its invoices cannot be promised again by the payer
/// (they talk to AR instead), and the worklist calls the account about it first.
pub const BROKEN_PROMISE_DAYS: i64 = 30;
/// The longest note a promise carries.
pub const NOTE_MAX_CHARS: usize = 500;

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum PromiseStatus {
        Open = "open",
        Kept = "kept",
        Broken = "broken",
        Withdrawn = "withdrawn",
    }
}

impl PromiseStatus {
    pub fn label(self) -> &'static str {
        self.label_in(Locale::En)
    }

    pub fn label_in(self, locale: Locale) -> &'static str {
        let (en, de) = match self {
            PromiseStatus::Open => ("Open", "Offen"),
            PromiseStatus::Kept => ("Kept", "Eingehalten"),
            PromiseStatus::Broken => ("Broken", "Nicht eingehalten"),
            PromiseStatus::Withdrawn => ("Withdrawn", "Zurückgezogen"),
        };
        locale.pick(en, de)
    }
}

/// An invoice a promise can cover: something is due on it now, no open promise covers it, and
/// no promise on it broke in the last [`BROKEN_PROMISE_DAYS`] days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct PromisableInvoice {
    pub invoice_id: i64,
    pub number: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::db::Day"))]
    pub due_date: NaiveDate,
    pub due_minor: i64,
}

/// A promise as the form sends it: the chosen invoices, the day, an amount (blank: everything
/// due on them) and a note.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromiseDraft {
    pub invoice_ids: Vec<i64>,
    pub pay_by: String,
    pub amount: String,
    pub note: String,
    /// The language the form was written in: how its amount is read and its problems told.
    #[serde(default)]
    pub locale: Locale,
}

/// A checked promise, ready to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPromise {
    /// Each covered invoice with what is due on it now.
    pub invoices: Vec<(i64, i64)>,
    pub pay_by: NaiveDate,
    pub amount_minor: i64,
    pub note: String,
}

impl PromiseDraft {
    /// Checks the draft against the invoices that can be promised today (`offered`), in the
    /// account's currency. Every problem is reported at once, named by field.
    pub fn parse(
        &self,
        offered: &[PromisableInvoice],
        currency: Currency,
        today: NaiveDate,
    ) -> Result<NewPromise, Vec<FieldError>> {
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
                        "One of the chosen invoices cannot be promised: nothing is due on it, a \
                         promise covers it, or its last promise was broken (please talk to us about it).",
                        "Für eine der gewählten Rechnungen ist keine Zusage möglich: Nichts ist darauf \
                         fällig, eine Zusage deckt sie schon ab, oder ihre letzte Zusage wurde nicht \
                         eingehalten (bitte sprechen Sie uns darauf an).",
                    ),
                )),
            }
        }
        if self.invoice_ids.is_empty() {
            errors.push(FieldError::new(
                "invoices",
                locale.pick(
                    "Choose at least one invoice to promise.",
                    "Wählen Sie mindestens eine Rechnung für die Zusage.",
                ),
            ));
        }
        let latest = today + chrono::Duration::days(MAX_DAYS_AHEAD);
        let pay_by = match self.pay_by.trim().parse::<NaiveDate>() {
            Ok(day) if day < today => {
                errors.push(FieldError::new(
                    "pay_by",
                    locale.pick(
                        "The day you will pay by cannot be in the past.",
                        "Der Tag, bis zu dem Sie zahlen, kann nicht in der Vergangenheit liegen.",
                    ),
                ));
                None
            }
            Ok(day) if day > latest => {
                errors.push(FieldError::new(
                    "pay_by",
                    locale.pick(
                        format!(
                            "A promise can be at most {MAX_DAYS_AHEAD} days ahead (by {latest}); for longer, ask us for a payment plan."
                        ),
                        format!(
                            "Eine Zusage reicht höchstens {MAX_DAYS_AHEAD} Tage voraus (bis zum {}); für länger fragen Sie uns nach einem Ratenplan.",
                            locale.date(latest)
                        ),
                    ),
                ));
                None
            }
            Ok(day) => Some(day),
            Err(_) => {
                errors.push(FieldError::new(
                    "pay_by",
                    locale.pick(
                        "Give the day you will pay by as a date (YYYY-MM-DD).",
                        "Geben Sie den Tag, bis zu dem Sie zahlen, als Datum an (JJJJ-MM-TT).",
                    ),
                ));
                None
            }
        };
        let total_due: i64 = invoices.iter().map(|(_, due)| due).sum();
        let amount_minor = if self.amount.trim().is_empty() {
            Some(total_due)
        } else {
            match Money::parse_typed(&self.amount, locale, currency).map(Money::to_minor) {
                Ok(minor) if minor <= 0 => {
                    errors.push(FieldError::new(
                        "amount",
                        locale.pick(
                            "The amount you promise must be more than zero.",
                            "Der zugesagte Betrag muss größer als null sein.",
                        ),
                    ));
                    None
                }
                Ok(minor) if minor > total_due && total_due > 0 => {
                    errors.push(FieldError::new(
                        "amount",
                        locale.pick(
                            format!(
                                "You can promise at most what is due on the chosen invoices, {}.",
                                locale.money(total_due, currency)
                            ),
                            format!(
                                "Sie können höchstens zusagen, was auf den gewählten Rechnungen fällig ist: {}.",
                                locale.money(total_due, currency)
                            ),
                        ),
                    ));
                    None
                }
                Ok(minor) => Some(minor),
                Err(e) => {
                    let reason = e.explain(locale);
                    errors.push(FieldError::new(
                        "amount",
                        locale.pick(format!("Amount: {reason}."), format!("Betrag: {reason}.")),
                    ));
                    None
                }
            }
        };
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
        match (pay_by, amount_minor) {
            (Some(pay_by), Some(amount_minor)) if errors.is_empty() => Ok(NewPromise {
                invoices,
                pay_by,
                amount_minor,
                note,
            }),
            _ => Err(errors),
        }
    }
}

/// What a promise's invoices owe now against what they owed when it was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PromiseFigures {
    pub amount_minor: i64,
    /// What was due on its invoices when it was made.
    pub due_then_minor: i64,
    /// What is open on them now less what disputes hold: money only counts once it has settled.
    pub outstanding_minor: i64,
    /// What is on its way to them now (a processing bank debit, an announced transfer, a checkout).
    pub pending_minor: i64,
}

impl PromiseFigures {
    /// How much of the promise has come in: how far what its invoices owe has come down since it
    /// was made, up to the promised amount. An amount put in dispute since counts, as it is no
    /// longer asked for; money on its way does not, until it settles.
    pub fn met_minor(&self) -> i64 {
        (self.due_then_minor - self.outstanding_minor).clamp(0, self.amount_minor)
    }

    /// What has become of an open promise on `today`: kept once the promised amount has come
    /// in; broken once its day has passed without it, unless money on its way would make it up
    /// (then it waits for that money to settle or fail); otherwise still open (`None`).
    pub fn outcome(&self, pay_by: NaiveDate, today: NaiveDate) -> Option<PromiseStatus> {
        let met = self.met_minor();
        if met >= self.amount_minor {
            Some(PromiseStatus::Kept)
        } else if today > pay_by && met + self.pending_minor < self.amount_minor {
            Some(PromiseStatus::Broken)
        } else {
            None
        }
    }
}

/// A promise as the customer's and the staff pages show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromiseView {
    pub id: i64,
    pub status: PromiseStatus,
    pub pay_by: NaiveDate,
    pub amount_minor: i64,
    /// How much of it has come in ([`PromiseFigures::met_minor`]); fixed when it closed.
    pub met_minor: i64,
    pub currency: Currency,
    /// The covered invoices: id and number.
    pub invoices: Vec<(i64, String)>,
    pub note: String,
    pub made_by: String,
    pub made_at: String,
    pub closed_on: Option<NaiveDate>,
}

/// The promise page: what can be promised today, and the account's promises.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromiseOffer {
    pub currency: Currency,
    pub today: NaiveDate,
    pub latest_day: NaiveDate,
    pub invoices: Vec<PromisableInvoice>,
    pub promises: Vec<PromiseView>,
}

/// What one run of the review job did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromiseReview {
    pub kept: usize,
    pub broken: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn offered() -> Vec<PromisableInvoice> {
        vec![
            PromisableInvoice {
                invoice_id: 1,
                number: "INV-1".into(),
                due_date: d("2026-11-01"),
                due_minor: 100_000,
            },
            PromisableInvoice {
                invoice_id: 2,
                number: "INV-2".into(),
                due_date: d("2026-11-15"),
                due_minor: 25_050,
            },
        ]
    }

    fn draft(ids: &[i64], pay_by: &str, amount: &str) -> PromiseDraft {
        PromiseDraft {
            invoice_ids: ids.to_vec(),
            pay_by: pay_by.into(),
            amount: amount.into(),
            note: "  paying after our customer pays us ".into(),
            locale: Locale::En,
        }
    }

    #[test]
    fn a_blank_amount_promises_everything_due_on_the_chosen_invoices() {
        let promise = draft(&[2, 1, 2], "2026-12-20", "")
            .parse(&offered(), Currency::Eur, d("2026-12-05"))
            .unwrap();
        assert_eq!(promise.invoices, vec![(2, 25_050), (1, 100_000)]);
        assert_eq!(promise.amount_minor, 125_050);
        assert_eq!(promise.pay_by, d("2026-12-20"));
        assert_eq!(promise.note, "paying after our customer pays us");
    }

    #[test]
    fn a_part_can_be_promised_but_never_more_than_is_due() {
        let today = d("2026-12-05");
        let part = draft(&[1], "2026-12-05", "400.00").parse(&offered(), Currency::Eur, today);
        assert_eq!(part.unwrap().amount_minor, 40_000);
        let errors = draft(&[2], "2026-12-06", "250.51")
            .parse(&offered(), Currency::Eur, today)
            .unwrap_err();
        assert_eq!(errors[0].field, "amount");
        assert!(errors[0].message.contains("€250.50"), "{errors:?}");
    }

    #[test]
    fn a_promise_written_in_german_reads_german_amounts_and_answers_in_german() {
        let today = d("2026-12-05");
        let german = |amount: &str| PromiseDraft {
            locale: Locale::De,
            ..draft(&[1], "2026-12-20", amount)
        };
        let promise = german("1.000,00").parse(&offered(), Currency::Eur, today);
        assert_eq!(promise.unwrap().amount_minor, 100_000);
        let part = german("400,5").parse(&offered(), Currency::Eur, today);
        assert_eq!(part.unwrap().amount_minor, 40_050);
        let errors = german("1.000,01")
            .parse(&offered(), Currency::Eur, today)
            .unwrap_err();
        assert_eq!(
            errors[0].message,
            "Sie können höchstens zusagen, was auf den gewählten Rechnungen fällig ist: 1.000,00 €."
        );
        let unreadable = german("1,000.00")
            .parse(&offered(), Currency::Eur, today)
            .unwrap_err();
        assert_eq!(
            unreadable[0].message,
            "Betrag: \"1,000.00\" ist keine Zahl."
        );
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let errors = draft(&[3], "2027-02-04", "-1")
            .parse(&offered(), Currency::Eur, d("2026-12-05"))
            .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["invoices", "pay_by", "amount"]);
        let past = draft(&[], "2026-12-04", "x")
            .parse(&offered(), Currency::Eur, d("2026-12-05"))
            .unwrap_err();
        let fields: Vec<&str> = past.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["invoices", "pay_by", "amount"]);
    }

    #[test]
    fn the_furthest_day_is_sixty_days_ahead() {
        let today = d("2026-12-05");
        assert!(
            draft(&[1], "2027-02-03", "")
                .parse(&offered(), Currency::Eur, today)
                .is_ok()
        );
        assert!(
            draft(&[1], "2027-02-04", "")
                .parse(&offered(), Currency::Eur, today)
                .is_err()
        );
    }

    fn figures(outstanding: i64, pending: i64) -> PromiseFigures {
        PromiseFigures {
            amount_minor: 50_000,
            due_then_minor: 100_000,
            outstanding_minor: outstanding,
            pending_minor: pending,
        }
    }

    #[test]
    fn a_promise_is_kept_by_settled_money_and_broken_only_after_its_day() {
        let day = d("2026-12-20");
        let after = d("2026-12-21");
        assert_eq!(
            figures(60_000, 0).outcome(day, after),
            Some(PromiseStatus::Broken)
        );
        assert_eq!(figures(60_000, 0).outcome(day, day), None);
        assert_eq!(
            figures(50_000, 0).outcome(day, day),
            Some(PromiseStatus::Kept)
        );
        assert_eq!(
            figures(0, 0).outcome(day, d("2027-01-30")),
            Some(PromiseStatus::Kept)
        );
        // A returned debit puts more back than was due: nothing is met, not less than nothing.
        assert_eq!(figures(120_000, 0).met_minor(), 0);
        assert_eq!(figures(0, 0).met_minor(), 50_000);
    }

    #[test]
    fn money_on_its_way_keeps_nothing_but_holds_off_breaking_until_it_settles() {
        let day = d("2026-12-20");
        let after = d("2026-12-21");
        // A debit for the whole promise is processing: not kept yet, and not broken either.
        assert_eq!(figures(100_000, 50_000).outcome(day, day), None);
        assert_eq!(figures(100_000, 50_000).outcome(day, after), None);
        // It came back: nothing on its way any more, and the day has passed.
        assert_eq!(
            figures(100_000, 0).outcome(day, after),
            Some(PromiseStatus::Broken)
        );
        // Part settled, the rest too little to make it up.
        assert_eq!(
            figures(80_000, 10_000).outcome(day, after),
            Some(PromiseStatus::Broken)
        );
    }
}
