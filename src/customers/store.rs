use sqlx::{Any, Row, Transaction};

use super::NewCustomer;
use crate::db::{DbError, now_text};

/// Inserts a customer and returns its id.
pub async fn create_customer(
    tx: &mut Transaction<'_, Any>,
    customer: &NewCustomer,
) -> Result<i64, DbError> {
    let terms = customer.terms();
    let row = sqlx::query(
        "INSERT INTO customers \
         (number, name, currency, net_days, discount_bp, discount_days, credit_limit_minor, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(customer.number())
    .bind(customer.name())
    .bind(customer.currency().code())
    .bind(i64::from(terms.net_days()))
    .bind(i64::from(terms.discount_bp()))
    .bind(i64::from(terms.discount_days()))
    .bind(customer.credit_limit().to_minor())
    .bind(now_text())
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get(0)?)
}

#[derive(Debug, thiserror::Error)]
pub enum OpenAccountError {
    #[error("customer number {0} is already taken")]
    NumberTaken(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::from_sqlx_error!(OpenAccountError);

/// Staff open a customer account: inserted and audited in one transaction.
pub async fn open_account(
    db: &crate::db::Db,
    customer: &NewCustomer,
    actor_user_id: i64,
    actor: &str,
) -> Result<i64, OpenAccountError> {
    let mut tx = db.begin_write().await?;
    let taken = sqlx::query("SELECT 1 FROM customers WHERE number = $1")
        .bind(customer.number())
        .fetch_optional(&mut *tx)
        .await?;
    if taken.is_some() {
        return Err(OpenAccountError::NumberTaken(customer.number().to_string()));
    }
    let id = create_customer(&mut tx, customer).await?;
    crate::audit::record(
        &mut *tx,
        Some(actor_user_id),
        actor,
        "customer.opened",
        &format!("customer:{id}"),
        &format!("{} {}", customer.number(), customer.name()),
        "",
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The customer's display name, if the customer exists.
pub async fn customer_name(
    db: &crate::db::Db,
    customer_id: i64,
) -> Result<Option<String>, DbError> {
    let row = sqlx::query("SELECT name FROM customers WHERE id = $1")
        .bind(customer_id)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// The customer's name, read on `conn` (the transaction of a change that announces it).
pub async fn name_in(conn: &mut sqlx::AnyConnection, customer_id: i64) -> Result<String, DbError> {
    Ok(
        sqlx::query_scalar("SELECT name FROM customers WHERE id = $1")
            .bind(customer_id)
            .fetch_one(conn)
            .await?,
    )
}

/// The accounts that have raised a dispute, by name: the dispute queue's customer filter (a
/// list of every account would grow with the book).
pub async fn disputing_customers(db: &crate::db::Db) -> Result<Vec<(i64, String)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT c.id, c.name FROM customers c \
         WHERE EXISTS (SELECT 1 FROM disputes d WHERE d.customer_id = c.id) ORDER BY c.name, c.id",
    )
    .fetch_all(db.pool())
    .await?)
}

/// Takes these accounts' row locks in id order (PostgreSQL; on SQLite the write transaction
/// holds the database): a transaction that moves several accounts' open balances (an import)
/// then cannot deadlock with another that does.
pub async fn lock_accounts(tx: &mut Transaction<'_, Any>, ids: &[i64]) -> Result<(), DbError> {
    if ids.is_empty() || tx.backend_name() != "PostgreSQL" {
        return Ok(());
    }
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    // Ids are integers, written into the SQL as numbers.
    let list: Vec<String> = sorted.iter().map(i64::to_string).collect();
    sqlx::query(&format!(
        "SELECT id FROM customers WHERE id IN ({}) ORDER BY id FOR UPDATE",
        list.join(", ")
    ))
    .fetch_all(&mut **tx)
    .await?;
    Ok(())
}

/// `open_minor += delta` on the customer of a change to an invoice's open amount, in that
/// change's transaction: the customer's open balance always equals its invoices' (ledger health).
pub async fn add_to_open_balance(
    tx: &mut Transaction<'_, Any>,
    customer_id: i64,
    delta_minor: i64,
) -> Result<(), DbError> {
    sqlx::query("UPDATE customers SET open_minor = open_minor + $1 WHERE id = $2")
        .bind(delta_minor)
        .bind(customer_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Staff's list of accounts, largest open balance first, read a page at a time: `after` is the
/// last row of the previous page, so every page costs the same however deep it is.
pub async fn customer_page(
    db: &crate::db::Db,
    query: &super::CustomerListQuery,
) -> Result<super::CustomerPage, DbError> {
    let mut conditions = crate::db::Conditions::new();
    if !query.search.trim().is_empty() {
        conditions.push_bind(
            "(lower(number) LIKE $n ESCAPE '\\' OR lower(name) LIKE $n ESCAPE '\\')",
            crate::db::contains_pattern(&query.search),
        );
    }
    if query.open_only {
        conditions.push("open_minor > 0");
    }
    if let Some((open_minor, id)) = query.after {
        conditions.push_binds(
            "(open_minor, id) < ($n, $n)",
            [open_minor.into(), id.into()],
        );
    }
    let sql = format!(
        "SELECT id, number, name, currency, open_minor FROM customers {} \
         ORDER BY open_minor DESC, id DESC LIMIT {}",
        conditions.where_clause(),
        super::CustomerListQuery::PAGE_ROWS + 1
    );
    // A staff list: the reports replica carries it, when one is set, as it does the aging shown
    // beside it.
    let mut rows: Vec<super::CustomerBalance> = sqlx::query_as_with(&sql, conditions.arguments()?)
        .fetch_all(db.reports_pool())
        .await?;
    let next = crate::paging::end_page(&mut rows, super::CustomerListQuery::PAGE_ROWS, |last| {
        (last.open_minor, last.id)
    });
    Ok(super::CustomerPage { rows, next })
}

/// Every currency some customer is billed in, in code order: the currencies reports are drawn in.
pub async fn billed_currencies(db: &crate::db::Db) -> Result<Vec<crate::money::Currency>, DbError> {
    let rows = sqlx::query("SELECT DISTINCT currency FROM customers ORDER BY currency")
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|row| crate::db::currency(&row.try_get::<String, _>("currency")?))
        .collect()
}

/// The customer's billing currency, if the customer exists.
pub async fn customer_currency(
    db: &crate::db::Db,
    customer_id: i64,
) -> Result<Option<crate::money::Currency>, DbError> {
    let row = sqlx::query("SELECT currency FROM customers WHERE id = $1")
        .bind(customer_id)
        .fetch_optional(db.pool())
        .await?;
    match row {
        None => Ok(None),
        Some(row) => crate::db::currency(&row.try_get::<String, _>(0)?).map(Some),
    }
}

/// The id and currency of the customer numbered `number` (any case).
pub async fn customer_by_number<'e, E>(
    executor: E,
    number: &str,
) -> Result<Option<(i64, crate::money::Currency)>, DbError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row = sqlx::query("SELECT id, currency FROM customers WHERE number = $1")
        .bind(number.trim().to_ascii_uppercase())
        .fetch_optional(executor)
        .await?;
    match row {
        None => Ok(None),
        Some(row) => Ok(Some((
            row.try_get("id")?,
            crate::db::currency(&row.try_get::<String, _>("currency")?)?,
        ))),
    }
}

/// Who hears about an account's dues and money (reminders, broken promises, receipts for
/// payments made outside the portal): its billing contacts; without any, its active payer
/// contacts.
pub async fn account_recipients(
    conn: &mut sqlx::AnyConnection,
    customer_id: i64,
) -> Result<Vec<String>, DbError> {
    let billing = billing_emails(&mut *conn, customer_id).await?;
    if !billing.is_empty() {
        return Ok(billing);
    }
    Ok(sqlx::query_scalar(
        "SELECT email FROM users WHERE customer_id = $1 AND role = 'payer' \
         AND disabled_at IS NULL ORDER BY email",
    )
    .bind(customer_id)
    .fetch_all(conn)
    .await?)
}

/// The account's billing contacts, alphabetical.
pub async fn billing_emails<'e, E>(executor: E, customer_id: i64) -> Result<Vec<String>, DbError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let rows =
        sqlx::query("SELECT email FROM billing_contacts WHERE customer_id = $1 ORDER BY email")
            .bind(customer_id)
            .fetch_all(executor)
            .await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?)
}

