//! The receivables core every money movement stands on: what a customer owes now, and (behind
//! `ssr`) the primitives that change it: the customer lock, an invoice's open and held amounts,
//! and the customer's unapplied credit. Payments, adjustments, checkout, refunds and disputes
//! depend on this module and not on each other's stores.

#[cfg(feature = "ssr")]
pub mod store;

/// What is due now on one invoice: its open amount less what active disputes hold and less what
/// is already on its way (an open checkout or a processing bank debit), never below zero (a
/// hold can exceed what is open when staff applied an offline payment to the held part). The
/// one definition of "due": summary, the pay flow, reminders and disputes all call this or its
/// SQL twin [`DUE_NOW_SQL`].
pub fn due_now(open_minor: i64, held_minor: i64, pending_minor: i64) -> i64 {
    (open_minor - held_minor - pending_minor).max(0)
}

/// [`due_now`] as SQL over an `invoices` row aliased `i`. Both engines evaluate it the same way
/// (checked against the Rust rule in `store`'s tests).
pub const DUE_NOW_SQL: &str = "(CASE WHEN i.open_minor > i.held_minor + i.pending_minor \
     THEN i.open_minor - i.held_minor - i.pending_minor ELSE 0 END)";

/// An active payment plan covers the invoice aliased `i`: its instalments, not its due date,
/// say what is asked for now (`crate::plans`). Reminders, "pay everything due" and autopay leave
/// such an invoice to the plan.
pub const ON_ACTIVE_PLAN_SQL: &str = "EXISTS (SELECT 1 FROM payment_plan_invoices ppi \
     JOIN payment_plans pp ON pp.id = ppi.plan_id \
     WHERE ppi.invoice_id = i.id AND pp.status = 'active')";

/// An open payment plan (offered, requested or active) covers the invoice aliased `i`: no
/// promise to pay and no other plan may take it.
pub const ON_OPEN_PLAN_SQL: &str = "EXISTS (SELECT 1 FROM payment_plan_invoices ppi \
     JOIN payment_plans pp ON pp.id = ppi.plan_id \
     WHERE ppi.invoice_id = i.id AND pp.status IN ('offered', 'requested', 'active'))";

/// The part of what is open that disputes hold: the hold, capped at what is open.
pub fn held_of_open(open_minor: i64, held_minor: i64) -> i64 {
    held_minor.min(open_minor)
}

/// [`held_of_open`] as SQL over an `invoices` row aliased `i`.
pub const HELD_OF_OPEN_SQL: &str =
    "(CASE WHEN i.held_minor < i.open_minor THEN i.held_minor ELSE i.open_minor END)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_due_is_what_is_open_less_what_disputes_hold() {
        assert_eq!(due_now(10_000, 0, 0), 10_000);
        assert_eq!(due_now(10_000, 2_500, 0), 7_500);
        assert_eq!(held_of_open(10_000, 2_500), 2_500);
    }

    #[test]
    fn a_hold_larger_than_what_is_open_leaves_nothing_due_and_holds_only_what_is_open() {
        assert_eq!(due_now(1_000, 2_500, 0), 0);
        assert_eq!(held_of_open(1_000, 2_500), 1_000);
        assert_eq!(due_now(0, 0, 0), 0);
    }

    #[test]
    fn money_on_its_way_is_not_due_again() {
        assert_eq!(due_now(10_000, 0, 4_000), 6_000);
        assert_eq!(due_now(10_000, 2_500, 7_500), 0);
        assert_eq!(due_now(1_000, 0, 3_000), 0);
    }
}
