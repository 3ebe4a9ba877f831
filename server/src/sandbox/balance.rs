//! The sandbox's Stripe balance: every charge, refund and dispute it makes becomes a balance
//! transaction with Stripe's fee, available some time later; the payout run pays out what is
//! available per currency and announces it with a signed `payout.paid`, as Stripe's automatic
//! payouts do. Stripe's days are the sandbox's minutes.

use chrono::{DateTime, Utc};
use ledgerport::checkout::{PayoutContents, ProviderError};
use ledgerport::db::{Db, timestamp_text};
use ledgerport::money::Currency;
use ledgerport::payments::PaymentMethod;
use serde_json::json;

use super::{SandboxProvider, deliver, event, random_id};
use crate::webhooks::WebhookError;

/// How long collected money waits before it can be paid out (about two business days at
/// Stripe).
pub const FUNDS_AVAILABLE_AFTER: chrono::Duration = chrono::Duration::minutes(2);

/// What Stripe charges per payment, in the payment's minor units, on its standard pricing:
/// cards 2.9 % + 30 (1.5 % + 25 for EUR, 1.5 % + 20 for GBP), ACH Direct Debit 0.8 % capped
/// at $5, SEPA Direct Debit a flat €0.35.
pub fn payment_fee(method: PaymentMethod, currency: Currency, amount_minor: i64) -> i64 {
    // Rounded half up to the minor unit: per mille × amount, + 500 ÷ 1000.
    let percent = |per_mille: i64| (amount_minor * per_mille + 500) / 1000;
    match (method, currency) {
        (PaymentMethod::Ach, _) => percent(8).min(500),
        (PaymentMethod::SepaDebit, _) => 35,
        (_, Currency::Eur) => percent(15) + 25,
        (_, Currency::Gbp) => percent(15) + 20,
        _ => percent(29) + 30,
    }
}

/// Stripe's fee for a dispute (a chargeback or a returned debit).
pub fn dispute_fee(currency: Currency) -> i64 {
    match currency {
        Currency::Eur => 750,
        _ => 1500,
    }
}

/// One movement of the sandbox's balance.
pub struct BalanceEntry<'a> {
    /// The charge, refund or dispute it comes from; recording it again changes nothing.
    pub source: &'a str,
    /// Stripe's balance transaction type.
    pub kind: &'a str,
    pub currency: Currency,
    pub amount_minor: i64,
    pub fee_minor: i64,
}

/// Puts a movement on the balance, once per source.
pub async fn record(db: &Db, entry: &BalanceEntry<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sandbox_balance_transactions (id, source, type, currency, amount_minor, \
         fee_minor, available_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (source) DO NOTHING",
    )
    .bind(random_id("txn"))
    .bind(entry.source)
    .bind(entry.kind)
    .bind(entry.currency.code())
    .bind(entry.amount_minor)
    .bind(entry.fee_minor)
    .bind(timestamp_text(Utc::now() + FUNDS_AVAILABLE_AFTER))
    .execute(db.write_pool())
    .await?;
    Ok(())
}

/// The balance transactions a payout carried.
pub async fn contents(db: &Db, payout_id: &str) -> Result<PayoutContents, ProviderError> {
    let (transactions, fees_minor): (i64, i64) = sqlx::query_as(
        "SELECT count(*), CAST(COALESCE(sum(fee_minor), 0) AS BIGINT) \
         FROM sandbox_balance_transactions WHERE payout_id = $1",
    )
    .bind(payout_id)
    .fetch_one(db.pool())
    .await
    .map_err(|e| ProviderError::Unavailable(format!("the sandbox balance is unreadable: {e}")))?;
    Ok(PayoutContents {
        transactions,
        fees_minor,
    })
}

impl SandboxProvider {
    /// Pays out, per currency, every balance transaction available at `now` and not paid out
    /// yet, when together they come to more than zero (a negative balance waits for more
    /// charges), and announces each payout as `payout.paid`. Returns how many it made.
    pub async fn pay_out_available(&self, now: DateTime<Utc>) -> Result<usize, WebhookError> {
        let currencies: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT currency FROM sandbox_balance_transactions \
             WHERE payout_id IS NULL AND available_at <= $1 ORDER BY currency",
        )
        .bind(timestamp_text(now))
        .fetch_all(self.db.pool())
        .await?;
        let mut made = 0;
        for currency in currencies {
            if self.pay_out(&currency, now).await? {
                made += 1;
            }
        }
        Ok(made)
    }

    /// One currency's payout: the transactions are claimed for it in one transaction, so two
    /// runs never pay the same money twice; a payout that could not be announced gives them
    /// back for the next run.
    async fn pay_out(&self, currency: &str, now: DateTime<Utc>) -> Result<bool, WebhookError> {
        let payout_id = random_id("po");
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "UPDATE sandbox_balance_transactions SET payout_id = $1 \
             WHERE payout_id IS NULL AND currency = $2 AND available_at <= $3",
        )
        .bind(&payout_id)
        .bind(currency)
        .bind(timestamp_text(now))
        .execute(&mut *tx)
        .await?;
        let net: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(sum(amount_minor - fee_minor), 0) AS BIGINT) \
             FROM sandbox_balance_transactions WHERE payout_id = $1",
        )
        .bind(&payout_id)
        .fetch_one(&mut *tx)
        .await?;
        if net <= 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        let paid = event(
            "payout.paid",
            json!({
                "id": payout_id, "object": "payout", "amount": net,
                "currency": currency.to_lowercase(), "arrival_date": now.timestamp(),
                "automatic": true, "status": "paid", "statement_descriptor": "STRIPE",
            }),
        );
        if let Err(e) = deliver(self, &self.db, &self.webhook_secret, paid).await {
            sqlx::query(
                "UPDATE sandbox_balance_transactions SET payout_id = NULL WHERE payout_id = $1",
            )
            .bind(&payout_id)
            .execute(self.db.write_pool())
            .await?;
            return Err(e);
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_follow_stripes_standard_pricing_rounded_to_the_minor_unit() {
        assert_eq!(payment_fee(PaymentMethod::Card, Currency::Usd, 10_000), 320);
        assert_eq!(payment_fee(PaymentMethod::Card, Currency::Eur, 10_000), 175);
        assert_eq!(payment_fee(PaymentMethod::Card, Currency::Usd, 17), 30);
        assert_eq!(payment_fee(PaymentMethod::Ach, Currency::Usd, 10_000), 80);
        assert_eq!(
            payment_fee(PaymentMethod::Ach, Currency::Usd, 4_000_000),
            500
        );
        assert_eq!(
            payment_fee(PaymentMethod::SepaDebit, Currency::Eur, 4_000_000),
            35
        );
        assert_eq!(dispute_fee(Currency::Usd), 1500);
    }
}