/// The contact who acted (`contact_email`) and the account's billing contacts, once each: who
/// hears about a payment they made or a payment setting they changed.
pub async fn contact_and_billing(
    conn: &mut sqlx::AnyConnection,
    customer_id: i64,
    contact_email: &str,
) -> Result<Vec<String>, DbError> {
    let billing = billing_emails(&mut *conn, customer_id).await?;
    Ok(contact_then_billing(contact_email, billing))
}

/// The contact first, then each billing contact not already named, in the order given.
pub fn contact_then_billing(contact_email: &str, billing: Vec<String>) -> Vec<String> {
    let mut recipients = vec![contact_email.to_string()];
    for email in billing {
        if !recipients.contains(&email) {
            recipients.push(email);
        }
    }
    recipients
}

/// The account as staff edit it; `None` when there is no such customer.
pub async fn profile(
    db: &crate::db::Db,
    customer_id: i64,
) -> Result<Option<super::CustomerProfile>, DbError> {
    let Some(row) = sqlx::query(
        "SELECT id, number, name, currency, net_days, discount_bp, discount_days, credit_limit_minor \
         FROM customers WHERE id = $1",
    )
    .bind(customer_id)
    .fetch_optional(db.pool())
    .await?
    else {
        return Ok(None);
    };
    let whole = |column: &str| -> Result<u32, DbError> {
        let value: i64 = row.try_get(column)?;
        u32::try_from(value).map_err(|_| DbError::Corrupt(format!("{column} = {value}")))
    };
    let terms = crate::terms::PaymentTerms::with_discount(
        whole("net_days")?,
        whole("discount_bp")?,
        whole("discount_days")?,
    )
    .map_err(|e| DbError::Corrupt(format!("customer {customer_id} terms: {e}")))?;
    Ok(Some(super::CustomerProfile {
        id: row.try_get("id")?,
        number: row.try_get("number")?,
        name: row.try_get("name")?,
        currency: crate::db::currency(&row.try_get::<String, _>("currency")?)?,
        terms,
        credit_limit_minor: row.try_get("credit_limit_minor")?,
        billing_emails: billing_emails(db.pool(), customer_id).await?,
    }))
}

