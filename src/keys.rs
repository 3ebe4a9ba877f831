//! Every business key the engine writes, in one place. A business key names a money movement
//! once and for all: the ledger posts one entry per key (a replay with the same content returns
//! the first entry; different content under a used key is a conflict), so a key's shape decides
//! what counts as "the same payment". Keys are part of the stored data: changing a shape here
//! would let an old movement post again.

const CARD_PAYMENT: &str = "stripe:";

/// A payment through the provider (card or bank debit), by the provider's payment id (several
/// events of one payment post once).
pub fn card_payment(provider_payment: &str) -> String {
    format!("{CARD_PAYMENT}{provider_payment}")
}

/// The provider's payment id inside a card payment's key (the inverse of `card_payment`).
pub fn provider_payment_of(payment_key: &str) -> &str {
    payment_key
        .strip_prefix(CARD_PAYMENT)
        .unwrap_or(payment_key)
}

/// A payment staff record from a remittance: once per customer and cheque or transfer reference.
pub fn offline_payment(customer_id: i64, reference: &str) -> String {
    format!("offline:{customer_id}:{reference}")
}

/// Money a bank statement line brought, once per account and bank reference (the same line in
/// another file is the same payment).
pub fn bank_line(account: &str, bank_reference: &str) -> String {
    format!("bank:{account}:{bank_reference}")
}

/// One customer's share of a bank line staff split over several customers (`line_key` is
/// [`bank_line`]).
pub fn bank_line_share(line_key: &str, customer_id: i64) -> String {
    format!("{line_key}:customer:{customer_id}")
}

/// The write-off of what a bank line's payment left unpaid on an invoice.
pub fn short_pay_write_off(line_id: i64, invoice_id: i64) -> String {
    format!("short-pay:{line_id}:{invoice_id}")
}

/// The ledger entry of a payment with business key `payment_key`.
pub fn payment_entry(payment_key: &str) -> String {
    format!("payment:{payment_key}")
}

/// The ledger entry of a credit application with business key `credit_key`.
pub fn credit_entry(credit_key: &str) -> String {
    format!("credit:{credit_key}")
}

/// The ledger entry of an adjustment (credit memo, write-off, refund, void).
pub fn adjustment_entry(adjustment_key: &str) -> String {
    format!("adjustment:{adjustment_key}")
}

/// Credit a payer uses in the pay flow before paying the rest by card; `nonce` is random, each
/// use is its own application.
pub fn portal_credit(nonce: &str) -> String {
    format!("portal-credit:{nonce}")
}

/// Credit staff apply to what is due; `nonce` is random, each click is its own application.
pub fn staff_credit(nonce: &str) -> String {
    format!("staff-credit:{nonce}")
}

/// The reversal that voids an invoice: at most once per invoice.
pub fn invoice_void(invoice_id: i64) -> String {
    format!("void:{invoice_id}")
}

/// A credit memo the ERP sends under its own document number.
pub fn credit_memo(number: &str) -> String {
    format!("credit-memo:{number}")
}

/// The credit memo that resolves a line-item dispute in the customer's favour.
pub fn dispute_credit(dispute_id: i64) -> String {
    format!("dispute-{dispute_id}-credit")
}

/// A card chargeback, by the provider's dispute id.
pub fn chargeback(provider_dispute: &str) -> String {
    format!("chargeback:{provider_dispute}")
}

/// The reversal of a bank debit's receipt when the bank returns it, once per provider dispute.
pub fn payment_return(provider_dispute: &str) -> String {
    format!("return:{provider_dispute}")
}

/// The money of a returned bank debit coming back (the provider decided its dispute as won).
pub fn return_won(provider_dispute: &str) -> String {
    format!("return_won:{provider_dispute}")
}

/// A provider payout reaching the company's bank account, by the provider's payout id.
pub fn payout(provider_payout: &str) -> String {
    format!("payout:{provider_payout}")
}

/// A payout that failed after it was paid: its money goes back to the provider's balance.
pub fn payout_failed(provider_payout: &str) -> String {
    format!("payout:{provider_payout}:failed")
}

/// The outcome (won or lost) of a card chargeback.
pub fn chargeback_closed(provider_dispute: &str) -> String {
    format!("chargeback-closed:{provider_dispute}")
}

/// Every refund of one provider payment has a key that starts with this; the rest names the
/// refund. Compared as an exact prefix (LIKE ignores case on SQLite; provider ids do not).
pub fn card_refund_prefix(provider_payment: &str) -> String {
    format!("stripe-refund:{provider_payment}:")
}
