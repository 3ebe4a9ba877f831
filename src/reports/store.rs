//! Report queries. All amounts come from journal lines filtered by effective date.

use chrono::NaiveDate;
use sqlx::{AnyConnection, Row};

use super::{
    AccountSummary, ActivityLine, Aging, AgingReport, CollectionMetrics, ControlCheck,
    CustomerAging, DailyCollection, ExpectedWeek, HealthReport, OpenItem, Statement, StatementLine,
    TrialBalanceRow, bucket_limits, expected_week, week_start,
};
use crate::db::{Db, DbError, date_text, parse_date};
use crate::disputes::HOLDING_STATUSES_SQL;
use crate::ledger::Account;
use crate::ledger::daily::BOOK_BY_DAY;
use crate::money::{Currency, Money};
use crate::plans::{PlanDue, PlanStatus};
use crate::receivables::{DUE_NOW_SQL, HELD_OF_OPEN_SQL};

// The chart's codes, written into the SQL text (a literal, not a parameter, so the planner sees it).
const AR: &str = Account::AccountsReceivable.code();
const UNAPPLIED: &str = Account::UnappliedCredit.code();

/// True when nothing is posted after `as_of`, so the cached open amounts on invoices (kept in
/// the same transaction as every posting, and re-checked by `ledger_health`) equal the ledger
/// as of that date. Reports then read the small invoice index instead of every journal line.
async fn cache_is_current(
    conn: impl sqlx::Executor<'_, Database = sqlx::Any>,
    as_of: NaiveDate,
    customer_id: Option<i64>,
) -> Result<bool, DbError> {
    // The latest posting day, read from the end of an index (the newest entry's, or the
    // account's), never a range with the date as a parameter: PostgreSQL's generic plan for a
    // prepared `effective_date > $1 LIMIT 1` scans the whole journal when no row matches.
    let latest: Option<String> = match customer_id {
        Some(id) => sqlx::query_scalar(
            "SELECT max(effective_date) FROM journal_entries WHERE customer_id = $1",
        )
        .bind(id),
        None => sqlx::query_scalar("SELECT max(effective_date) FROM journal_entries"),
    }
    .fetch_one(conn)
    .await?;
    Ok(latest.is_none_or(|day| day <= date_text(as_of)))
}

/// The aging bucket (0 current … 4 over 90 days) of invoice `i`, given `bucket_limits` as $1..$4:
/// the SQL twin of `reports::bucket_of`.
const BUCKET: &str = "CASE WHEN i.due_date >= $1 THEN 0 WHEN i.due_date >= $2 THEN 1 \
     WHEN i.due_date >= $3 THEN 2 WHEN i.due_date >= $4 THEN 3 ELSE 4 END";

/// The aging report: every customer with something open as of `as_of`, largest balance first.
/// As in `aging`, today's dispute holds show only when `as_of` is current.
pub async fn aging_by_customer(db: &Db, as_of: NaiveDate) -> Result<Vec<CustomerAging>, DbError> {
    let current = cache_is_current(db.reports_pool(), as_of, None).await?;
    aging_among(db, as_of, None, current).await
}

/// A page of the aging report as of `as_of`: the book's totals and 50 customers from `after`.
/// As of today the page is read through the customers' kept open balances, largest first, so it
/// costs the same on any book. A past date lists accounts newest first and reads the journal of
/// the accounts it shows only (see [`AgingReport`]).
pub async fn aging_report(
    db: &Db,
    as_of: NaiveDate,
    after: Option<(i64, i64)>,
) -> Result<AgingReport, DbError> {
    let ranked_by_balance = cache_is_current(db.reports_pool(), as_of, None).await?;
    let totals = book_aging_when(db, as_of, ranked_by_balance).await?;
    // A position from the other order (a posting changed it between two pages) starts over.
    let after = after.filter(|(rank, _)| (*rank == BY_ACCOUNT) != ranked_by_balance);
    let (customers, next) = if ranked_by_balance {
        let query = crate::customers::CustomerListQuery {
            after,
            open_only: true,
            ..Default::default()
        };
        let page = crate::customers::store::customer_page(db, &query).await?;
        let ids: Vec<i64> = page.rows.iter().map(|c| c.id).collect();
        let mut customers = aging_among(db, as_of, Some(&ids), true).await?;
        customers.sort_by_key(|c| std::cmp::Reverse((c.aging.total(), c.customer_id)));
        (customers, page.next)
    } else {
        past_aging_page(db, as_of, after.map(|(_, id)| id)).await?
    };
    Ok(AgingReport {
        as_of,
        totals,
        customers,
        ranked_by_balance,
        next,
    })
}

/// The first half of a page position listing accounts newest first; a balance is never negative.
const BY_ACCOUNT: i64 = -1;

/// Accounts read per round on a past date's page: most have something open, so one or two
/// rounds fill a page. The tests take a few at a time, so their pages need several rounds.
const PAST_PAGE_CANDIDATES: i64 = if cfg!(test) { 7 } else { 200 };

/// A past date's page: the next 50 accounts (newest first, before `before_id`) with something
/// open as of `as_of`, and the position after them.
async fn past_aging_page(
    db: &Db,
    as_of: NaiveDate,
    before_id: Option<i64>,
) -> Result<(Vec<CustomerAging>, Option<(i64, i64)>), DbError> {
    let mut customers: Vec<CustomerAging> = Vec::new();
    let mut before = before_id.unwrap_or(i64::MAX);
    while customers.len() <= AgingReport::PAGE_ROWS {
        // Accounts invoiced by then: one that was not cannot owe anything yet.
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT c.id FROM customers c WHERE c.id < $1 AND EXISTS \
             (SELECT 1 FROM invoices i WHERE i.customer_id = c.id AND i.issue_date <= $2) \
             ORDER BY c.id DESC LIMIT $3",
        )
        .bind(before)
        .bind(date_text(as_of))
        .bind(PAST_PAGE_CANDIDATES)
        .fetch_all(db.reports_pool())
        .await?;
        let Some(&last) = ids.last() else { break };
        before = last;
        let mut round = aging_among(db, as_of, Some(&ids), false).await?;
        round.sort_by_key(|c| std::cmp::Reverse(c.customer_id));
        customers.extend(round);
        if i64::try_from(ids.len()).unwrap_or(0) < PAST_PAGE_CANDIDATES {
            break;
        }
    }
    let next = crate::paging::end_page(&mut customers, AgingReport::PAGE_ROWS, |last| {
        (BY_ACCOUNT, last.customer_id)
    });
    Ok((customers, next))
}

/// `aging_by_customer` for the given accounts only (a page of the staff list).
pub async fn aging_of_customers(
    db: &Db,
    as_of: NaiveDate,
    customer_ids: &[i64],
) -> Result<Vec<CustomerAging>, DbError> {
    let current = cache_is_current(db.reports_pool(), as_of, None).await?;
    aging_among(db, as_of, Some(customer_ids), current).await
}

