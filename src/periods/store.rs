//! Closing and reopening periods, audited in the same transaction; and the last closed day
//! (`closed_through_in`), which a posting reads when its header was not inserted on an open day.

use chrono::NaiveDate;
use sqlx::{Any, Transaction};

use super::{Month, PeriodAction, PeriodChange, PeriodError, Periods};
use crate::audit::Actor;
use crate::db::{Db, DbError, Engine, date_text, now_text};

#[derive(Debug, thiserror::Error)]
pub enum PeriodStoreError {
    #[error(transparent)]
    Refused(#[from] PeriodError),
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::from_sqlx_error!(PeriodStoreError);

/// The last closed day as SQL (NULL when nothing is closed): the latest change says. The one
/// text [`closed_through_in`] and a posting's header insert both read.
pub const LAST_CLOSED_DAY_SQL: &str =
    "(SELECT closed_through FROM period_closes ORDER BY id DESC LIMIT 1)";

/// The last closed day, if any: the latest change says.
pub async fn closed_through_in(
    tx: &mut Transaction<'_, Any>,
) -> Result<Option<NaiveDate>, DbError> {
    let through: Option<Option<String>> =
        sqlx::query_scalar(&format!("SELECT {LAST_CLOSED_DAY_SQL}"))
            .fetch_optional(&mut **tx)
            .await?;
    through
        .flatten()
        .map(|day| crate::db::parse_date(&day))
        .transpose()
}

/// Where the books stand, with the latest `limit` changes.
pub async fn periods(db: &Db, limit: i64) -> Result<Periods, DbError> {
    let history: Vec<PeriodChange> = sqlx::query_as(
        "SELECT action, month, closed_through, reason, changed_by, changed_at \
         FROM period_closes ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(Periods {
        closed_through: history.first().and_then(|latest| latest.closed_through),
        history,
    })
}

/// Closes `month` (and every month before it) as of `today`. On PostgreSQL the close first
/// waits for postings in flight and holds new ones until it commits, so none lands in the
/// period after it was checked, and a posting never meets the database's refusal instead of
/// the engine's.
pub async fn close_month(
    db: &Db,
    month: Month,
    today: NaiveDate,
    actor: Actor<'_>,
) -> Result<NaiveDate, PeriodStoreError> {
    let mut tx = db.begin_write().await?;
    hold_postings(&mut tx, db.engine()).await?;
    let through = super::close(closed_through_in(&mut tx).await?, month, today)?;
    record(&mut tx, PeriodAction::Close, month, through, "", actor).await?;
    tx.commit().await?;
    Ok(through)
}

/// Reopens `month` (and every month after it), with the reason.
pub async fn reopen_month(
    db: &Db,
    month: Month,
    reason: &str,
    actor: Actor<'_>,
) -> Result<NaiveDate, PeriodStoreError> {
    let mut tx = db.begin_write().await?;
    hold_postings(&mut tx, db.engine()).await?;
    let through = super::reopen(closed_through_in(&mut tx).await?, month, reason)?;
    record(
        &mut tx,
        PeriodAction::Reopen,
        month,
        through,
        reason.trim(),
        actor,
    )
    .await?;
    tx.commit().await?;
    Ok(through)
}

/// SQLite's write transaction already excludes every other writer. On PostgreSQL this mode
/// waits for postings in flight (each holds ROW EXCLUSIVE from before it reads the period, see
/// `ledger::store::post`), holds new ones until the change commits, and excludes a second
/// close or reopening at the same time.
async fn hold_postings(tx: &mut Transaction<'_, Any>, engine: Engine) -> Result<(), DbError> {
    if engine == Engine::Postgres {
        sqlx::query("LOCK TABLE journal_entries IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

async fn record(
    tx: &mut Transaction<'_, Any>,
    action: PeriodAction,
    month: Month,
    through: NaiveDate,
    reason: &str,
    actor: Actor<'_>,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO period_closes (action, month, closed_through, reason, changed_by, changed_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(action.as_str())
    .bind(month.key())
    .bind(date_text(through))
    .bind(reason)
    .bind(actor.name)
    .bind(now_text())
    .execute(&mut **tx)
    .await?;
    let detail = match action {
        PeriodAction::Close => format!(
            "{} closed; the books are closed through {through}",
            month.label()
        ),
        PeriodAction::Reopen => {
            format!(
                "{} reopened ({reason}); the books are closed through {through}",
                month.label()
            )
        }
    };
    actor
        .record(
            &mut **tx,
            &format!("period.{}", action.as_str()),
            &format!("period:{}", month.key()),
            &detail,
        )
        .await
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use super::*;
    use crate::ledger::store::{PostError, post};
    use crate::ledger::{Account, BalancedEntry, DateSource, EntryKind, EntryLine, LedgerError};
    use crate::money::{Currency, Money};
    use crate::testing::fixtures::{assert_ledger_healthy, date};
    use crate::testing::fresh_db;

    const MANAGER: Actor<'static> = Actor {
        user_id: None,
        name: "manager@ledgerport.example",
    };

    fn fee(key: &str, on: &str, source: DateSource) -> BalancedEntry {
        let usd = Money::from_minor(1_250, Currency::Usd);
        BalancedEntry::new(
            key,
            EntryKind::Payout,
            date(on),
            None,
            "a fee",
            vec![
                EntryLine::debit(Account::ProcessingFees, usd),
                EntryLine::credit(Account::StripeClearing, usd),
            ],
        )
        .unwrap()
        .dated_by(source)
    }

    async fn try_post(db: &Db, entry: &BalancedEntry) -> Result<(i64, bool), PostError> {
        let mut tx = db.begin_write().await.unwrap();
        let posted = post(&mut tx, entry).await?;
        tx.commit().await.unwrap();
        Ok((posted.entry_id, posted.replayed))
    }

    async fn dates_of(db: &Db, key: &str) -> (String, Option<String>) {
        sqlx::query_as(
            "SELECT effective_date, occurred_on FROM journal_entries WHERE business_key = $1",
        )
        .bind(key)
        .fetch_one(db.pool())
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn a_chosen_date_in_a_closed_month_is_refused_naming_the_period_and_an_event_moves_to_the_first_open_day_once()
     {
        let db = fresh_db().await;
        let before = fee("fee:before", "2026-11-10", DateSource::Chosen);
        try_post(&db, &before).await.unwrap();
        let november = Month::parse("2026-11").unwrap();
        let through = close_month(&db, november, date("2026-12-05"), MANAGER)
            .await
            .unwrap();
        assert_eq!(through, date("2026-11-30"));

        let refused = try_post(&db, &fee("fee:chosen", "2026-11-20", DateSource::Chosen))
            .await
            .unwrap_err();
        assert!(matches!(
            refused,
            PostError::Ledger(LedgerError::PeriodClosed { .. })
        ));
        assert!(
            refused.to_string().contains("closed through 2026-11-30"),
            "{refused}"
        );
        assert!(refused.to_string().contains("2026-12-01"), "{refused}");

        let late = fee("fee:late", "2026-11-20", DateSource::Event);
        let (entry, replayed) = try_post(&db, &late).await.unwrap();
        assert!(!replayed);
        assert_eq!(
            dates_of(&db, "fee:late").await,
            ("2026-12-01".into(), Some("2026-11-20".into()))
        );
        // The same event again, and an entry posted before the close, replay unchanged.
        assert_eq!(try_post(&db, &late).await.unwrap(), (entry, true));
        assert!(try_post(&db, &before).await.unwrap().1);
        assert_ledger_healthy(&db).await;
    }

    #[tokio::test]
    async fn the_database_refuses_a_row_dated_in_a_closed_period_whatever_inserts_it() {
        let db = fresh_db().await;
        close_month(
            &db,
            Month::parse("2026-10").unwrap(),
            date("2026-12-05"),
            MANAGER,
        )
        .await
        .unwrap();
        let direct = sqlx::query(
            "INSERT INTO journal_entries (business_key, kind, effective_date, posted_at, memo) \
             VALUES ('direct', 'payout', '2026-10-31', '2026-12-05T00:00:00Z', '')",
        )
        .execute(db.pool())
        .await;
        let error = direct.unwrap_err().to_string();
        assert!(error.contains("closed"), "{error}");
        let open_day = sqlx::query(
            "INSERT INTO journal_entries (business_key, kind, effective_date, posted_at, memo) \
             VALUES ('direct-open', 'payout', '2026-11-01', '2026-12-05T00:00:00Z', '')",
        )
        .execute(db.pool())
        .await;
        assert!(open_day.is_ok());
    }

    #[tokio::test]
    async fn reopening_needs_a_reason_is_audited_and_lets_the_month_take_entries_again() {
        let db = fresh_db().await;
        let november = Month::parse("2026-11").unwrap();
        close_month(&db, november, date("2026-12-05"), MANAGER)
            .await
            .unwrap();
        assert!(matches!(
            close_month(
                &db,
                Month::parse("2026-10").unwrap(),
                date("2026-12-05"),
                MANAGER
            )
            .await,
            Err(PeriodStoreError::Refused(PeriodError::AlreadyClosed { .. }))
        ));
        assert!(matches!(
            reopen_month(&db, november, " ", MANAGER).await,
            Err(PeriodStoreError::Refused(PeriodError::ReasonNeeded))
        ));
        let through = reopen_month(&db, november, "credit memo INV-1002 was missed", MANAGER)
            .await
            .unwrap();
        assert_eq!(through, date("2026-10-31"));
        try_post(&db, &fee("fee:reopened", "2026-11-20", DateSource::Chosen))
            .await
            .unwrap();

        let state = periods(&db, 10).await.unwrap();
        assert_eq!(state.closed_through, Some(date("2026-10-31")));
        assert_eq!(state.history.len(), 2);
        assert_eq!(state.history[0].action, PeriodAction::Reopen);
        assert_eq!(state.history[0].reason, "credit memo INV-1002 was missed");
        let audited: Vec<String> = sqlx::query_scalar(
            "SELECT action FROM audit_log WHERE subject = 'period:2026-11' ORDER BY id",
        )
        .fetch_all(db.pool())
        .await
        .unwrap();
        assert_eq!(audited, ["period.close", "period.reopen"]);
    }
}
