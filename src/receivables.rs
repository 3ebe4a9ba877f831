//! The receivables core every money movement stands on: what a customer owes now, and (behind
//! `ssr`) the primitives that change it: the customer lock, an invoice's open and held amounts,
//! and the customer's unapplied credit. Payments, adjustments, checkout, refunds and disputes
//! depend on this module and not on each other's stores.

#[cfg(feature = "ssr")]
pub mod store;

/// What is due now on one invoice: its open amount less what active disputes hold, never below
/// zero (a hold can exceed what is open when staff applied an offline payment to the held part).
/// The one definition of "due": summary, aging, the pay flow, reminders and disputes all call
/// this or its SQL twin [`DUE_NOW_SQL`].
pub fn due_now(open_minor: i64, held_minor: i64) -> i64 {
    (open_minor - held_minor).max(0)
}

/// The SQL text of [`due_now`], over an `invoices` row aliased `i`; a macro so that
/// [`HELD_OF_OPEN_SQL`] is built from the same text.
macro_rules! due_now_sql {
    () => {
        "(CASE WHEN i.open_minor > i.held_minor THEN i.open_minor - i.held_minor ELSE 0 END)"
    };
}

/// [`due_now`] as SQL over an `invoices` row aliased `i`. Both engines evaluate it the same way
/// (checked against the Rust rule in `store`'s tests).
pub const DUE_NOW_SQL: &str = due_now_sql!();

/// The part of what is open that disputes hold: open less what is due now.
pub fn held_of_open(open_minor: i64, held_minor: i64) -> i64 {
    open_minor - due_now(open_minor, held_minor)
}

/// [`held_of_open`] as SQL over an `invoices` row aliased `i`.
pub const HELD_OF_OPEN_SQL: &str = concat!("(i.open_minor - ", due_now_sql!(), ")");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_due_is_what_is_open_less_what_disputes_hold() {
        assert_eq!(due_now(10_000, 0), 10_000);
        assert_eq!(due_now(10_000, 2_500), 7_500);
        assert_eq!(held_of_open(10_000, 2_500), 2_500);
    }

    #[test]
    fn a_hold_larger_than_what_is_open_leaves_nothing_due_and_holds_only_what_is_open() {
        assert_eq!(due_now(1_000, 2_500), 0);
        assert_eq!(held_of_open(1_000, 2_500), 1_000);
        assert_eq!(due_now(0, 0), 0);
    }
}
