//! Times importing one large bank statement over whatever DATABASE_URL points at (a loaded book:
//! `ledgerport seed --customers N --invoices M`), with the share of lines matched automatically,
//! then the cash-application queue and the statement's reconciliation. Writes to the database:
//! run it on a benchmark book only.
//!
//!     DATABASE_URL=postgres://… cargo run --release -p server --example statement-import -- 10000
//!
//! The statement is a camt.053 of one USD account with as many credit lines as asked, built from
//! open invoices picked at random: half name their invoice in the remittance text (the
//! invoice-number rule), a quarter come from the customer's exact name with that invoice's open
//! amount (the payer-and-amount rule), a quarter from payers nobody knows (left for staff).

use std::fmt::Write as _;
use std::time::Instant;

use ledgerport::audit::Actor;
use ledgerport::db::{Db, PoolSettings};
use sqlx::Row;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL")?;
    let lines: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(10_000);
    let db = Db::connect(&url, &PoolSettings::default()).await?;
    let picked = sqlx::query(
        "SELECT i.number, i.open_minor, c.name FROM invoices i \
         JOIN customers c ON c.id = i.customer_id \
         WHERE i.open_minor > 0 AND i.held_minor = 0 AND i.pending_minor = 0 \
         AND i.voided_at IS NULL AND c.currency = 'USD' ORDER BY random() LIMIT $1",
    )
    .bind((lines * 3 / 4) as i64)
    .fetch_all(db.pool())
    .await?;
    let run = chrono::Utc::now().format("%Y%m%d%H%M%S").to_string();
    let mut entries = String::new();
    for n in 0..lines {
        let (amount, payer, text) = match picked.get(n) {
            Some(row) if n < lines / 2 => (
                row.try_get::<i64, _>("open_minor")?,
                "Accounts Payable Dept".to_string(),
                format!("Invoice {}", row.try_get::<String, _>("number")?),
            ),
            Some(row) => (
                row.try_get::<i64, _>("open_minor")?,
                row.try_get::<String, _>("name")?,
                "Payment".to_string(),
            ),
            None => (
                10_000 + (n as i64 * 7_919) % 990_000,
                format!("Unknown Payer {n}"),
                format!("Payment {n}"),
            ),
        };
        writeln!(
            entries,
            "<Ntry><Amt Ccy=\"USD\">{}.{:02}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>\
             <BookgDt><Dt>2026-12-04</Dt></BookgDt><AcctSvcrRef>BENCH-{run}-{n}</AcctSvcrRef>\
             <NtryDtls><TxDtls><RltdPties><Dbtr><Nm>{}</Nm></Dbtr></RltdPties>\
             <RmtInf><Ustrd>{}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>",
            amount / 100,
            amount % 100,
            escape(&payer),
            escape(&text)
        )?;
    }
    let file = format!(
        "<?xml version=\"1.0\"?><Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\">\
         <BkToCstmrStmt><GrpHdr><MsgId>BENCH</MsgId></GrpHdr><Stmt><Id>BENCH-{run}</Id>\
         <Acct><Id><Othr><Id>BENCH-ACCOUNT</Id></Othr></Id><Ccy>USD</Ccy></Acct>\
         <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"USD\">0.00</Amt>\
         <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-12-04</Dt></Dt></Bal>\n{entries}\
         </Stmt></BkToCstmrStmt></Document>"
    );
    println!(
        "{} book, a camt.053 of {lines} credit lines ({} KB)",
        db.engine().name(),
        file.len() / 1024
    );
    let actor = Actor {
        user_id: None,
        name: "benchmark",
    };
    let started = Instant::now();
    let imported =
        ledgerport::statements::store::import_statement(&db, "bench.xml", &file, None, actor)
            .await?;
    let took = started.elapsed();
    let statement = &imported[0];
    println!(
        "import and matching: {:.1?} ({:.0} lines/s); {} of {} lines matched automatically ({:.1} %)",
        took,
        statement.lines_new as f64 / took.as_secs_f64(),
        statement.matched,
        statement.lines_new,
        100.0 * statement.matched as f64 / statement.lines_new.max(1) as f64
    );
    let started = Instant::now();
    let (waiting, queued) = ledgerport::statements::suggest::cash_queue(&db, 25).await?;
    println!(
        "cash-application queue, {waiting} waiting, 25 shown with suggestions: {:.1?}",
        started.elapsed()
    );
    let suggested = queued.iter().filter(|q| !q.suggestions.is_empty()).count();
    println!("  lines shown with at least one suggestion: {suggested} of 25");
    let started = Instant::now();
    ledgerport::statements::reconcile::reconcile_statement(&db, statement.id).await?;
    println!("reconciliation of the statement: {:.1?}", started.elapsed());
    Ok(())
}

/// Text for an XML element.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
