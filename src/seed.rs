//! Demo data for the embedded portal, and bulk load data for benchmarks.

use std::time::Instant;

use chrono::{Days, NaiveDate, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use sqlx::{Any, Row, Transaction};

use crate::customers::NewCustomer;
use crate::customers::store::create_customer;
use crate::db::{Db, DbError, Engine, date_text, now_text};
use crate::invoices::store::{IssueError, issue_invoice_in};
use crate::invoices::{InvoiceError, InvoiceNumber, LineItem, NewInvoice};
use crate::money::{Currency, Money};
use crate::payments::store::record_payment;
use crate::payments::{AllocationRule, PaymentMethod, PaymentRequest};
use crate::terms::PaymentTerms;
use crate::users::store::{CreateUserError, create_user, hash_password};
use crate::users::{Email, NewPassword, Role};

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Issue(#[from] IssueError),
    #[error(transparent)]
    User(#[from] CreateUserError),
    #[error(transparent)]
    BankAccount(#[from] crate::transfers::store::SetUpError),
    #[error("demo data is invalid: {0}")]
    Invalid(String),
}

crate::from_sqlx_error!(SeedError);

impl From<InvoiceError> for SeedError {
    fn from(e: InvoiceError) -> Self {
        SeedError::Invalid(e.to_string())
    }
}

/// A sign-in that the demo data creates, printed at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoLogin {
    pub who: &'static str,
    pub email: &'static str,
    pub password: &'static str,
    /// The base32 secret of a seeded authenticator (two-factor sign-in), if the login has one.
    pub authenticator: Option<&'static str>,
}

/// The demo manager's authenticator (AR managers sign in with two factors): add it to an
/// authenticator app, or print its current code with `ledgerport demo-code`. Demo data only.
pub const DEMO_MANAGER_AUTHENTICATOR: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

/// The second demo manager's authenticator: bank account changes need two managers.
pub const DEMO_CONTROLLER_AUTHENTICATOR: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

pub const DEMO_LOGINS: [DemoLogin; 6] = [
    DemoLogin {
        who: "customer contact (payer) at Acme Fabrication",
        email: "pat@acme.example",
        password: "acme-pays-on-time",
        authenticator: None,
    },
    DemoLogin {
        who: "customer contact (viewer) at Acme Fabrication",
        email: "vic@acme.example",
        password: "acme-reads-only",
        authenticator: None,
    },
    DemoLogin {
        who: "AR clerk",
        email: "clerk@ledgerport.example",
        password: "clerk-works-disputes",
        authenticator: None,
    },
    DemoLogin {
        who: "AR manager",
        email: "manager@ledgerport.example",
        password: "manager-sees-everything",
        authenticator: Some(DEMO_MANAGER_AUTHENTICATOR),
    },
    DemoLogin {
        who: "customer contact (payer) at Northwind Traders",
        email: "nina@northwind.example",
        password: "northwind-checks-every-line",
        authenticator: None,
    },
    DemoLogin {
        who: "second AR manager (approves bank account changes)",
        email: "controller@ledgerport.example",
        password: "controller-approves-changes",
        authenticator: Some(DEMO_CONTROLLER_AUTHENTICATOR),
    },
];

pub async fn is_empty(db: &Db) -> Result<bool, DbError> {
    let row = sqlx::query("SELECT count(*) FROM customers")
        .fetch_one(db.pool())
        .await?;
    Ok(row.try_get::<i64, _>(0)? == 0)
}

/// True when the demo sign-ins exist (and so are worth printing at start-up).
pub async fn has_demo_logins(db: &Db) -> Result<bool, DbError> {
    let row = sqlx::query("SELECT count(*) FROM users WHERE email = $1")
        .bind(DEMO_LOGINS[0].email)
        .fetch_one(db.pool())
        .await?;
    Ok(row.try_get::<i64, _>(0)? > 0)
}

struct DemoCustomer {
    number: &'static str,
    name: &'static str,
    currency: Currency,
    terms: (u32, u32, u32),
    credit_limit_minor: i64,
}

const DEMO_CUSTOMERS: [DemoCustomer; 3] = [
    DemoCustomer {
        number: "C-1001",
        name: "Acme Fabrication Ltd",
        currency: Currency::Usd,
        terms: (30, 200, 10),
        credit_limit_minor: 5_000_000,
    },
    DemoCustomer {
        number: "C-1002",
        name: "Northwind Traders",
        currency: Currency::Usd,
        terms: (30, 0, 0),
        credit_limit_minor: 2_500_000,
    },
    DemoCustomer {
        number: "C-1003",
        name: "Globex Japan KK",
        currency: Currency::Jpy,
        terms: (45, 0, 0),
        credit_limit_minor: 10_000_000,
    },
];

/// (days ago issued, PO, lines: (description, quantity, unit price in minor units, discount bp, tax bp))
type DemoInvoice = (
    u64,
    &'static str,
    &'static [(&'static str, i64, i64, u32, u32)],
);