/// The aging of the given accounts (all when `None`), largest balance first. `current`: what
/// `cache_is_current(as_of)` said, so the invoices' open amounts may stand for the journal.
async fn aging_among(
    db: &Db,
    as_of: NaiveDate,
    customer_ids: Option<&[i64]>,
    current: bool,
) -> Result<Vec<CustomerAging>, DbError> {
    if customer_ids.is_some_and(<[i64]>::is_empty) {
        return Ok(Vec::new());
    }
    // Ids are integers, written into the SQL as numbers; named on both sides of the join, so
    // the customers are read by their keys.
    let list = customer_ids.map(|ids| {
        ids.iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    });
    let among = list.as_ref().map_or(String::new(), |list| {
        format!("AND i.customer_id IN ({list})")
    });
    let customers_among = list
        .as_ref()
        .map_or(String::new(), |list| format!("WHERE c.id IN ({list})"));
    let per_invoice = if current {
        format!(
            "SELECT i.customer_id, {BUCKET} AS bucket, i.open_minor, {HELD_OF_OPEN_SQL} AS held \
             FROM invoices i WHERE i.open_minor > 0 {among}"
        )
    } else {
        format!(
            "SELECT i.customer_id, {BUCKET} AS bucket, sum(l.amount_minor) AS open_minor, 0 AS held \
             FROM journal_lines l JOIN invoices i ON i.id = l.invoice_id \
             WHERE l.account_code = '{AR}' AND l.effective_date <= $5 {among} \
             GROUP BY i.id, i.customer_id, i.due_date"
        )
    };
    let sql = format!(
        "SELECT c.id, c.number, c.name, c.currency, p.bucket, \
                CAST(sum(p.open_minor) AS BIGINT) AS open_minor, CAST(sum(p.held) AS BIGINT) AS held \
         FROM ({per_invoice}) p JOIN customers c ON c.id = p.customer_id {customers_among} \
         GROUP BY c.id, c.number, c.name, c.currency, p.bucket"
    );
    let mut query = sqlx::query(&sql);
    for limit in bucket_limits(as_of).map(date_text) {
        query = query.bind(limit);
    }
    if !current {
        query = query.bind(date_text(as_of));
    }
    let mut report: Vec<CustomerAging> = Vec::new();
    // Rows of one customer are not adjacent in every plan: find its entry by id, not by scan.
    let mut index_of: std::collections::HashMap<i64, usize> = std::collections::HashMap::new();
    for row in query.fetch_all(db.reports_pool()).await? {
        let id: i64 = row.try_get("id")?;
        let index = match index_of.get(&id) {
            Some(&index) => index,
            None => {
                report.push(CustomerAging {
                    customer_id: id,
                    number: row.try_get("number")?,
                    name: row.try_get("name")?,
                    currency: crate::db::currency(&row.try_get::<String, _>("currency")?)?,
                    aging: Aging::default(),
                });
                index_of.insert(id, report.len() - 1);
                report.len() - 1
            }
        };
        let bucket: i64 = row.try_get("bucket")?;
        let open: i64 = row.try_get("open_minor")?;
        let held: i64 = row.try_get("held")?;
        let aging = &mut report[index].aging;
        // `held` sums `HELD_OF_OPEN_SQL`, so `open - held` sums `receivables::due_now`.
        aging.add(usize::try_from(bucket).unwrap_or(4), open - held);
        aging.in_dispute += held;
    }
    report.retain(|c| c.aging.total() != 0);
    // The aging report's page order too (balance, then newest account).
    report.sort_by_key(|c| std::cmp::Reverse((c.aging.total(), c.customer_id)));
    Ok(report)
}

/// One customer's open receivables by aging bucket as of `as_of`, from its open items in Rust
/// (`reports::bucket_of`): the tests' oracle for the SQL-bucketed reports. The product reads an
/// account's aging with its summary, or, for staff, through [`aging_of_customers`].
#[cfg(test)]
pub async fn aging(db: &Db, as_of: NaiveDate, customer_id: i64) -> Result<Aging, DbError> {
    Ok(Aging::of_items(
        &open_items(db, customer_id, as_of).await?,
        as_of,
    ))
}

/// The whole book's open receivables by aging bucket as of `as_of`, per currency (in code
/// order), from the receivables summary (`ledger::daily`): a few hundred rows a year of book,
/// not every journal line. As elsewhere, today's dispute holds show only when `as_of` is current.
pub async fn book_aging(db: &Db, as_of: NaiveDate) -> Result<Vec<(Currency, Aging)>, DbError> {
    let current = cache_is_current(db.reports_pool(), as_of, None).await?;
    book_aging_when(db, as_of, current).await
}

/// [`book_aging`], told what `cache_is_current(as_of)` said (today's holds show only then).
async fn book_aging_when(
    db: &Db,
    as_of: NaiveDate,
    current: bool,
) -> Result<Vec<(Currency, Aging)>, DbError> {
    let by_due_date = BUCKET.replace("i.due_date", "b.due_date");
    let sql = format!(
        "SELECT b.currency, {by_due_date} AS bucket, CAST(sum(b.amount_minor) AS BIGINT) \
         FROM {BOOK_BY_DAY} b WHERE b.effective_date <= $5 GROUP BY 1, 2 ORDER BY 1, 2"
    );
    let mut query = sqlx::query(&sql);
    for limit in bucket_limits(as_of).map(date_text) {
        query = query.bind(limit);
    }
    let mut book: Vec<(Currency, Aging)> = Vec::new();
    for row in query
        .bind(date_text(as_of))
        .fetch_all(db.reports_pool())
        .await?
    {
        let currency = crate::db::currency(&row.try_get::<String, _>(0)?)?;
        let bucket: i64 = row.try_get(1)?;
        let open: i64 = row.try_get(2)?;
        if book.last().is_none_or(|(c, _)| *c != currency) {
            book.push((currency, Aging::default()));
        }
        if let Some((_, aging)) = book.last_mut() {
            aging.add(usize::try_from(bucket).unwrap_or(4), open);
        }
    }
    if current {
        // Held amounts move from their bucket to "in dispute"; few invoices are held, so this is
        // read through `invoices_held`. The `+` keeps SQLite, which has no statistics here, from
        // walking every open invoice through `invoices_open_amount` instead (0.1 s on 110,000).
        let sql = format!(
            "SELECT i.currency, {BUCKET} AS bucket, CAST(sum({HELD_OF_OPEN_SQL}) AS BIGINT) \
             FROM invoices i WHERE i.held_minor > 0 AND +i.open_minor > 0 GROUP BY 1, 2"
        );
        let mut query = sqlx::query(&sql);
        for limit in bucket_limits(as_of).map(date_text) {
            query = query.bind(limit);
        }
        for row in query.fetch_all(db.reports_pool()).await? {
            let currency = crate::db::currency(&row.try_get::<String, _>(0)?)?;
            let bucket: i64 = row.try_get(1)?;
            let held: i64 = row.try_get(2)?;
            if let Some((_, aging)) = book.iter_mut().find(|(c, _)| *c == currency) {
                aging.add(usize::try_from(bucket).unwrap_or(4), -held);
                aging.in_dispute += held;
            }
        }
    }
    book.retain(|(_, aging)| *aging != Aging::default());
    Ok(book)
}

