//! CSV exports of the staff report tables: aging, trial balance, DSO/CEI, collections per day,
//! expected collections; and the journal export batches for the general ledger. Staff only; the
//! same queries as the pages.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::NaiveDate;
use ledgerport::reports::Aging;
use serde::Deserialize;

use super::{DocumentError, attachment, cell, plain, today};
use crate::guard::SignedIn;
use crate::state::ServerState;

#[derive(Deserialize)]
pub(super) struct Period {
    #[serde(default)]
    as_of: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

fn date_or(text: &str, default: NaiveDate) -> Result<NaiveDate, DocumentError> {
    match text.trim() {
        "" => Ok(default),
        t => t
            .parse()
            .map_err(|_| DocumentError::Invalid(format!("{t:?} is not a date like 2026-11-23."))),
    }
}

/// `/documents/reports/{name}.csv`.
pub(super) async fn report_csv(
    State(state): State<ServerState>,
    SignedIn(caller): SignedIn,
    Path(file): Path<String>,
    Query(period): Query<Period>,
) -> Result<Response, DocumentError> {
    if !caller.is_staff() {
        return Err(DocumentError::Forbidden);
    }
    let db = &state.app.db;
    let as_of = date_or(&period.as_of, today())?;
    let to = date_or(&period.to, today())?;
    let from = date_or(&period.from, to - chrono::Duration::days(29))?;
    if from > to {
        return Err(DocumentError::Invalid(
            "The period ends before it starts.".into(),
        ));
    }
    let mut out = csv::Writer::from_writer(Vec::new());
    match file.as_str() {
        "aging.csv" => {
            let mut header = vec!["customer_number", "customer_name", "currency"];
            header.extend([
                "current",
                "days_1_30",
                "days_31_60",
                "days_61_90",
                "days_over_90",
            ]);
            header.extend(["in_dispute", "total"]);
            out.write_record(&header)?;
            for c in ledgerport::reports::store::aging_by_customer(db, as_of).await? {
                let mut record = vec![cell(&c.number), cell(&c.name), c.currency.code().into()];
                record.extend(aging_amounts(c.aging, c.currency));
                out.write_record(&record)?;
            }
        }
        "trial-balance.csv" => {
            out.write_record(["account", "name", "currency", "debit", "credit"])?;
            for r in ledgerport::reports::store::trial_balance(db, as_of).await? {
                let currency = ledgerport::db::currency(&r.currency)?;
                let net = r.debit_minor - r.credit_minor;
                out.write_record([
                    r.account_code.clone(),
                    cell(&r.account_name),
                    r.currency.clone(),
                    plain(net.max(0), currency),
                    plain((-net).max(0), currency),
                ])?;
            }
        }
        "dso.csv" => {
            out.write_record([
                "currency",
                "from",
                "to",
                "beginning_ar",
                "credit_sales",
                "ending_ar",
                "ending_current_ar",
                "dso_days",
                "cei_percent",
            ])?;
            for currency in ledgerport::customers::store::billed_currencies(db).await? {
                let m =
                    ledgerport::reports::store::collection_metrics(db, currency, from, to).await?;
                out.write_record([
                    currency.code().to_string(),
                    from.to_string(),
                    to.to_string(),
                    plain(m.beginning_ar_minor, currency),
                    plain(m.credit_sales_minor, currency),
                    plain(m.ending_ar_minor, currency),
                    plain(m.ending_current_ar_minor, currency),
                    m.dso_days.map(|d| d.to_string()).unwrap_or_default(),
                    m.cei_percent.map(|d| d.to_string()).unwrap_or_default(),
                ])?;
            }
        }
        "collections.csv" => {
            out.write_record(["date", "currency", "payments", "collected"])?;
            for d in ledgerport::reports::store::collections_per_day(db, from, to).await? {
                out.write_record([
                    d.date.to_string(),
                    d.currency.code().to_string(),
                    d.payments.to_string(),
                    plain(d.amount_minor, d.currency),
                ])?;
            }
        }
        "expected.csv" => {
            out.write_record(["week_of", "currency", "expected"])?;
            let weeks = app::books::EXPECTED_WEEKS;
            for w in ledgerport::reports::store::expected_collections(db, today(), weeks).await? {
                out.write_record([
                    w.week_start.to_string(),
                    w.currency.code().to_string(),
                    plain(w.amount_minor, w.currency),
                ])?;
            }
        }
        _ => return Err(DocumentError::NotFound),
    }
    let body = out
        .into_inner()
        .map_err(|e| DocumentError::Csv(e.to_string()))?;
    Ok(attachment("text/csv; charset=utf-8", &file, body))
}

fn aging_amounts(aging: Aging, currency: ledgerport::money::Currency) -> Vec<String> {
    let mut amounts: Vec<String> = aging
        .buckets()
        .into_iter()
        .map(|minor| plain(minor, currency))
        .collect();
    amounts.push(plain(aging.in_dispute, currency));
    amounts.push(plain(aging.total(), currency));
    amounts
}

/// `/documents/journal-exports/{id}/{format}`: one export batch, again, in `csv`, `hledger`,
/// `quickbooks` or `xero`.
pub(super) async fn journal_export(
    State(state): State<ServerState>,
    SignedIn(caller): SignedIn,
    Path((id, format)): Path<(i64, String)>,
) -> Result<Response, DocumentError> {
    if !caller.is_staff() {
        return Err(DocumentError::Forbidden);
    }
    let format = ledgerport::exports::ExportFormat::parse(&format).ok_or_else(|| {
        DocumentError::Invalid(format!(
            "{format:?} is not an export format: use csv, hledger, quickbooks or xero."
        ))
    })?;
    let db = &state.app.db;
    if ledgerport::exports::store::batch(db, id).await?.is_none() {
        return Err(DocumentError::NotFound);
    }
    let lines = ledgerport::exports::store::export_lines(db, id).await?;
    let body = ledgerport::exports::formats::render(format, id, &lines)?;
    Ok(attachment(
        format.content_type(),
        &format.file_name(id),
        body.into_bytes(),
    ))
}