const DEMO_INVOICES: [&[DemoInvoice]; 3] = [
    &[
        (
            120,
            "PO-7781",
            &[
                ("Steel brackets, galvanised", 400, 1_250, 0, 825),
                ("Freight", 1, 18_000, 0, 0),
            ],
        ),
        (
            75,
            "PO-7790",
            &[
                ("Hydraulic press service", 6, 14_500, 0, 825),
                ("Replacement seals kit", 2, 8_990, 1_000, 825),
            ],
        ),
        (
            40,
            "PO-7802",
            &[("Laser-cut panels 2 mm", 120, 2_275, 500, 825)],
        ),
        (
            18,
            "PO-7815",
            &[
                ("CNC machining, hours", 14, 9_500, 0, 825),
                ("Tooling setup", 1, 25_000, 0, 825),
            ],
        ),
        (
            5,
            "PO-7820",
            &[("Powder coating, RAL 7016", 250, 640, 0, 825)],
        ),
    ],
    &[
        (95, "NW-2231", &[("Warehouse racking", 10, 32_000, 0, 700)]),
        (
            33,
            "NW-2240",
            &[("Forklift rental, weekly", 3, 41_000, 0, 700)],
        ),
        (9, "NW-2251", &[("Pallet wrap, rolls", 60, 1_899, 0, 700)]),
    ],
    &[
        (60, "GX-88", &[("Precision bearings", 500, 1_200, 0, 1_000)]),
        (12, "GX-91", &[("Calibration service", 2, 85_000, 0, 1_000)]),
    ],
];

/// Loads the demo customers, contacts, staff and invoices in one transaction.
pub async fn seed_demo(db: &Db) -> Result<(), SeedError> {
    let today = Utc::now().date_naive();
    let mut tx = db.begin_write().await?;
    let mut invoice_seq = 1;
    for (customer, invoices) in DEMO_CUSTOMERS.iter().zip(DEMO_INVOICES) {
        let (net, discount_bp, discount_days) = customer.terms;
        let terms = PaymentTerms::with_discount(net, discount_bp, discount_days)
            .map_err(|e| SeedError::Invalid(e.to_string()))?;
        let new = NewCustomer::new(
            customer.number,
            customer.name,
            customer.currency,
            terms,
            Money::from_minor(customer.credit_limit_minor, customer.currency),
        )
        .map_err(|e| SeedError::Invalid(e.to_string()))?;
        let customer_id = create_customer(&mut tx, &new).await?;
        for (days_ago, po, lines) in invoices.iter() {
            let items = lines
                .iter()
                .enumerate()
                .map(|(i, (description, qty, price, discount, tax))| {
                    LineItem::new(
                        i + 1,
                        description,
                        Decimal::from(*qty),
                        Money::from_minor(*price, customer.currency),
                        *discount,
                        *tax,
                    )
                })
                .collect::<Result<Vec<_>, _>>()?;
            let issued = today - Days::new(*days_ago);
            let number =
                InvoiceNumber::parse(&format!("INV-{}-{invoice_seq:05}", issued.format("%Y")))?;
            invoice_seq += 1;
            let invoice = NewInvoice::new(
                customer_id,
                number,
                Some(po),
                issued,
                customer.currency,
                items,
            )?;
            issue_invoice_in(&mut tx, &invoice).await?;
        }
        if customer.number == "C-1001" {
            for (login, role) in DEMO_LOGINS[..2].iter().zip([Role::Payer, Role::Viewer]) {
                add_login(&mut tx, login, role, Some(customer_id)).await?;
            }
        }
        if customer.number == "C-1002" {
            add_login(&mut tx, &DEMO_LOGINS[4], Role::Payer, Some(customer_id)).await?;
        }
    }
    for (login, role) in [
        (&DEMO_LOGINS[2], Role::Clerk),
        (&DEMO_LOGINS[3], Role::Manager),
        (&DEMO_LOGINS[5], Role::Manager),
    ] {
        add_login(&mut tx, login, role, None).await?;
    }
    seed_letterhead(&mut tx).await?;
    tx.commit().await?;
    seed_receiving_accounts(db).await?;
    seed_demo_payments(db, today).await
}