/// What a customer sees first: balance, overdue, credit, next due date, aging.
pub async fn account_summary(
    db: &Db,
    customer_id: i64,
    as_of: NaiveDate,
) -> Result<Option<AccountSummary>, DbError> {
    // One connection for the page's reads: the pool pings each connection it gets back.
    let mut conn = db.pool().acquire().await?;
    // The account's currency, whether anything is posted after `as_of` (see
    // `cache_is_current`), its unapplied credit, its open payment plan's status (at most one:
    // `payment_plans_one_open`) and how many promises it has open, in one round trip: this is
    // every contact's start page.
    let Some(row) = sqlx::query(&format!(
        "SELECT c.currency, \
                (SELECT p.status FROM payment_plans p WHERE p.customer_id = c.id \
                 AND p.status IN ('offered', 'requested', 'active')) AS plan_status, \
                (SELECT count(*) FROM payment_promises p WHERE p.customer_id = c.id \
                 AND p.status = 'open') AS open_promises, \
                {} AS current, \
                (SELECT COALESCE(CAST(sum(l.amount_minor) AS BIGINT), 0) FROM journal_lines l \
                 WHERE l.customer_id = c.id AND l.account_code = '{UNAPPLIED}' \
                   AND l.effective_date <= $2) AS credit \
         FROM customers c WHERE c.id = $1",
        nothing_posted_after("$2")
    ))
    .bind(customer_id)
    .bind(date_text(as_of))
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let currency = crate::db::currency(&row.try_get::<String, _>("currency")?)?;
    let current = row.try_get::<i64, _>("current")? == 1;
    let credit: i64 = row.try_get("credit")?;
    let open_promises: i64 = row.try_get("open_promises")?;
    let plan_status = row
        .try_get::<Option<String>, _>("plan_status")?
        .map(|status| PlanStatus::try_from(status).map_err(|e| DbError::Corrupt(e.to_string())))
        .transpose()?;
    let open_items = open_items_read(&mut conn, customer_id, as_of, current).await?;
    let aging = Aging::of_items(&open_items, as_of);
    // An active payment plan's instalments, not its invoices' due dates, say what is due and
    // what is late on them.
    let plan = if plan_status == Some(PlanStatus::Active) {
        crate::plans::store::active_plan(&mut conn, customer_id, as_of).await?
    } else {
        None
    };
    let on_plan = |id: i64| {
        plan.as_ref()
            .is_some_and(|p| p.invoices.iter().any(|(i, _)| *i == id))
    };
    let due =
        |i: &OpenItem| crate::receivables::due_now(i.open_minor, i.held_minor, i.pending_minor);
    let unplanned: Vec<&OpenItem> = open_items
        .iter()
        .filter(|i| !on_plan(i.invoice_id))
        .collect();
    let mut next_due = unplanned
        .iter()
        .filter(|i| i.due_date >= as_of)
        .map(|i| i.due_date)
        .min()
        .map(|date| {
            let amount = unplanned
                .iter()
                .filter(|i| i.due_date == date)
                .map(|i| due(i))
                .sum();
            (date, amount)
        });
    if let Some(next) = plan.as_ref().and_then(|p| p.standing.next) {
        next_due = match next_due {
            Some((date, amount)) if date == next.due_date => {
                Some((date, amount + next.amount_minor))
            }
            Some((date, amount)) if date < next.due_date => Some((date, amount)),
            _ => Some((next.due_date, next.amount_minor)),
        };
    }
    let due_now_minor = unplanned.iter().map(|i| due(i)).sum::<i64>()
        + plan.as_ref().map_or(0, |p| p.standing.due_now_minor);
    let planned_past_due: i64 = open_items
        .iter()
        .filter(|i| on_plan(i.invoice_id) && i.due_date < as_of)
        .map(|i| i.open_minor - i.held_minor)
        .sum();
    let overdue_minor =
        aging.past_due() - planned_past_due + plan.as_ref().map_or(0, |p| p.standing.late_minor);
    let in_payment_minor = open_items.iter().map(|i| i.pending_minor).sum();
    Ok(Some(AccountSummary {
        currency,
        as_of,
        balance_due_minor: aging.total(),
        in_dispute_minor: aging.in_dispute,
        overdue_minor,
        unapplied_credit_minor: -credit,
        due_now_minor,
        in_payment_minor,
        next_due,
        plan: plan.map(|p| PlanDue {
            plan_id: p.id,
            due_now_minor: p.standing.due_now_minor,
            late_minor: p.standing.late_minor,
            next: p.standing.next,
            next_items: p.next_items(),
        }),
        pending_plan: plan_status.filter(|status| *status != PlanStatus::Active),
        open_promises,
        open_invoices: open_items.len() as i64,
        aging,
    }))
}

/// Invoices with an open amount as of `as_of`, oldest due first.
#[cfg(test)]
pub async fn open_items(
    db: &Db,
    customer_id: i64,
    as_of: NaiveDate,
) -> Result<Vec<OpenItem>, DbError> {
    let mut conn = db.pool().acquire().await?;
    let current = cache_is_current(&mut *conn, as_of, Some(customer_id)).await?;
    open_items_read(&mut conn, customer_id, as_of, current).await
}

/// A customer's invoices with an open amount as of `as_of`, oldest due first, once the caller
/// knows whether the invoices' cached open amounts are current.
async fn open_items_read(
    conn: &mut AnyConnection,
    customer_id: i64,
    as_of: NaiveDate,
    current: bool,
) -> Result<Vec<OpenItem>, DbError> {
    let rows: Vec<OpenItem> = if current {
        sqlx::query_as(&format!(
            "SELECT i.id, i.number, i.due_date, i.open_minor, {HELD_OF_OPEN_SQL} AS held_minor, \
             i.pending_minor FROM invoices i WHERE i.customer_id = $1 AND i.open_minor > 0 ORDER BY i.due_date, i.id"
        ))
        .bind(customer_id)
        .fetch_all(&mut *conn)
        .await?
    } else {
        sqlx::query_as(&format!(
            "SELECT i.id, i.number, i.due_date, CAST(sum(l.amount_minor) AS BIGINT) AS open_minor, \
             CAST(0 AS BIGINT) AS held_minor, CAST(0 AS BIGINT) AS pending_minor \
             FROM journal_lines l JOIN invoices i ON i.id = l.invoice_id \
             WHERE l.customer_id = $1 AND l.account_code = '{AR}' AND l.effective_date <= $2 \
             GROUP BY i.id, i.number, i.due_date HAVING sum(l.amount_minor) <> 0 \
             ORDER BY i.due_date, i.id"
        ))
        .bind(customer_id)
        .bind(date_text(as_of))
        .fetch_all(&mut *conn)
        .await?
    };
    Ok(rows)
}

/// The customer's statement for `from..=to`. The balance is what the customer owes net of
/// unapplied credit (receivables plus the unapplied-credit sub-ledger).
pub async fn statement(
    db: &Db,
    customer_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Option<Statement>, DbError> {
    // One connection for the page's reads: the pool pings each connection it gets back.
    let mut conn = db.pool().acquire().await?;
    // The currency, the opening balance and whether the cached open amounts hold as of `to`,
    // in one round trip.
    let Some(row) = sqlx::query(&format!(
        "SELECT c.currency, \
                (SELECT COALESCE(CAST(sum(l.amount_minor) AS BIGINT), 0) FROM journal_lines l \
                 WHERE l.customer_id = c.id AND l.account_code IN ('{AR}', '{UNAPPLIED}') \
                   AND l.effective_date < $2) AS opening, \
                {} AS current \
         FROM customers c WHERE c.id = $1",
        nothing_posted_after("$3")
    ))
    .bind(customer_id)
    .bind(date_text(from))
    .bind(date_text(to))
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let currency = crate::db::currency(&row.try_get::<String, _>("currency")?)?;
    let opening: i64 = row.try_get("opening")?;
    let current = row.try_get::<i64, _>("current")? == 1;
    let mut balance = opening;
    let lines = account_entries(&mut conn, customer_id, from, to, None)
        .await?
        .into_iter()
        .map(|entry| {
            balance += entry.amount_minor;
            StatementLine {
                date: entry.date,
                kind: entry.kind,
                description: entry.description,
                amount_minor: entry.amount_minor,
                balance_minor: balance,
            }
        })
        .collect::<Vec<_>>();
    let open_items = open_items_read(&mut conn, customer_id, to, current).await?;
    Ok(Some(Statement {
        currency,
        from,
        to,
        opening_minor: opening,
        closing_minor: lines.last().map_or(opening, |l| l.balance_minor),
        lines,
        aging: Aging::of_items(&open_items, to),
    }))
}

/// SQL that is 1 when nothing of customer `c` is posted after the date in parameter `date`,
/// else 0: [`cache_is_current`] as a column of a query that reads the customer anyway.
fn nothing_posted_after(date: &str) -> String {
    format!(
        "CAST(CASE WHEN EXISTS (SELECT 1 FROM journal_entries e \
         WHERE e.customer_id = c.id AND e.effective_date > {date}) THEN 0 ELSE 1 END AS BIGINT)"
    )
}

/// The account's entries in `from..=to` as a statement lists them: the date, what it was, its
/// memo and what it did to the balance. `newest` keeps only that many, newest first (the
/// summary's recent activity); `None` keeps all, oldest first (a statement's lines).
async fn account_entries(
    conn: &mut AnyConnection,
    customer_id: i64,
    from: NaiveDate,
    to: NaiveDate,
    newest: Option<usize>,
) -> Result<Vec<ActivityLine>, DbError> {
    let order = match newest {
        Some(limit) => format!("e.effective_date DESC, e.id DESC LIMIT {limit}"),
        None => "e.effective_date, e.id".to_string(),
    };
    let rows = sqlx::query(&format!(
        "SELECT e.effective_date, e.kind, e.memo, CAST(sum(l.amount_minor) AS BIGINT) AS amount \
         FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id \
         WHERE l.customer_id = $1 AND l.account_code IN ('{AR}', '{UNAPPLIED}') \
           AND l.effective_date >= $2 AND l.effective_date <= $3 \
         GROUP BY e.id, e.effective_date, e.kind, e.memo HAVING sum(l.amount_minor) <> 0 \
         ORDER BY {order}"
    ))
    .bind(customer_id)
    .bind(date_text(from))
    .bind(date_text(to))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ActivityLine {
                date: parse_date(&row.try_get::<String, _>("effective_date")?)?,
                kind: row.try_get("kind")?,
                description: row.try_get("memo")?,
                amount_minor: row.try_get("amount")?,
            })
        })
        .collect()
}

