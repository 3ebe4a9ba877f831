//! The audit log: who did what, when, from where. Written in the same transaction as the change
//! it describes wherever there is one.

use sqlx::{Any, Executor};

use crate::db::{DbError, now_text};

/// Appends one audit record.
pub async fn record<'e, E>(
    executor: E,
    actor_user_id: Option<i64>,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
    ip: &str,
) -> Result<(), DbError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(
        "INSERT INTO audit_log (at, actor_user_id, actor, action, subject, detail, ip) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(now_text())
    .bind(actor_user_id)
    .bind(actor)
    .bind(action)
    .bind(subject)
    .bind(detail)
    .bind(ip)
    .execute(executor)
    .await?;
    Ok(())
}

/// Who made a change, as the audit log names them: a signed-in person (their user id and
/// e-mail) or an API key (no user id, the key's label). Engine use cases that change money take
/// one and write the audit row in the transaction of the change, so neither lands without the
/// other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor<'a> {
    pub user_id: Option<i64>,
    pub name: &'a str,
}

impl Actor<'_> {
    /// Appends the audit row for `action` on `subject`, on `executor` (the change's transaction).
    pub async fn record<'e, E>(
        self,
        executor: E,
        action: &str,
        subject: &str,
        detail: &str,
    ) -> Result<(), DbError>
    where
        E: Executor<'e, Database = Any>,
    {
        record(
            executor,
            self.user_id,
            self.name,
            action,
            subject,
            detail,
            "",
        )
        .await
    }
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use super::Actor;
    use crate::adjustments::store::void_invoice;
    use crate::db::{Db, Engine};
    use crate::money::{Currency, Money};
    use crate::payments::PaymentMethod;
    use crate::payments::store::{OfflinePayment, apply_credit_to_due, record_offline_payment};
    use crate::testing::fixtures::*;
    use crate::testing::fresh_db;

    const CLERK: Actor<'static> = Actor {
        user_id: None,
        name: "clerk@ledgerport.example",
    };

    /// From here on every insert into the audit log fails, as a full disk or a broken
    /// constraint would make it fail in the middle of a staff action.
    async fn break_the_audit_log(db: &Db) {
        let statements: &[&str] = match db.engine() {
            Engine::Sqlite => &["CREATE TRIGGER audit_down BEFORE INSERT ON audit_log \
                 BEGIN SELECT RAISE(ABORT, 'the audit log is unavailable'); END"],
            Engine::Postgres => &[
                "CREATE FUNCTION audit_down() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'the audit log is unavailable'; END $$",
                "CREATE TRIGGER audit_down BEFORE INSERT ON audit_log \
                 FOR EACH ROW EXECUTE FUNCTION audit_down()",
            ],
        };
        for sql in statements {
            sqlx::query(sql).execute(db.pool()).await.unwrap();
        }
    }

    fn cheque(customer_id: i64, reference: &str, minor: i64) -> OfflinePayment {
        OfflinePayment {
            customer_id,
            method: PaymentMethod::Cheque,
            amount: Money::from_minor(minor, Currency::Usd),
            received: date("2026-11-10"),
            reference: reference.into(),
            remitted: Vec::new(),
        }
    }

    #[tokio::test]
    async fn a_staff_money_action_whose_audit_row_cannot_be_written_is_not_posted() {
        let db = fresh_db().await;
        let c = customer(&db, "C-1", Currency::Usd, (30, 0, 0)).await;
        let paid = invoice(&db, c, "INV-1", Currency::Usd, "2026-11-01", &[(10_000, 0)]).await;
        // A cheque larger than INV-1 leaves credit for "apply credit" to use on INV-2.
        record_offline_payment(&db, &cheque(c, "CHQ-1", 12_000), CLERK)
            .await
            .unwrap();
        let untouched = invoice(&db, c, "INV-2", Currency::Usd, "2026-11-02", &[(5_000, 0)]).await;
        let before = (
            rows(&db, "journal_entries").await,
            rows(&db, "payments").await,
            rows(&db, "audit_log").await,
        );
        break_the_audit_log(&db).await;

        // Each action fails because of the audit log, not for a reason of its own.
        let refusals = [
            record_offline_payment(&db, &cheque(c, "CHQ-2", 3_000), CLERK)
                .await
                .map(|_| ()),
            apply_credit_to_due(&db, c, date("2026-11-11"), CLERK)
                .await
                .map(|_| ()),
            void_invoice(&db, c, untouched, "sent twice", date("2026-11-11"), CLERK)
                .await
                .map(|_| ()),
        ];
        for refusal in refusals {
            let error = refusal
                .expect_err("the action must fail with its audit row")
                .to_string();
            assert!(error.contains("the audit log is unavailable"), "{error}");
        }

        let after = (
            rows(&db, "journal_entries").await,
            rows(&db, "payments").await,
            rows(&db, "audit_log").await,
        );
        assert_eq!(after, before, "nothing was posted, paid or audited");
        assert_eq!(open_minor(&db, paid).await, 0);
        assert_eq!(open_minor(&db, untouched).await, 5_000);
        assert_ledger_healthy(&db).await;
    }

    #[tokio::test]
    async fn a_staff_money_action_is_audited_once_and_its_replay_is_not() {
        let db = fresh_db().await;
        let c = customer(&db, "C-1", Currency::Usd, (30, 0, 0)).await;
        invoice(&db, c, "INV-1", Currency::Usd, "2026-11-01", &[(10_000, 0)]).await;
        let first = record_offline_payment(&db, &cheque(c, "CHQ-1", 4_000), CLERK)
            .await
            .unwrap();
        let again = record_offline_payment(&db, &cheque(c, "CHQ-1", 4_000), CLERK)
            .await
            .unwrap();
        assert!(again.replayed);
        assert_eq!(again.payment_id, first.payment_id);
        let audited: (String, String) = sqlx::query_as(
            "SELECT action, subject FROM audit_log WHERE actor = 'clerk@ledgerport.example'",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(
            audited,
            (
                "payment.recorded".to_string(),
                format!("payment:{}", first.payment_id)
            )
        );
    }
}