/// Who issues the demo's documents, and the first account's own billing details: example
/// addresses and the documented example tax numbers, nothing real.
async fn seed_letterhead(tx: &mut Transaction<'_, Any>) -> Result<(), SeedError> {
    sqlx::query(
        "INSERT INTO company_profile (id, legal_name, address, tax_numbers, billing_contact, updated_at) \
         VALUES (1, 'Ledgerport Demo Inc.', $1, 'EIN 12-3456789', 'billing@ledgerport.example', $2)",
    )
    .bind("100 Example Avenue\nSpringfield, IL 62701\nUnited States")
    .bind(now_text())
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE customers SET billing_address = $1, billing_country = 'US', tax_id = '98-7654321' \
         WHERE number = 'C-1001'",
    )
    .bind("Acme Fabrication Ltd\nAttn: Accounts Payable\n1 Works Road\nDetroit, MI 48201")
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Where customers send bank transfers: the standards' and Stripe's documented test
/// coordinates, so nothing real is ever shown.
async fn seed_receiving_accounts(db: &Db) -> Result<(), SeedError> {
    use crate::transfers::{ReceivingAccount, TypedAccount};
    let accounts = [
        (
            Currency::Usd,
            TypedAccount {
                holder: "Ledgerport Demo Inc.",
                bank_name: "First Demo Bank",
                account_number: Some("000123456789"),
                routing_number: Some("110000000"),
                wait_days: 5,
                ..TypedAccount::default()
            },
        ),
        (
            Currency::Eur,
            TypedAccount {
                holder: "Ledgerport Demo GmbH",
                bank_name: "Commerzbank",
                iban: Some("DE89370400440532013000"),
                bic: Some("COBADEFFXXX"),
                wait_days: 5,
                ..TypedAccount::default()
            },
        ),
    ];
    for (currency, typed) in accounts {
        let account = ReceivingAccount::new(currency, &typed)
            .map_err(|e| SeedError::Invalid(e.to_string()))?;
        crate::transfers::store::set_up_receiving_account(db, &account).await?;
    }
    Ok(())
}

/// Acme has paid before: a wire that settled its oldest invoice and a cheque that paid part of
/// the next, so its history, statements and invoice pages show real cash application.
async fn seed_demo_payments(db: &Db, today: NaiveDate) -> Result<(), SeedError> {
    let oldest = sqlx::query(
        "SELECT i.customer_id, i.total_minor FROM invoices i JOIN customers c ON c.id = i.customer_id \
         WHERE c.number = 'C-1001' ORDER BY i.due_date, i.id LIMIT 1",
    )
    .fetch_one(db.pool())
    .await
    .map_err(DbError::from)?;
    let customer_id: i64 = oldest.try_get(0).map_err(DbError::from)?;
    let total: i64 = oldest.try_get(1).map_err(DbError::from)?;
    for (key, method, amount_minor, days_ago) in [
        ("demo-wire-0001", PaymentMethod::Wire, total, 60),
        ("demo-cheque-1042", PaymentMethod::Cheque, 100_000, 20),
    ] {
        let request = PaymentRequest::new(
            customer_id,
            key,
            method,
            Money::from_minor(amount_minor, Currency::Usd),
            today - Days::new(days_ago),
            AllocationRule::OldestFirst,
            false,
        )
        .map_err(|e| SeedError::Invalid(e.to_string()))?;
        record_payment(db, &request)
            .await
            .map_err(|e| SeedError::Invalid(e.to_string()))?;
    }
    Ok(())
}