/// The newest `limit` entries of `from..=to`, newest first, without a running balance: what
/// the summary's recent activity shows.
pub async fn recent_activity(
    db: &Db,
    customer_id: i64,
    from: NaiveDate,
    to: NaiveDate,
    limit: usize,
) -> Result<Vec<ActivityLine>, DbError> {
    let mut conn = db.pool().acquire().await?;
    account_entries(&mut conn, customer_id, from, to, Some(limit)).await
}

/// Debit and credit totals per account and currency, as of a date.
pub async fn trial_balance(db: &Db, as_of: NaiveDate) -> Result<Vec<TrialBalanceRow>, DbError> {
    let rows = sqlx::query_as(
        "SELECT a.code, a.name, l.currency, \
                COALESCE(CAST(sum(CASE WHEN l.amount_minor > 0 THEN l.amount_minor ELSE 0 END) AS BIGINT), 0) AS debit, \
                COALESCE(CAST(sum(CASE WHEN l.amount_minor < 0 THEN -l.amount_minor ELSE 0 END) AS BIGINT), 0) AS credit \
         FROM journal_lines l JOIN accounts a ON a.code = l.account_code \
         WHERE l.effective_date <= $1 GROUP BY a.code, a.name, l.currency ORDER BY a.code, l.currency",
    )
    .bind(date_text(as_of))
    .fetch_all(db.reports_pool())
    .await?;
    Ok(rows)
}