/// Staff change an account's name, terms, credit limit and billing contacts (number and
/// currency stay: invoices and the ledger refer to them). New terms apply to invoices issued
/// from now on. Audited with the old and new values.
pub async fn update_account(
    db: &crate::db::Db,
    customer_id: i64,
    changed: &NewCustomer,
    billing: &[crate::users::Email],
    actor_user_id: i64,
    actor: &str,
) -> Result<(), DbError> {
    let mut tx = db.begin_write().await?;
    let terms = changed.terms();
    sqlx::query(
        "UPDATE customers SET name = $1, net_days = $2, discount_bp = $3, discount_days = $4, \
         credit_limit_minor = $5 WHERE id = $6",
    )
    .bind(changed.name())
    .bind(i64::from(terms.net_days()))
    .bind(i64::from(terms.discount_bp()))
    .bind(i64::from(terms.discount_days()))
    .bind(changed.credit_limit().to_minor())
    .bind(customer_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM billing_contacts WHERE customer_id = $1")
        .bind(customer_id)
        .execute(&mut *tx)
        .await?;
    let now = now_text();
    for email in billing {
        sqlx::query(
            "INSERT INTO billing_contacts (customer_id, email, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (customer_id, email) DO NOTHING",
        )
        .bind(customer_id)
        .bind(email.as_str())
        .bind(&now)
        .execute(&mut *tx)
        .await?;
    }
    let billing_list: Vec<&str> = billing.iter().map(|e| e.as_str()).collect();
    crate::audit::record(
        &mut *tx,
        Some(actor_user_id),
        actor,
        "customer.updated",
        &format!("customer:{customer_id}"),
        &format!(
            "{}; net {} days, discount {} bp within {} days; credit limit {}; billing: {}",
            changed.name(),
            terms.net_days(),
            terms.discount_bp(),
            terms.discount_days(),
            changed.credit_limit(),
            billing_list.join(", ")
        ),
        "",
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use super::*;
    use crate::customers::CustomerListQuery;
    use crate::money::Currency;
    use crate::testing::fixtures::{assert_ledger_healthy, customer, invoice};
    use crate::testing::fresh_db;

    #[tokio::test]
    async fn staff_list_pages_through_accounts_largest_open_balance_first_and_searches() {
        let db = fresh_db().await;
        let rows = CustomerListQuery::PAGE_ROWS as i64 + 5;
        for n in 1..=rows {
            let c = customer(&db, &format!("C-{n:03}"), Currency::Usd, (30, 0, 0)).await;
            // Balances 100.00, 200.00, …; every third account twice, to tie on balance.
            let amount = if n % 3 == 0 { 10_000 } else { n * 10_000 };
            invoice(
                &db,
                c,
                &format!("INV-{n:03}"),
                Currency::Usd,
                "2026-01-01",
                &[(amount, 0)],
            )
            .await;
        }
        assert_ledger_healthy(&db).await;
        let first = customer_page(&db, &CustomerListQuery::default())
            .await
            .unwrap();
        assert_eq!(first.rows.len(), CustomerListQuery::PAGE_ROWS);
        let second = customer_page(
            &db,
            &CustomerListQuery {
                after: first.next,
                ..CustomerListQuery::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(second.next, None, "the second page is the last");
        let all: Vec<(i64, i64)> = first
            .rows
            .iter()
            .chain(&second.rows)
            .map(|c| (c.open_minor, c.id))
            .collect();
        assert_eq!(
            all.len() as i64,
            rows,
            "every account once, none skipped at the page break"
        );
        let mut ranked = all.clone();
        ranked.sort_by(|a, b| b.cmp(a));
        assert_eq!(all, ranked, "largest balance first, ties by newest account");
        assert_eq!(first.rows[0].number, "C-055");
        assert_eq!(first.rows[0].open_minor, 550_000);

        let found = customer_page(
            &db,
            &CustomerListQuery {
                search: "c-04".into(),
                ..CustomerListQuery::default()
            },
        )
        .await
        .unwrap();
        let numbers: Vec<&str> = found.rows.iter().map(|c| c.number.as_str()).collect();
        assert_eq!(
            numbers,
            [
                "C-049", "C-047", "C-046", "C-044", "C-043", "C-041", "C-040", "C-048", "C-045",
                "C-042"
            ]
        );
    }
}
