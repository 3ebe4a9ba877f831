//! The journal and the audit log, paged and filtered. Filter values are always numbered
//! parameters; the SQL around them is fixed text.

use super::{
    AUDIT_PER_PAGE, AuditFilter, AuditRow, JOURNAL_PER_PAGE, JournalEntryView, JournalFilter,
    JournalLineView, JournalPage,
};
use crate::db::{Conditions, Db, DbError, date_text};

/// The filters that are set (only those, so the unfiltered journal reads straight down its date
/// index).
fn entry_filter(filter: &JournalFilter) -> Conditions {
    let mut conditions = Conditions::new();
    if let Some(from) = filter.from {
        conditions.push_bind("e.effective_date >= $n", date_text(from));
    }
    if let Some(to) = filter.to {
        conditions.push_bind("e.effective_date <= $n", date_text(to));
    }
    if let Some(customer) = filter.customer_id {
        conditions.push_bind("e.customer_id = $n", customer);
    }
    if let Some(kind) = &filter.kind {
        conditions.push_bind("e.kind = $n", kind.as_str());
    }
    if let Some(account) = &filter.account {
        conditions.push_bind(
            "EXISTS (SELECT 1 FROM journal_lines f WHERE f.entry_id = e.id AND f.account_code = $n)",
            account.as_str(),
        );
    }
    conditions
}

/// Entry rows with the customer's name; `with_lines` reads them.
const ENTRY_SELECT: &str = "SELECT e.id, e.business_key, e.kind, e.effective_date, e.posted_at, \
     e.memo, c.name AS customer FROM journal_entries e LEFT JOIN customers c ON c.id = e.customer_id";

/// Entries newest first, each with its lines, a page at a time from `filter.after`: every page
/// costs the same however old it is, and nothing counts the whole journal.
pub async fn entries(db: &Db, filter: &JournalFilter) -> Result<JournalPage, DbError> {
    let mut conditions = entry_filter(filter);
    if let Some((day, id)) = filter.after {
        conditions.push_binds(
            "(e.effective_date, e.id) < ($n, $n)",
            [date_text(day).into(), id.into()],
        );
    }
    let list_sql = format!(
        "{ENTRY_SELECT} {} ORDER BY e.effective_date DESC, e.id DESC LIMIT {}",
        conditions.where_clause(),
        JOURNAL_PER_PAGE + 1
    );
    // A staff report: the replica, when one is set, carries it.
    let pool = db.reports_pool();
    let mut rows: Vec<JournalEntryView> = sqlx::query_as_with(&list_sql, conditions.arguments()?)
        .fetch_all(pool)
        .await?;
    let next = crate::paging::end_page(&mut rows, JOURNAL_PER_PAGE as usize, |last| {
        (last.effective_date, last.id)
    });
    Ok(JournalPage {
        entries: with_lines(pool, rows).await?,
        next,
    })
}

/// These entries (everything one payment posted, say), oldest first, each with its lines.
pub async fn entries_by_id(db: &Db, ids: &[i64]) -> Result<Vec<JournalEntryView>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    // The ids are numbers, so they go into the SQL as literals.
    let rows = sqlx::query_as(&format!(
        "{ENTRY_SELECT} WHERE e.id IN ({list}) ORDER BY e.effective_date, e.id"
    ))
    .fetch_all(db.pool())
    .await?;
    with_lines(db.pool(), rows).await
}