/// DSO and CEI for one customer's currency (or the whole book in `currency`) over `from..=to`.
pub async fn collection_metrics(
    db: &Db,
    currency: Currency,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<CollectionMetrics, DbError> {
    // One read of the receivables summary: the balance the day before the period and at its
    // end, the period's sales, and at its end what is not yet due.
    let row = sqlx::query(&format!(
        "SELECT \
           COALESCE(CAST(sum(CASE WHEN effective_date < $2 THEN amount_minor ELSE 0 END) AS BIGINT), 0), \
           COALESCE(CAST(sum(amount_minor) AS BIGINT), 0), \
           COALESCE(CAST(sum(CASE WHEN effective_date >= $2 THEN issued_minor ELSE 0 END) AS BIGINT), 0), \
           COALESCE(CAST(sum(CASE WHEN due_date >= $3 THEN amount_minor ELSE 0 END) AS BIGINT), 0) \
         FROM {BOOK_BY_DAY} b WHERE currency = $1 AND effective_date <= $3"
    ))
    .bind(currency.code())
    .bind(date_text(from))
    .bind(date_text(to))
    .fetch_one(db.reports_pool())
    .await?;
    let (beginning, ending, sales, current): (i64, i64, i64, i64) = (
        row.try_get(0)?,
        row.try_get(1)?,
        row.try_get(2)?,
        row.try_get(3)?,
    );
    let days = (to - from).num_days() + 1;
    Ok(CollectionMetrics::compute(
        beginning, sales, ending, current, days,
    ))
}

/// Cash received per day (payments by their received date), oldest first.
pub async fn collections_per_day(
    db: &Db,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<DailyCollection>, DbError> {
    let rows = sqlx::query_as(
        "SELECT received_date, currency, CAST(sum(amount_minor) AS BIGINT) AS amount, \
                count(*) AS payments \
         FROM payments WHERE received_date >= $1 AND received_date <= $2 \
         GROUP BY received_date, currency ORDER BY received_date, currency",
    )
    .bind(date_text(from))
    .bind(date_text(to))
    .fetch_all(db.reports_pool())
    .await?;
    Ok(rows)
}

/// What should come in over the next `weeks` weeks: each open invoice's amount due now
/// (disputed amounts left out), expected on its due date plus its customer's average lateness
/// over the last year (weighted by amount; zero without history). Every currency has a row for
/// every week, so a quiet week shows as zero.
pub async fn expected_collections(
    db: &Db,
    today: NaiveDate,
    weeks: usize,
) -> Result<Vec<ExpectedWeek>, DbError> {
    let days_late = match db.engine() {
        crate::db::Engine::Sqlite => {
            "CAST(julianday(p.received_date) - julianday(i.due_date) AS BIGINT)"
        }
        crate::db::Engine::Postgres => "(CAST(p.received_date AS DATE) - CAST(i.due_date AS DATE))",
    };
    let lateness_sql = format!(
        "SELECT a.customer_id, CAST(sum({days_late} * a.amount_minor) AS BIGINT) AS weighted, \
                CAST(sum(a.amount_minor) AS BIGINT) AS paid \
         FROM allocations a JOIN payments p ON p.id = a.payment_id \
         JOIN invoices i ON i.id = a.invoice_id \
         WHERE p.received_date >= $1 GROUP BY a.customer_id"
    );
    let year_ago = today - chrono::Duration::days(365);
    let mut lateness = std::collections::HashMap::new();
    for row in sqlx::query(&lateness_sql)
        .bind(date_text(year_ago))
        .fetch_all(db.reports_pool())
        .await?
    {
        let (weighted, paid): (i64, i64) = (row.try_get("weighted")?, row.try_get("paid")?);
        if paid > 0 {
            lateness.insert(row.try_get::<i64, _>("customer_id")?, weighted / paid);
        }
    }
    let open = sqlx::query(&format!(
        "SELECT i.customer_id, i.due_date, i.currency, \
                CAST(sum({DUE_NOW_SQL}) AS BIGINT) AS due \
         FROM invoices i WHERE {DUE_NOW_SQL} > 0 \
         GROUP BY i.customer_id, i.due_date, i.currency"
    ))
    .fetch_all(db.reports_pool())
    .await?;
    let first_week = week_start(today);
    let mut result: Vec<ExpectedWeek> = Vec::new();
    for row in open {
        let customer: i64 = row.try_get("customer_id")?;
        let due = parse_date(&row.try_get::<String, _>("due_date")?)?;
        let currency = crate::db::currency(&row.try_get::<String, _>("currency")?)?;
        let Some(week) = expected_week(
            due,
            lateness.get(&customer).copied().unwrap_or(0),
            today,
            weeks,
        ) else {
            continue;
        };
        if !result.iter().any(|w| w.currency == currency) {
            result.extend((0..weeks).map(|w| ExpectedWeek {
                week_start: first_week + chrono::Duration::days(7 * w as i64),
                currency,
                amount_minor: 0,
            }));
        }
        let start = first_week + chrono::Duration::days(7 * week as i64);
        if let Some(slot) = result
            .iter_mut()
            .find(|w| w.currency == currency && w.week_start == start)
        {
            slot.amount_minor += row.try_get::<i64, _>("due")?;
        }
    }
    result
        .sort_by(|a, b| (a.currency.code(), a.week_start).cmp(&(b.currency.code(), b.week_start)));
    Ok(result)
}

/// Re-derives every balance from the journal and reports each broken invariant, and proves the
/// subledgers against their control accounts as of `as_of` (`None`: as the books stand now).
pub async fn ledger_health(db: &Db, as_of: Option<NaiveDate>) -> Result<HealthReport, DbError> {
    let pool = db.pool();
    let count = |sql: &'static str| async move {
        let row = sqlx::query(sql).fetch_one(pool).await?;
        Ok::<i64, DbError>(row.try_get(0)?)
    };
    let mut report = HealthReport {
        entries: count("SELECT count(*) FROM journal_entries").await?,
        lines: count("SELECT count(*) FROM journal_lines").await?,
        invoices: count("SELECT count(*) FROM invoices").await?,
        as_of,
        controls: control_checks(db, as_of).await?,
        violations: Vec::new(),
    };
    for control in report.controls.iter().filter(|c| c.difference_minor() != 0) {
        report.violations.push(format!(
            "subledger differs from control account {} in {}: subledger {}, control {} ({})",
            control.account_code,
            control.currency.code(),
            Money::from_minor(control.subledger_minor, control.currency),
            Money::from_minor(control.control_minor, control.currency),
            control.causes.join("; ")
        ));
    }
    let checks: [(&str, String); 10] = [
        (
            "entry has fewer than two lines",
            "SELECT e.id FROM journal_entries e LEFT JOIN journal_lines l ON l.entry_id = e.id \
             GROUP BY e.id HAVING count(l.id) < 2".into(),
        ),
        (
            "entry does not balance",
            "SELECT entry_id FROM journal_lines GROUP BY entry_id, currency HAVING sum(amount_minor) <> 0".into(),
        ),
        (
            "invoice open amount differs from its receivables lines",
            format!(
                "SELECT i.id FROM invoices i WHERE i.open_minor <> \
             (SELECT COALESCE(CAST(sum(l.amount_minor) AS BIGINT), 0) FROM journal_lines l \
              WHERE l.invoice_id = i.id AND l.account_code = '{AR}')"
            ),
        ),
        (
            "customer's open balance differs from its invoices",
            "SELECT c.id FROM customers c WHERE c.open_minor <> \
             (SELECT COALESCE(CAST(sum(i.open_minor) AS BIGINT), 0) FROM invoices i \
              WHERE i.customer_id = c.id)".into(),
        ),
        (
            "invoice open amount outside 0..total",
            "SELECT id FROM invoices WHERE open_minor < 0 OR open_minor > total_minor".into(),
        ),
        (
            "customer's unapplied credit is a debit",
            format!(
                "SELECT customer_id FROM journal_lines WHERE account_code = '{UNAPPLIED}' \
             GROUP BY customer_id HAVING sum(amount_minor) > 0"
            ),
        ),
        (
            "invoice's held amount differs from its active disputes",
            format!(
                "SELECT i.id FROM invoices i WHERE i.held_minor <> \
             (SELECT COALESCE(CAST(sum(d.disputed_minor) AS BIGINT), 0) FROM disputes d \
              WHERE d.invoice_id = i.id AND d.status IN {HOLDING_STATUSES_SQL})"
            ),
        ),
        (
            // Ledger invariant 16: a posted line's payments carry exactly its money.
            "bank line's payments differ from the line",
            "SELECT l.id FROM bank_lines l LEFT JOIN bank_line_payments b ON b.line_id = l.id \
             LEFT JOIN payments p ON p.id = b.payment_id WHERE l.match_reason <> 'payout' \
             GROUP BY l.id, l.status, l.amount_minor \
             HAVING (l.status = 'matched') <> (count(p.id) > 0) \
             OR (l.status = 'matched' AND sum(p.amount_minor) <> l.amount_minor)".into(),
        ),
        (
            // ... or, for a provider payout's line, the payout carries exactly its money.
            "bank line differs from its payout",
            "SELECT l.id FROM bank_lines l LEFT JOIN payouts po ON po.bank_line_id = l.id \
             WHERE l.match_reason = 'payout' AND (po.id IS NULL OR l.status <> 'matched' \
             OR po.amount_minor <> l.amount_minor OR po.currency <> l.currency \
             OR po.paid_entry_id IS NULL)".into(),
        ),
        (
            "a reversal was reversed",
            "SELECT r.id FROM journal_entries r JOIN journal_entries t ON t.id = r.reverses_entry_id \
             WHERE t.kind = 'reversal'".into(),
        ),
    ];
    for (what, sql) in checks {
        for row in sqlx::query(&sql).fetch_all(pool).await? {
            let id: Option<i64> = row.try_get(0)?;
            report
                .violations
                .push(format!("{what}: {}", id.unwrap_or_default()));
        }
    }
    // The receivables summary (`ledger::daily`), folded and queued, against the journal itself.
    let summary = format!(
        "SELECT currency, effective_date, due_date, CAST(sum(amount_minor) AS BIGINT) AS amount, \
                CAST(sum(issued_minor) AS BIGINT) AS issued FROM {BOOK_BY_DAY} b \
         GROUP BY currency, effective_date, due_date"
    );
    let journal = format!(
        "SELECT l.currency, l.effective_date, i.due_date, CAST(sum(l.amount_minor) AS BIGINT), \
                CAST(sum(CASE WHEN e.kind = '{issued}' THEN l.amount_minor ELSE 0 END) AS BIGINT) \
         FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id \
         JOIN invoices i ON i.id = l.invoice_id WHERE l.account_code = '{AR}' \
         GROUP BY l.currency, l.effective_date, i.due_date",
        issued = crate::ledger::EntryKind::InvoiceIssued.as_str()
    );
    let mut differing: std::collections::BTreeSet<(String, String, String)> = Default::default();
    for (one, other) in [(&summary, &journal), (&journal, &summary)] {
        differing.extend(
            sqlx::query_as::<_, (String, String, String)>(&format!(
                "SELECT currency, effective_date, due_date FROM ({one} EXCEPT {other}) d"
            ))
            .fetch_all(pool)
            .await?,
        );
    }
    for (currency, day, due) in differing {
        report.violations.push(format!(
            "receivables summary differs from the journal: {currency} posted {day}, due {due}"
        ));
    }
    for row in sqlx::query("SELECT currency, CAST(sum(amount_minor) AS BIGINT) FROM journal_lines GROUP BY currency HAVING sum(amount_minor) <> 0")
        .fetch_all(pool)
        .await?
    {
        let currency: String = row.try_get(0)?;
        let sum: i64 = row.try_get(1)?;
        report.violations.push(format!("ledger does not sum to zero in {currency}: {sum}"));
    }
    // Each invoice's pending amount is what its checkouts in flight carry for it.
    let mut in_flight: std::collections::BTreeMap<i64, i64> = std::collections::BTreeMap::new();
    let carried: Vec<String> = sqlx::query_scalar(
        "SELECT in_flight FROM checkouts WHERE status IN ('open', 'processing')",
    )
    .fetch_all(pool)
    .await?;
    for text in carried {
        for item in crate::checkout::store::in_flight_items(&text)? {
            *in_flight.entry(item.invoice_id).or_default() += item.amount_minor;
        }
    }
    let pending: Vec<(i64, i64)> =
        sqlx::query_as("SELECT id, pending_minor FROM invoices WHERE pending_minor <> 0")
            .fetch_all(pool)
            .await?;
    for (invoice_id, amount) in &pending {
        if in_flight.get(invoice_id) != Some(amount) {
            report.violations.push(format!(
                "invoice's pending amount differs from its checkouts in flight: {invoice_id}"
            ));
        }
    }
    for invoice_id in in_flight.keys() {
        if !pending.iter().any(|(id, _)| id == invoice_id) {
            report.violations.push(format!(
                "invoice's pending amount differs from its checkouts in flight: {invoice_id}"
            ));
        }
    }
    Ok(report)
}

/// Each subledger against its control account, per currency, as of `as_of` (every date when
/// `None`). Receivables: as the books stand, the invoices' cached open amounts; as of a day,
/// each invoice's receivable lines up to it. Unapplied credit: each customer's credit lines.
/// Control: every line on the account. A line that belongs to no invoice (no customer), or
/// to one in another currency, makes them differ, and so does a cached open amount that is
/// not what its lines say.
pub async fn control_checks(
    db: &Db,
    as_of: Option<NaiveDate>,
) -> Result<Vec<ControlCheck>, DbError> {
    let day = as_of.map_or_else(|| "9999-12-31".to_string(), date_text);
    let pool = db.pool();
    let mut checks = Vec::new();
    let sides: [(&str, &str, &str); 2] = [
        (
            AR,
            "LEFT JOIN invoices s ON s.id = l.invoice_id",
            "entry {} has a receivable line of no invoice in its currency",
        ),
        (
            UNAPPLIED,
            "LEFT JOIN customers s ON s.id = l.customer_id",
            "entry {} has an unapplied-credit line of no customer in its currency",
        ),
    ];
    for (account, join, cause) in sides {
        let totals: Vec<(String, i64, i64)> = sqlx::query_as(&format!(
            "SELECT l.currency, CAST(sum(l.amount_minor) AS BIGINT), \
             CAST(sum(CASE WHEN s.currency = l.currency THEN l.amount_minor ELSE 0 END) AS BIGINT) \
             FROM journal_lines l {join} WHERE l.account_code = $1 AND l.effective_date <= $2 \
             GROUP BY l.currency ORDER BY l.currency"
        ))
        .bind(account)
        .bind(&day)
        .fetch_all(pool)
        .await?;
        for (code, control_minor, from_lines) in totals {
            let unassigned: Vec<i64> = sqlx::query_scalar(&format!(
                "SELECT DISTINCT l.entry_id FROM journal_lines l {join} \
                 WHERE l.account_code = $1 AND l.currency = $2 AND l.effective_date <= $3 \
                 AND (s.id IS NULL OR s.currency <> l.currency) ORDER BY l.entry_id LIMIT 50"
            ))
            .bind(account)
            .bind(&code)
            .bind(&day)
            .fetch_all(pool)
            .await?;
            let mut causes: Vec<String> = unassigned
                .iter()
                .map(|entry| cause.replace("{}", &entry.to_string()))
                .collect();
            let subledger_minor = if account == AR && as_of.is_none() {
                causes.extend(stale_open_amounts(db, &code).await?);
                sqlx::query_scalar(
                    "SELECT CAST(COALESCE(sum(open_minor), 0) AS BIGINT) FROM invoices \
                     WHERE currency = $1",
                )
                .bind(&code)
                .fetch_one(pool)
                .await?
            } else {
                from_lines
            };
            checks.push(ControlCheck {
                account_code: account.to_string(),
                currency: crate::db::currency(&code)?,
                subledger_minor,
                control_minor,
                causes,
            });
        }
    }
    Ok(checks)
}

/// Invoices whose cached open amount is not what their receivable lines say.
async fn stale_open_amounts(db: &Db, currency: &str) -> Result<Vec<String>, DbError> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(&format!(
        "SELECT i.number, i.open_minor, \
         (SELECT COALESCE(CAST(sum(l.amount_minor) AS BIGINT), 0) FROM journal_lines l \
          WHERE l.invoice_id = i.id AND l.account_code = '{AR}') AS lines \
         FROM invoices i WHERE i.currency = $1 AND i.open_minor <> \
         (SELECT COALESCE(CAST(sum(l.amount_minor) AS BIGINT), 0) FROM journal_lines l \
          WHERE l.invoice_id = i.id AND l.account_code = '{AR}') ORDER BY i.id LIMIT 50"
    ))
    .bind(currency)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(number, open, lines)| {
            format!("invoice {number}'s open amount is {open}, its lines say {lines} (minor units)")
        })
        .collect())
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;
    use crate::money::Money;
    use crate::payments::store::record_payment;
    use crate::payments::{AllocationRule, PaymentMethod, PaymentRequest};
    use crate::testing::fixtures::*;
    use crate::testing::fresh_db;

    /// Three invoices (100, 200, 300 on net 30) and a 50.00 payment on the oldest.
    async fn book(db: &Db) -> i64 {
        let c = customer(db, "C-1", Currency::Usd, (30, 0, 0)).await;
        invoice(db, c, "INV-A", Currency::Usd, "2026-01-01", &[(10_000, 0)]).await;
        invoice(db, c, "INV-B", Currency::Usd, "2026-02-15", &[(20_000, 0)]).await;
        invoice(db, c, "INV-C", Currency::Usd, "2026-04-01", &[(30_000, 0)]).await;
        let pay = PaymentRequest::new(
            c,
            "pi_1",
            PaymentMethod::Card,
            Money::from_minor(5_000, Currency::Usd),
            date("2026-04-10"),
            AllocationRule::OldestFirst,
            false,
        )
        .unwrap();
        record_payment(db, &pay).await.unwrap();
        c
    }

    #[tokio::test]
    async fn aging_as_of_two_dates_matches_the_hand_computed_buckets() {
        let db = fresh_db().await;
        let c = book(&db).await;
        // 30 April: A (due 31 Jan) 89 days late, B (due 17 Mar) 44 days, C (due 1 May) current.
        let april = aging(&db, date("2026-04-30"), c).await.unwrap();
        assert_eq!(april.buckets(), [30_000, 0, 20_000, 5_000, 0]);
        // 31 March, before C and the payment: A 59 days late, B 14 days.
        let march = aging(&db, date("2026-03-31"), c).await.unwrap();
        assert_eq!(march.buckets(), [0, 20_000, 10_000, 0, 0]);
        // The whole book from the receivables summary, queued and folded alike.
        let book = book_aging(&db, date("2026-04-30")).await.unwrap();
        assert_eq!(book, vec![(Currency::Usd, april)]);
        crate::ledger::daily::fold(&db).await.unwrap();
        let book = book_aging(&db, date("2026-03-31")).await.unwrap();
        assert_eq!(book, vec![(Currency::Usd, march)]);
    }

    #[tokio::test]
    async fn an_april_statement_runs_from_opening_to_closing_balance() {
        let db = fresh_db().await;
        let c = book(&db).await;
        let s = statement(&db, c, date("2026-04-01"), date("2026-04-30"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(s.opening_minor, 30_000);
        let amounts: Vec<(i64, i64)> = s
            .lines
            .iter()
            .map(|l| (l.amount_minor, l.balance_minor))
            .collect();
        assert_eq!(amounts, vec![(30_000, 60_000), (-5_000, 55_000)]);
        assert_eq!(s.closing_minor, 55_000);
        let open_items = open_items(&db, c, date("2026-04-30")).await.unwrap();
        let open: Vec<(&str, i64)> = open_items
            .iter()
            .map(|i| (i.number.as_str(), i.open_minor))
            .collect();
        assert_eq!(
            open,
            vec![("INV-A", 5_000), ("INV-B", 20_000), ("INV-C", 30_000)]
        );
        assert_eq!(s.aging.total(), s.closing_minor);
        let summary = account_summary(&db, c, date("2026-04-30"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(summary.balance_due_minor, s.closing_minor);
        assert_eq!(summary.overdue_minor, 25_000);
    }

    #[tokio::test]
    async fn collections_per_day_and_expected_collections_match_the_hand_computed_weeks() {
        let db = fresh_db().await;
        book(&db).await;
        let daily = collections_per_day(&db, date("2026-04-01"), date("2026-04-30"))
            .await
            .unwrap();
        assert_eq!(
            daily,
            vec![DailyCollection {
                date: date("2026-04-10"),
                currency: Currency::Usd,
                amount_minor: 5_000,
                payments: 1,
            }]
        );
        // The one payment came 69 days after INV-A's due date, so this customer pays 69 days
        // late. On Thursday 30 April (week of Monday 27 April): A's rest (due 31 Jan) is
        // expected now; B (due 17 Mar) on 25 May, week 4; C (due 1 May) on 9 July, beyond 8 weeks.
        let expected = expected_collections(&db, date("2026-04-30"), 8)
            .await
            .unwrap();
        let weeks: Vec<(String, i64)> = expected
            .iter()
            .map(|w| (w.week_start.to_string(), w.amount_minor))
            .collect();
        assert_eq!(
            weeks,
            vec![
                ("2026-04-27".to_string(), 5_000),
                ("2026-05-04".to_string(), 0),
                ("2026-05-11".to_string(), 0),
                ("2026-05-18".to_string(), 0),
                ("2026-05-25".to_string(), 20_000),
                ("2026-06-01".to_string(), 0),
                ("2026-06-08".to_string(), 0),
                ("2026-06-15".to_string(), 0),
            ]
        );
    }

    #[tokio::test]
    async fn dso_and_cei_for_april_match_the_hand_computed_figures() {
        let db = fresh_db().await;
        book(&db).await;
        let m = collection_metrics(&db, Currency::Usd, date("2026-04-01"), date("2026-04-30"))
            .await
            .unwrap();
        assert_eq!(
            (
                m.beginning_ar_minor,
                m.credit_sales_minor,
                m.ending_ar_minor,
                m.ending_current_ar_minor
            ),
            (30_000, 30_000, 55_000, 30_000)
        );
        // DSO = 550 / 300 × 30 = 55.0; CEI = (300 + 300 − 550) / (300 + 300 − 300) = 16.7 %
        assert_eq!(m.dso_days, Some(dec!(55.0)));
        assert_eq!(m.cei_percent, Some(dec!(16.7)));
    }

    #[tokio::test]
    async fn the_trial_balance_balances_and_shows_each_side() {
        let db = fresh_db().await;
        book(&db).await;
        let tb = trial_balance(&db, date("2026-04-30")).await.unwrap();
        let debits: i64 = tb.iter().map(|r| r.debit_minor).sum();
        let credits: i64 = tb.iter().map(|r| r.credit_minor).sum();
        assert_eq!(debits, credits);
        let ar = tb.iter().find(|r| r.account_code == "1100").unwrap();
        assert_eq!((ar.debit_minor, ar.credit_minor), (60_000, 5_000));
        assert_ledger_healthy(&db).await;
    }

    #[tokio::test]
    async fn ledger_health_reports_a_customer_open_balance_that_drifted_from_its_invoices() {
        let db = fresh_db().await;
        let c = book(&db).await;
        assert_ledger_healthy(&db).await;
        sqlx::query("UPDATE customers SET open_minor = open_minor + 1 WHERE id = $1")
            .bind(c)
            .execute(db.pool())
            .await
            .unwrap();
        let report = ledger_health(&db, None).await.unwrap();
        assert_eq!(
            report.violations,
            vec![format!(
                "customer's open balance differs from its invoices: {c}"
            )]
        );
    }

    #[tokio::test]
    async fn ledger_health_reports_a_receivables_summary_that_drifted_from_the_journal() {
        let db = fresh_db().await;
        book(&db).await;
        crate::ledger::daily::fold(&db).await.unwrap();
        assert_ledger_healthy(&db).await;
        sqlx::query(
            "UPDATE receivables_by_day SET amount_minor = amount_minor + 1 \
             WHERE effective_date = '2026-04-10'",
        )
        .execute(db.pool())
        .await
        .unwrap();
        let report = ledger_health(&db, None).await.unwrap();
        assert_eq!(
            report.violations,
            vec![
                "receivables summary differs from the journal: USD posted 2026-04-10, due 2026-01-31"
            ]
        );
    }

    #[tokio::test]
    async fn ledger_health_reports_a_tampered_open_amount() {
        let db = fresh_db().await;
        book(&db).await;
        sqlx::query("UPDATE invoices SET open_minor = open_minor - 1 WHERE number = 'INV-B'")
            .execute(db.pool())
            .await
            .unwrap();
        let report = ledger_health(&db, None).await.unwrap();
        assert!(
            report
                .violations
                .iter()
                .any(|v| v.starts_with("invoice open amount differs")),
            "{:?}",
            report.violations
        );
        // The receivables subledger no longer equals its control account, and says why.
        let ar = report
            .controls
            .iter()
            .find(|c| c.account_code == "1100")
            .unwrap();
        assert_eq!(ar.difference_minor(), -1);
        assert!(
            ar.causes[0].starts_with("invoice INV-B's open amount"),
            "{ar:?}"
        );
        assert!(
            report
                .violations
                .iter()
                .any(|v| v.starts_with("subledger differs from control account 1100 in USD")),
            "{:?}",
            report.violations
        );
    }

    #[tokio::test]
    async fn each_subledger_equals_its_control_account_as_of_any_day_and_a_line_of_no_invoice_is_named()
     {
        let db = fresh_db().await;
        book(&db).await;
        for as_of in [None, Some(date("2026-03-31")), Some(date("2026-04-30"))] {
            let report = ledger_health(&db, as_of).await.unwrap();
            assert!(report.violations.is_empty(), "{:?}", report.violations);
            let ar = report
                .controls
                .iter()
                .find(|c| c.account_code == "1100")
                .unwrap();
            assert_eq!(ar.difference_minor(), 0);
        }
        let april = control_checks(&db, Some(date("2026-04-30"))).await.unwrap();
        let ar = april.iter().find(|c| c.account_code == "1100").unwrap();
        assert_eq!(ar.control_minor, 55_000);
        // A receivable line that belongs to no invoice: the control account moves, the
        // subledger does not.
        let mut tx = db.begin_write().await.unwrap();
        let stray = crate::ledger::BalancedEntry::new(
            "stray",
            crate::ledger::EntryKind::CreditMemo,
            date("2026-04-15"),
            None,
            "no invoice",
            vec![
                crate::ledger::EntryLine::debit(
                    Account::AccountsReceivable,
                    Money::from_minor(700, Currency::Usd),
                ),
                crate::ledger::EntryLine::credit(
                    Account::Revenue,
                    Money::from_minor(700, Currency::Usd),
                ),
            ],
        )
        .unwrap();
        let posted = crate::ledger::store::post(&mut tx, &stray).await.unwrap();
        tx.commit().await.unwrap();
        let report = ledger_health(&db, Some(date("2026-04-30"))).await.unwrap();
        let ar = report
            .controls
            .iter()
            .find(|c| c.account_code == "1100")
            .unwrap();
        assert_eq!(ar.difference_minor(), -700);
        assert_eq!(
            ar.causes,
            [format!(
                "entry {} has a receivable line of no invoice in its currency",
                posted.entry_id
            )]
        );
        // Before the stray line's day, the books still agree.
        assert_eq!(
            ledger_health(&db, Some(date("2026-04-14")))
                .await
                .unwrap()
                .violations,
            Vec::<String>::new()
        );
    }
}

#[cfg(all(test, feature = "test-support"))]
mod aging_report_tests {
    use super::*;
    use crate::testing::fixtures::{customer, invoice};
    use crate::testing::fresh_db;

    #[tokio::test]
    async fn the_sql_bucket_and_bucket_of_agree_on_every_day_around_each_edge() {
        let db = fresh_db().await;
        let as_of: NaiveDate = "2026-06-30".parse().unwrap();
        let sql = format!("SELECT {}", BUCKET.replace("i.due_date", "$5"));
        for offset in -2i64..=100 {
            let due = as_of - chrono::Duration::days(offset);
            let mut query = sqlx::query_scalar::<_, i64>(&sql);
            for limit in bucket_limits(as_of).map(date_text) {
                query = query.bind(limit);
            }
            let in_sql = query
                .bind(date_text(due))
                .fetch_one(db.pool())
                .await
                .unwrap();
            assert_eq!(
                in_sql as usize,
                crate::reports::bucket_of(due, as_of),
                "due {due}, {offset} days before {as_of}"
            );
        }
    }

    #[tokio::test]
    async fn the_aging_report_pages_hold_every_customer_once_today_and_in_the_past() {
        let db = fresh_db().await;
        let today = chrono::Utc::now().date_naive();
        let issued = (today - chrono::Days::new(40)).to_string();
        let mut first = 0;
        for n in 0..AgingReport::PAGE_ROWS as i64 + 6 {
            let c = customer(&db, &format!("C-{n:03}"), Currency::Usd, (30, 0, 0)).await;
            first = if n == 0 { c } else { first };
            // Five balances, so page breaks fall inside ties.
            let amount = (n % 5 + 1) * 1_000;
            invoice(
                &db,
                c,
                &format!("INV-{n:03}"),
                Currency::Usd,
                &issued,
                &[(amount, 0)],
            )
            .await;
        }
        // Something posted today: yesterday's report is read from the journal. Accounts whose
        // only invoice is today's owe nothing yesterday, so yesterday's pages skip them.
        let today_text = today.to_string();
        invoice(&db, first, "INV-T0", Currency::Usd, &today_text, &[(50, 0)]).await;
        for n in 1..=3 {
            let c = customer(&db, &format!("NEW-{n}"), Currency::Usd, (30, 0, 0)).await;
            let number = format!("INV-T{n}");
            invoice(&db, c, &number, Currency::Usd, &today_text, &[(50, 0)]).await;
        }
        for (as_of, accounts) in [
            (today, AgingReport::PAGE_ROWS + 9),
            (today - chrono::Days::new(1), AgingReport::PAGE_ROWS + 6),
        ] {
            let mut paged = Vec::new();
            let mut after = None;
            loop {
                let page = aging_report(&db, as_of, after).await.unwrap();
                assert!(page.customers.len() <= AgingReport::PAGE_ROWS);
                assert_eq!(page.ranked_by_balance, as_of == today);
                paged.extend(page.customers);
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            let mut expected = aging_by_customer(&db, as_of).await.unwrap();
            if as_of != today {
                expected.sort_by_key(|c| std::cmp::Reverse(c.customer_id));
            }
            assert_eq!(paged, expected, "as of {as_of}");
            assert_eq!(paged.len(), accounts);
        }
    }

    #[tokio::test]
    async fn staff_reports_read_the_replica_while_a_customers_own_aging_stays_on_the_primary() {
        let db = fresh_db().await;
        let replica_url = crate::testing::fresh_url().await;
        let settings = crate::db::PoolSettings::default();
        if crate::testing::engine() == crate::db::Engine::Sqlite {
            let refused = db.with_reports_replica(&replica_url, &settings).await;
            assert!(matches!(refused, Err(DbError::ReplicaNeedsPostgres(_))));
            return;
        }
        // A replica that has not caught up yet: the schema, none of the primary's rows.
        let lagging = Db::connect(&replica_url, &settings).await.unwrap();
        lagging.migrate().await.unwrap();
        let today = chrono::Utc::now().date_naive();
        let c = customer(&db, "C-1", Currency::Usd, (30, 0, 0)).await;
        let issued = today.to_string();
        invoice(&db, c, "INV-1", Currency::Usd, &issued, &[(5_000, 0)]).await;
        let db = db
            .with_reports_replica(&replica_url, &settings)
            .await
            .unwrap();
        assert!(book_aging(&db, today).await.unwrap().is_empty());
        assert!(
            aging_report(&db, today, None)
                .await
                .unwrap()
                .customers
                .is_empty()
        );
        assert!(aging_by_customer(&db, today).await.unwrap().is_empty());
        assert_eq!(aging(&db, today, c).await.unwrap().total(), 5_000);
    }

    /// Aging report totals, one per currency in the order the currencies first appear.
    fn totals_by_currency(customers: &[CustomerAging]) -> Vec<(Currency, Aging)> {
        let mut totals: Vec<(Currency, Aging)> = Vec::new();
        for c in customers {
            let index = match totals
                .iter()
                .position(|(currency, _)| *currency == c.currency)
            {
                Some(index) => index,
                None => {
                    totals.push((c.currency, Aging::default()));
                    totals.len() - 1
                }
            };
            let total = &mut totals[index].1;
            for (bucket, amount) in c.aging.buckets().into_iter().enumerate() {
                total.add(bucket, amount);
            }
            total.in_dispute += c.aging.in_dispute;
        }
        totals
    }

    #[tokio::test]
    async fn the_aging_report_agrees_with_each_customers_own_aging_today_and_in_the_past() {
        let db = fresh_db().await;
        crate::seed::seed_demo(&db).await.unwrap();
        let today = chrono::Utc::now().date_naive();
        for as_of in [today, today - chrono::Days::new(30)] {
            let report = aging_by_customer(&db, as_of).await.unwrap();
            assert!(!report.is_empty());
            for line in &report {
                let own = aging(&db, as_of, line.customer_id).await.unwrap();
                assert_eq!(line.aging, own, "{} as of {as_of}", line.number);
            }
            let totals: Vec<i64> = report.iter().map(|c| c.aging.total()).collect();
            assert!(totals.windows(2).all(|w| w[0] >= w[1]), "largest first");
            let mut by_currency = totals_by_currency(&report);
            by_currency.sort_by_key(|(currency, _)| currency.code());
            assert_eq!(book_aging(&db, as_of).await.unwrap(), by_currency);
            // The report's pages hold every customer once, in the same order.
            let mut paged = Vec::new();
            let mut after = None;
            let ranked_by_balance = aging_report(&db, as_of, None)
                .await
                .unwrap()
                .ranked_by_balance;
            loop {
                let page = aging_report(&db, as_of, after).await.unwrap();
                assert_eq!(page.totals, by_currency);
                assert_eq!(page.ranked_by_balance, ranked_by_balance);
                paged.extend(page.customers.into_iter().map(|c| (c.customer_id, c.aging)));
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            let mut expected: Vec<(i64, Aging)> =
                report.iter().map(|c| (c.customer_id, c.aging)).collect();
            if ranked_by_balance {
                expected.sort_by_key(|(id, aging)| std::cmp::Reverse((aging.total(), *id)));
            } else {
                expected.sort_by_key(|(id, _)| std::cmp::Reverse(*id));
            }
            assert_eq!(paged, expected, "as of {as_of}");
        }
    }
}