async fn add_login(
    tx: &mut Transaction<'_, Any>,
    login: &DemoLogin,
    role: Role,
    customer_id: Option<i64>,
) -> Result<(), SeedError> {
    let email = Email::parse(login.email).map_err(|e| SeedError::Invalid(e.to_string()))?;
    let password =
        NewPassword::parse(login.password).map_err(|e| SeedError::Invalid(e.to_string()))?;
    let name = login.email.split('@').next().unwrap_or(login.email);
    let user_id = create_user(tx, &email, name, role, customer_id, Some(&password)).await?;
    if let Some(secret) = login.authenticator {
        crate::auth::two_factor::seed_factor_in(tx, user_id, secret).await?;
    }
    Ok(())
}

/// What a bulk load did, for the CLI to report.
#[derive(Debug, Clone, Copy)]
pub struct LoadReport {
    pub customers: u64,
    pub invoices: u64,
    pub seconds: f64,
}

/// The password of every bulk-loaded contact (`load-<n>@customers.example`).
pub const LOAD_CONTACT_PASSWORD: &str = "load-test-contact";

/// Bulk-loads `customers` customers (one payer contact each) and `invoices` invoices spread over
/// them, with issue dates over the last two years. Rows are written with multi-row INSERTs in
/// batches, with ids allocated up front; run it while nothing else writes to the database.
pub async fn seed_load(
    db: &Db,
    customers: u64,
    invoices: u64,
    progress: bool,
) -> Result<LoadReport, SeedError> {
    let started = Instant::now();
    let bar = if progress {
        ProgressBar::new(customers + invoices)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})")
            .map_err(|e| SeedError::Invalid(e.to_string()))?
            .progress_chars("=> "),
    );
    let first_customer = next_id(db, "customers").await?;
    let password =
        NewPassword::parse(LOAD_CONTACT_PASSWORD).map_err(|e| SeedError::Invalid(e.to_string()))?;
    let password_hash = hash_password(&password)?;

    bar.set_message("customers");
    let mut loaded = 0;
    while loaded < customers {
        let batch = (customers - loaded).min(1_000);
        let mut tx = db.begin_write().await?;
        insert_load_customers(
            db.engine(),
            &mut tx,
            first_customer + loaded as i64,
            batch,
            &password_hash,
        )
        .await?;
        tx.commit().await?;
        loaded += batch;
        bar.inc(batch);
    }

    bar.set_message("invoices");
    let all_customers = next_id(db, "customers").await? - 1;
    if invoices > 0 && all_customers == 0 {
        return Err(SeedError::Invalid(
            "invoices need at least one customer".into(),
        ));
    }
    let first_invoice = next_id(db, "invoices").await?;
    let first_entry = next_id(db, "journal_entries").await?;
    let today = Utc::now().date_naive();
    let mut rng = StdRng::seed_from_u64(first_invoice as u64);
    // Binding is superlinear in a statement's parameter count on SQLite; PostgreSQL prefers
    // fewer round trips. Measured with `seed` on this machine (BENCHMARKS.md).
    let invoice_batch = match db.engine() {
        Engine::Sqlite => 100,
        Engine::Postgres => 500,
    };
    let mut done = 0;
    while done < invoices {
        let batch = (invoices - done).min(invoice_batch);
        let mut generated = Vec::with_capacity(batch as usize);
        for i in 0..batch {
            let seq = first_invoice + (done + i) as i64;
            // Spread invoices over the bulk customers (or all customers when none were added).
            let span = if customers > 0 {
                customers as i64
            } else {
                all_customers
            };
            let base = if customers > 0 { first_customer } else { 1 };
            let customer_id = base + (seq % span);
            generated.push(load_invoice(&mut rng, customer_id, seq, today)?);
        }
        let mut tx = db.begin_write().await?;
        insert_invoices(
            db.engine(),
            &mut tx,
            &generated,
            first_invoice + done as i64,
            first_entry + done as i64,
        )
        .await?;
        tx.commit().await?;
        done += batch;
        bar.inc(batch);
    }
    if db.engine() == Engine::Postgres {
        for table in ["customers", "users", "invoices", "journal_entries"] {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                 (SELECT COALESCE(max(id), 0) + 1 FROM {table}), false)"
            ))
            .execute(db.pool())
            .await?;
        }
    }
    bar.finish_and_clear();
    Ok(LoadReport {
        customers,
        invoices,
        seconds: started.elapsed().as_secs_f64(),
    })
}