/// Entries (in their order) with their lines, read in one query.
async fn with_lines(
    pool: &sqlx::AnyPool,
    mut entries: Vec<JournalEntryView>,
) -> Result<Vec<JournalEntryView>, DbError> {
    // Entry ids are numbers read from the database, so they go into the SQL as literals; a
    // page's ids are not contiguous (dates and ids differ in order).
    if entries.is_empty() {
        return Ok(entries);
    }
    let ids = entries
        .iter()
        .map(|e| e.id.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let lines = sqlx::query_as::<_, EntryLine>(&format!(
        "SELECT l.entry_id, l.account_code, a.name, l.currency, l.amount_minor, i.number \
         FROM journal_lines l JOIN accounts a ON a.code = l.account_code \
         LEFT JOIN invoices i ON i.id = l.invoice_id \
         WHERE l.entry_id IN ({ids}) ORDER BY l.entry_id, l.amount_minor DESC, l.id"
    ))
    .fetch_all(pool)
    .await?;
    for line in lines {
        if let Some(entry) = entries.iter_mut().find(|e| e.id == line.entry_id) {
            entry.lines.push(line.line);
        }
    }
    Ok(entries)
}

/// A journal line with the entry it belongs to.
#[derive(sqlx::FromRow)]
struct EntryLine {
    entry_id: i64,
    #[sqlx(flatten)]
    line: JournalLineView,
}

/// Audit records newest first.
pub async fn audit(db: &Db, filter: &AuditFilter) -> Result<Vec<AuditRow>, DbError> {
    let page = filter.page.max(1);
    let offset = i64::from(page - 1) * i64::from(AUDIT_PER_PAGE);
    let actor =
        (!filter.actor.trim().is_empty()).then(|| crate::db::contains_pattern(&filter.actor));
    let action = (!filter.action.trim().is_empty())
        .then(|| format!("{}%", crate::db::like_escaped(filter.action.trim())));
    // Timestamps are RFC 3339 text: a day's records sort between "day" and "day" + "T~".
    let from = filter.from.map(date_text);
    let to = filter.to.map(|d| format!("{}T~", date_text(d)));
    let rows = sqlx::query_as(&format!(
        "SELECT at, actor, action, subject, detail, ip FROM audit_log \
         WHERE ($1 IS NULL OR lower(actor) LIKE $1 ESCAPE '\\') \
           AND ($2 IS NULL OR action LIKE $2 ESCAPE '\\') \
           AND ($3 IS NULL OR at >= $3) AND ($4 IS NULL OR at <= $4) \
         ORDER BY at DESC, id DESC LIMIT {AUDIT_PER_PAGE} OFFSET {offset}"
    ))
    .bind(actor)
    .bind(action)
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use sqlx::Row;

    use super::*;
    use crate::testing::fixtures::*;
    use crate::testing::fresh_db;

    #[tokio::test]
    async fn the_journal_pages_newest_first_from_the_last_entry_shown_without_skipping_a_tie() {
        let db = fresh_db().await;
        let c = customer(&db, "C-1", crate::money::Currency::Usd, (30, 0, 0)).await;
        // Two entries a day, so page breaks fall inside a day.
        let total = JOURNAL_PER_PAGE as usize + 7;
        for n in 0..total {
            let day = date("2026-01-01") + chrono::Duration::days((n / 2) as i64);
            invoice(
                &db,
                c,
                &format!("INV-{n:03}"),
                crate::money::Currency::Usd,
                &day.to_string(),
                &[(100, 0)],
            )
            .await;
        }
        let first = entries(&db, &JournalFilter::default()).await.unwrap();
        assert_eq!(first.entries.len(), JOURNAL_PER_PAGE as usize);
        let second = entries(
            &db,
            &JournalFilter {
                after: first.next,
                ..JournalFilter::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(second.next, None);
        let order: Vec<(chrono::NaiveDate, i64)> = first
            .entries
            .iter()
            .chain(&second.entries)
            .map(|e| (e.effective_date, e.id))
            .collect();
        assert_eq!(order.len(), total, "every entry once");
        let mut newest_first = order.clone();
        newest_first.sort_by(|a, b| b.cmp(a));
        assert_eq!(order, newest_first);
        // A page's last row, as its link writes it, reads back as the same position.
        assert_eq!(
            crate::paging::parse_position(&format!("{}.{}", order[3].0, order[3].1), "journal"),
            Ok(Some(order[3]))
        );
    }

    #[tokio::test]
    async fn the_journal_lists_entries_with_balanced_lines_and_filters_by_customer_kind_and_account()
     {
        let db = fresh_db().await;
        crate::seed::seed_demo(&db).await.unwrap();
        let all = entries(&db, &JournalFilter::default()).await.unwrap();
        assert!(all.entries.len() >= 10);
        for entry in &all.entries {
            assert!(entry.lines.len() >= 2, "{entry:?}");
            assert_eq!(entry.lines.iter().map(|l| l.amount_minor).sum::<i64>(), 0);
        }
        let acme: i64 = sqlx::query("SELECT id FROM customers WHERE number = 'C-1001'")
            .fetch_one(db.pool())
            .await
            .unwrap()
            .get(0);
        let payments = entries(
            &db,
            &JournalFilter {
                customer_id: Some(acme),
                kind: Some("payment_received".into()),
                ..JournalFilter::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(payments.entries.len(), 2, "the demo wire and cheque");
        let bank = entries(
            &db,
            &JournalFilter {
                account: Some("1000".into()),
                ..JournalFilter::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(bank.entries.len(), 2);
        let none = entries(
            &db,
            &JournalFilter {
                from: Some(date("2001-01-01")),
                to: Some(date("2001-12-31")),
                ..JournalFilter::default()
            },
        )
        .await
        .unwrap();
        assert!(none.entries.is_empty() && none.next.is_none());
    }

    #[tokio::test]
    async fn the_audit_log_filters_by_actor_and_action_prefix_and_treats_wildcards_literally() {
        let db = fresh_db().await;
        for (actor, action) in [
            ("ann@ar.example", "dispute.opened"),
            ("ann@ar.example", "sign_in.ok"),
            ("bob@ar.example", "dispute.credit"),
        ] {
            crate::audit::record(db.pool(), None, actor, action, "s", "d", "")
                .await
                .unwrap();
        }
        let by = |actor: &str, action: &str| AuditFilter {
            actor: actor.into(),
            action: action.into(),
            ..AuditFilter::default()
        };
        assert_eq!(audit(&db, &by("ANN", "")).await.unwrap().len(), 2);
        assert_eq!(audit(&db, &by("", "dispute.")).await.unwrap().len(), 2);
        assert_eq!(audit(&db, &by("ann", "dispute.")).await.unwrap().len(), 1);
        assert_eq!(audit(&db, &by("%", "")).await.unwrap().len(), 0);
        assert_eq!(audit(&db, &by("", "_")).await.unwrap().len(), 0);
    }
}