async fn next_id(db: &Db, table: &str) -> Result<i64, DbError> {
    let row = sqlx::query(&format!("SELECT COALESCE(max(id), 0) + 1 FROM {table}"))
        .fetch_one(db.pool())
        .await?;
    Ok(row.try_get(0)?)
}

/// `($1,$2,…),(…)` groups for a multi-row VALUES clause. SQLite gets `?N`: it resolves `$N` as a
/// name with a linear search per parameter, which makes 10,000-parameter statements quadratic.
fn values_clause(engine: Engine, rows: usize, columns: usize) -> String {
    let sigil = match engine {
        Engine::Sqlite => '?',
        Engine::Postgres => '$',
    };
    let mut sql = String::with_capacity(rows * columns * 5);
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for c in 0..columns {
            if c > 0 {
                sql.push(',');
            }
            sql.push(sigil);
            sql.push_str(&(r * columns + c + 1).to_string());
        }
        sql.push(')');
    }
    sql
}

async fn insert_load_customers(
    engine: Engine,
    tx: &mut Transaction<'_, Any>,
    first_id: i64,
    count: u64,
    password_hash: &str,
) -> Result<(), SeedError> {
    let now = now_text();
    let sql = format!(
        "INSERT INTO customers (id, number, name, currency, net_days, discount_bp, discount_days, \
         credit_limit_minor, created_at) VALUES {}",
        values_clause(engine, count as usize, 9)
    );
    let mut query = sqlx::query(&sql);
    for id in first_id..first_id + count as i64 {
        let discount = if id % 4 == 0 { 200 } else { 0 };
        query = query
            .bind(id)
            .bind(format!("L-{id:07}"))
            .bind(format!("Load Customer {id}"))
            .bind("USD")
            .bind(30i64)
            .bind(discount)
            .bind(if discount > 0 { 10i64 } else { 0 })
            .bind(10_000_000i64)
            .bind(now.clone());
    }
    query.execute(&mut **tx).await?;

    let sql = format!(
        "INSERT INTO users (email, display_name, password_hash, role, customer_id, created_at) VALUES {}",
        values_clause(engine, count as usize, 6)
    );
    let mut query = sqlx::query(&sql);
    for id in first_id..first_id + count as i64 {
        query = query
            .bind(format!("load-{id}@customers.example"))
            .bind(format!("Load contact {id}"))
            .bind(password_hash)
            .bind("payer")
            .bind(id)
            .bind(now.clone());
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

const LOAD_ITEMS: [&str; 6] = [
    "Consulting hours",
    "Steel sheet 2 mm",
    "Freight",
    "Maintenance contract",
    "Spare parts kit",
    "Software licence",
];

fn load_invoice(
    rng: &mut StdRng,
    customer_id: i64,
    seq: i64,
    today: NaiveDate,
) -> Result<(NewInvoice, NaiveDate, Option<NaiveDate>), SeedError> {
    let issued = today - Days::new(rng.gen_range(0..730));
    let line_count = rng.gen_range(1..=3);
    let items = (0..line_count)
        .map(|i| {
            LineItem::new(
                i + 1,
                LOAD_ITEMS[rng.gen_range(0..LOAD_ITEMS.len())],
                Decimal::from(rng.gen_range(1..50)),
                Money::from_minor(rng.gen_range(500..200_000), Currency::Usd),
                0,
                if rng.gen_bool(0.7) { 825 } else { 0 },
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let number = InvoiceNumber::parse(&format!("L{seq:09}"))?;
    let invoice = NewInvoice::new(customer_id, number, None, issued, Currency::Usd, items)?;
    // Load customers are net 30, every fourth with 2/10.
    let terms = if customer_id % 4 == 0 {
        PaymentTerms::with_discount(30, 200, 10)
    } else {
        PaymentTerms::net(30)
    }
    .map_err(|e| SeedError::Invalid(e.to_string()))?;
    Ok((
        invoice,
        terms.due_date(issued),
        terms.discount_until(issued),
    ))
}

async fn insert_invoices(
    engine: Engine,
    tx: &mut Transaction<'_, Any>,
    invoices: &[(NewInvoice, NaiveDate, Option<NaiveDate>)],
    first_invoice_id: i64,
    first_entry_id: i64,
) -> Result<(), SeedError> {
    let now = now_text();
    let sql = format!(
        "INSERT INTO invoices (id, customer_id, number, po_number, currency, issue_date, due_date, \
         discount_bp, discount_until, subtotal_minor, tax_minor, total_minor, open_minor, created_at) \
         VALUES {}",
        values_clause(engine, invoices.len(), 14)
    );
    let mut query = sqlx::query(&sql);
    for (i, (inv, due, discount_until)) in invoices.iter().enumerate() {
        query = query
            .bind(first_invoice_id + i as i64)
            .bind(inv.customer_id)
            .bind(inv.number.as_str())
            .bind(inv.po_number.clone())
            .bind(inv.currency().code())
            .bind(date_text(inv.issue_date))
            .bind(date_text(*due))
            .bind(if discount_until.is_some() { 200i64 } else { 0 })
            .bind(discount_until.map(date_text))
            .bind(inv.totals.subtotal.to_minor())
            .bind(inv.totals.tax.to_minor())
            .bind(inv.totals.total.to_minor())
            .bind(inv.totals.total.to_minor())
            .bind(now.clone());
    }
    query.execute(&mut **tx).await?;
    // The batch's customers' open balances, in one statement (see `add_to_open_balance`).
    sqlx::query(
        "UPDATE customers SET open_minor = open_minor + (SELECT sum(i.open_minor) FROM invoices i \
           WHERE i.customer_id = customers.id AND i.id BETWEEN $1 AND $2) \
         WHERE id IN (SELECT customer_id FROM invoices WHERE id BETWEEN $1 AND $2)",
    )
    .bind(first_invoice_id)
    .bind(first_invoice_id + invoices.len() as i64 - 1)
    .execute(&mut **tx)
    .await?;

    let line_rows: usize = invoices.iter().map(|(inv, _, _)| inv.lines.len()).sum();
    let sql = format!(
        "INSERT INTO invoice_lines (invoice_id, customer_id, line_no, description, quantity_milli, \
         unit_price_minor, discount_bp, tax_rate_bp, net_minor, tax_minor) VALUES {}",
        values_clause(engine, line_rows, 10)
    );
    let mut query = sqlx::query(&sql);
    for (i, (inv, _, _)) in invoices.iter().enumerate() {
        for (n, line) in inv.lines.iter().enumerate() {
            query = query
                .bind(first_invoice_id + i as i64)
                .bind(inv.customer_id)
                .bind(n as i64 + 1)
                .bind(line.item.description().to_string())
                .bind(line.item.quantity_milli())
                .bind(line.item.unit_price().to_minor())
                .bind(i64::from(line.item.discount_bp()))
                .bind(i64::from(line.item.tax_rate_bp()))
                .bind(line.net.to_minor())
                .bind(line.tax.to_minor());
        }
    }
    query.execute(&mut **tx).await?;

    // The same "invoice issued" entries `issue_invoice` posts, written in bulk.
    let entries = invoices
        .iter()
        .enumerate()
        .map(|(i, (inv, _, _))| inv.ledger_entry(first_invoice_id + i as i64))
        .collect::<Result<Vec<_>, _>>()?;
    let sql = format!(
        "INSERT INTO journal_entries (id, business_key, kind, effective_date, posted_at, customer_id, memo) \
         VALUES {}",
        values_clause(engine, entries.len(), 7)
    );
    let mut query = sqlx::query(&sql);
    for (i, entry) in entries.iter().enumerate() {
        query = query
            .bind(first_entry_id + i as i64)
            .bind(entry.business_key().to_string())
            .bind(entry.kind().as_str())
            .bind(date_text(entry.effective_date()))
            .bind(now.clone())
            .bind(entry.customer_id())
            .bind(entry.memo().to_string());
    }
    query.execute(&mut **tx).await?;

    let line_rows: usize = entries.iter().map(|e| e.lines().len()).sum();
    let sql = format!(
        "INSERT INTO journal_lines (entry_id, account_code, currency, amount_minor, customer_id, invoice_id, \
         effective_date) VALUES {}",
        values_clause(engine, line_rows, 7)
    );
    let mut query = sqlx::query(&sql);
    for (i, entry) in entries.iter().enumerate() {
        for line in entry.lines() {
            query = query
                .bind(first_entry_id + i as i64)
                .bind(line.account.code())
                .bind(line.amount.currency().code())
                .bind(line.amount.to_minor())
                .bind(line.customer_id)
                .bind(line.invoice_id)
                .bind(date_text(entry.effective_date()));
        }
    }
    query.execute(&mut **tx).await?;
    crate::ledger::daily::add_loaded_entries(
        tx,
        first_entry_id,
        first_entry_id + entries.len() as i64 - 1,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::values_clause;
    use crate::db::Engine;

    #[test]
    fn a_values_clause_numbers_placeholders_row_by_row() {
        assert_eq!(
            values_clause(Engine::Postgres, 2, 3),
            "($1,$2,$3),($4,$5,$6)"
        );
        assert_eq!(values_clause(Engine::Sqlite, 1, 2), "(?1,?2)");
    }
}

#[cfg(all(test, feature = "test-support"))]
mod db_tests {
    use sqlx::Row;

    use super::*;
    use crate::testing::fresh_db;

    /// (currency, sum) per currency over the whole ledger.
    async fn ledger_sums(db: &Db) -> Vec<(String, i64)> {
        sqlx::query(
            "SELECT currency, CAST(sum(amount_minor) AS BIGINT) AS total FROM journal_lines GROUP BY currency",
        )
        .fetch_all(db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("currency"), r.get("total")))
        .collect()
    }

    /// Invoices whose cached open amount differs from their receivables balance.
    async fn invoices_not_matching_ledger(db: &Db) -> i64 {
        sqlx::query(
            "SELECT count(*) FROM invoices i WHERE i.open_minor <> \
             (SELECT COALESCE(CAST(sum(l.amount_minor) AS BIGINT), 0) FROM journal_lines l \
              WHERE l.invoice_id = i.id AND l.account_code = '1100')",
        )
        .fetch_one(db.pool())
        .await
        .unwrap()
        .get(0)
    }

    #[tokio::test]
    async fn demo_data_is_balanced_and_has_every_printed_login() {
        let db = fresh_db().await;
        assert!(is_empty(&db).await.unwrap());
        seed_demo(&db).await.unwrap();
        assert!(!is_empty(&db).await.unwrap());
        for (_, sum) in ledger_sums(&db).await {
            assert_eq!(sum, 0);
        }
        assert_eq!(invoices_not_matching_ledger(&db).await, 0);
        for login in DEMO_LOGINS {
            let row = sqlx::query("SELECT password_hash FROM users WHERE email = $1")
                .bind(login.email)
                .fetch_one(db.pool())
                .await
                .unwrap();
            let hash: String = row.get(0);
            assert!(
                hash.starts_with("$argon2id$"),
                "{} has no Argon2id hash",
                login.email
            );
        }
    }

    #[tokio::test]
    async fn a_bulk_load_writes_balanced_entries_matching_every_invoice() {
        let db = fresh_db().await;
        seed_demo(&db).await.unwrap();
        let report = seed_load(&db, 3, 1_203, false).await.unwrap();
        assert_eq!(report.invoices, 1_203);
        let invoices: i64 = sqlx::query("SELECT count(*) FROM invoices WHERE number LIKE 'L%'")
            .fetch_one(db.pool())
            .await
            .unwrap()
            .get(0);
        assert_eq!(invoices, 1_203);
        for (_, sum) in ledger_sums(&db).await {
            assert_eq!(sum, 0);
        }
        assert_eq!(invoices_not_matching_ledger(&db).await, 0);
        // Each account's open balance and the receivables summary included.
        crate::testing::fixtures::assert_ledger_healthy(&db).await;
        // Ids handed out after a bulk load do not collide with the loaded rows.
        let customer_id: i64 = sqlx::query("SELECT id FROM customers WHERE number = 'C-1001'")
            .fetch_one(db.pool())
            .await
            .unwrap()
            .get(0);
        let number = InvoiceNumber::parse("AFTER-LOAD-1").unwrap();
        let item = LineItem::new(
            1,
            "x",
            Decimal::ONE,
            Money::from_minor(100, Currency::Usd),
            0,
            0,
        )
        .unwrap();
        let invoice = NewInvoice::new(
            customer_id,
            number,
            None,
            Utc::now().date_naive(),
            Currency::Usd,
            vec![item],
        )
        .unwrap();
        crate::invoices::store::issue_invoice(&db, &invoice)
            .await
            .unwrap();
        crate::testing::fixtures::assert_ledger_healthy(&db).await;
    }
}
