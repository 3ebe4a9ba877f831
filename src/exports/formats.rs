//! The export files, from a batch's lines (ordered by entry, then line). Amounts are printed
//! with the currency's full scale (`6592.50`); dates as each importer reads them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::NaiveDate;

use super::{ExportFormat, ExportLine, spreadsheet_cell};
use crate::money::{Currency, Money};

/// Renders batch `batch`'s lines in `format`.
pub fn render(
    format: ExportFormat,
    batch: i64,
    lines: &[ExportLine],
) -> Result<String, csv::Error> {
    match format {
        ExportFormat::Csv => entries_csv(lines),
        ExportFormat::Hledger => Ok(hledger(lines)),
        ExportFormat::QuickBooks => quickbooks(batch, lines),
        ExportFormat::Xero => xero(batch, lines),
    }
}

fn written(writer: csv::Writer<Vec<u8>>) -> Result<String, csv::Error> {
    let bytes = writer
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Debit and credit columns of a signed amount: one of them empty.
fn sides(amount: Money) -> (String, String) {
    if amount.is_negative() {
        (String::new(), (-amount).decimal_text())
    } else {
        (amount.decimal_text(), String::new())
    }
}

fn entries_csv(lines: &[ExportLine]) -> Result<String, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "entry_id",
        "business_key",
        "kind",
        "date",
        "occurred_on",
        "customer",
        "memo",
        "account",
        "account_name",
        "currency",
        "debit",
        "credit",
        "invoice",
    ])?;
    for line in lines {
        let (debit, credit) = sides(line.amount());
        out.write_record([
            line.entry_id.to_string(),
            spreadsheet_cell(&line.business_key),
            line.kind.clone(),
            line.effective_date.to_string(),
            line.occurred_on.map(|d| d.to_string()).unwrap_or_default(),
            spreadsheet_cell(line.customer.as_deref().unwrap_or_default()),
            spreadsheet_cell(&line.memo),
            line.account_code.clone(),
            spreadsheet_cell(&line.account_name),
            line.currency.code().to_string(),
            debit,
            credit,
            spreadsheet_cell(line.invoice.as_deref().unwrap_or_default()),
        ])?;
    }
    written(out)
}

/// The hledger account of a chart account: its type as the top level, then code and name
/// (`assets:1100 Accounts receivable`), which hledger reads as the account's type.
pub fn hledger_account(kind: &str, code: &str, name: &str) -> String {
    let top = match kind {
        "asset" => "assets",
        "liability" => "liabilities",
        "revenue" | "contra_revenue" => "revenue",
        _ => "expenses",
    };
    // Two spaces or a tab end an account name in the journal, and `:` nests it.
    let name: String = name
        .chars()
        .map(|c| if c == ':' || c == '\t' { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    format!("{top}:{code} {name}")
}

/// One line of free text: no line breaks, and no `;` (a comment in the journal).
fn journal_text(text: &str) -> String {
    text.chars()
        .map(|c| {
            if matches!(c, '\n' | '\r' | ';') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// An hledger journal: one transaction per entry, dated by its effective date, its business key
/// as the code, its kind, customer and invoice as tags; amounts with the currency as commodity.
fn hledger(lines: &[ExportLine]) -> String {
    let mut out = String::new();
    let mut current: Option<i64> = None;
    for line in lines {
        if current != Some(line.entry_id) {
            current = Some(line.entry_id);
            if !out.is_empty() {
                out.push('\n');
            }
            let _ = write!(
                out,
                "{} ({}) {}  ; entry:{}, kind:{}",
                line.effective_date,
                journal_text(&line.business_key).replace(')', "]"),
                journal_text(&line.memo),
                line.entry_id,
                line.kind
            );
            if let Some(customer) = &line.customer {
                let _ = write!(
                    out,
                    ", customer:{}",
                    journal_text(customer).replace(',', " ")
                );
            }
            if let Some(day) = line.occurred_on {
                let _ = write!(out, ", occurred:{day}");
            }
            out.push('\n');
        }
        let _ = write!(
            out,
            "    {}  {} {}",
            hledger_account(&line.account_kind, &line.account_code, &line.account_name),
            line.amount().decimal_text(),
            line.currency.code()
        );
        if let Some(invoice) = &line.invoice {
            let _ = write!(
                out,
                "  ; invoice:{}",
                journal_text(invoice).replace(',', " ")
            );
        }
        out.push('\n');
    }
    out
}

/// Per day, currency and account: the net of the batch's lines, in that order.
fn daily_summary(
    lines: &[ExportLine],
) -> BTreeMap<(NaiveDate, Currency), BTreeMap<(String, String), i64>> {
    let mut days: BTreeMap<(NaiveDate, Currency), BTreeMap<(String, String), i64>> =
        BTreeMap::new();
    for line in lines {
        *days
            .entry((line.effective_date, line.currency))
            .or_default()
            .entry((line.account_code.clone(), line.account_name.clone()))
            .or_default() += line.amount_minor;
    }
    days
}

/// QuickBooks Online's journal-entry import: one journal per day and currency (its number
/// `LP<batch>-<date>-<currency>`, unique across batches), one row per account with its net
/// debit or credit. Dates as MM/DD/YYYY; the account as `code name`, mapped to the company's
/// accounts on import.
fn quickbooks(batch: i64, lines: &[ExportLine]) -> Result<String, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "Journal No",
        "Journal Date",
        "Currency Code",
        "Account",
        "Debits",
        "Credits",
        "Description",
    ])?;
    for ((day, currency), accounts) in daily_summary(lines) {
        for ((code, name), net) in accounts.into_iter().filter(|(_, net)| *net != 0) {
            let (debit, credit) = sides(Money::from_minor(net, currency));
            out.write_record([
                format!("LP{batch}-{day}-{}", currency.code()),
                day.format("%m/%d/%Y").to_string(),
                currency.code().to_string(),
                spreadsheet_cell(&format!("{code} {name}")),
                debit,
                credit,
                format!("Ledgerport AR, {day}"),
            ])?;
        }
    }
    written(out)
}

/// Xero's manual-journal import: the same summary, one journal per day and currency (rows of
/// one narration and date form a journal), amounts signed (positive: debit). Dates as
/// DD/MM/YYYY; TaxRate `Tax Exempt` (rename it on import where the organisation calls its
/// no-tax rate otherwise). Xero's manual journals are in the organisation's base currency: the
/// narration names the currency so that only the base currency's journals are imported.
fn xero(batch: i64, lines: &[ExportLine]) -> Result<String, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "Narration",
        "Date",
        "Description",
        "AccountCode",
        "TaxRate",
        "Amount",
    ])?;
    for ((day, currency), accounts) in daily_summary(lines) {
        for ((code, name), net) in accounts.into_iter().filter(|(_, net)| *net != 0) {
            out.write_record([
                format!("Ledgerport AR batch {batch} {day} {}", currency.code()),
                day.format("%d/%m/%Y").to_string(),
                spreadsheet_cell(&name),
                code,
                "Tax Exempt".to_string(),
                Money::from_minor(net, currency).decimal_text(),
            ])?;
        }
    }
    written(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(entry: i64, day: &str, code: &str, minor: i64) -> ExportLine {
        let (name, kind) = match code {
            "1100" => ("Accounts receivable", "asset"),
            "4000" => ("Revenue", "revenue"),
            _ => ("Stripe clearing", "asset"),
        };
        ExportLine {
            entry_id: entry,
            business_key: format!("key-{entry}"),
            kind: "invoice_issued".into(),
            effective_date: day.parse().unwrap(),
            occurred_on: None,
            memo: "=HYPERLINK(\"x\"); two\nlines".into(),
            customer: Some("C-1001".into()),
            account_code: code.into(),
            account_name: name.into(),
            account_kind: kind.into(),
            currency: Currency::Usd,
            amount_minor: minor,
            invoice: Some("INV-1".into()),
        }
    }

    fn book() -> Vec<ExportLine> {
        vec![
            line(1, "2026-11-03", "1100", 659_250),
            line(1, "2026-11-03", "4000", -659_250),
            line(2, "2026-11-03", "1150", 100_000),
            line(2, "2026-11-03", "1100", -100_000),
        ]
    }

    #[test]
    fn the_entries_csv_prints_every_amount_with_the_currencys_decimals_and_defuses_formulas() {
        let text = render(ExportFormat::Csv, 7, &book()).unwrap();
        let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(text.as_bytes())
            .records()
            .map(Result::unwrap)
            .collect();
        assert_eq!(rows.len(), 4);
        assert_eq!((&rows[0][10], &rows[0][11]), ("6592.50", ""));
        assert_eq!((&rows[1][10], &rows[1][11]), ("", "6592.50"));
        assert!(rows[0][6].starts_with("'=HYPERLINK"), "{text}");
    }

    #[test]
    fn the_hledger_journal_has_one_transaction_per_entry_with_typed_accounts() {
        let text = render(ExportFormat::Hledger, 7, &book()).unwrap();
        assert!(text.starts_with("2026-11-03 (key-1) =HYPERLINK(\"x\")  two lines  ; entry:1, kind:invoice_issued, customer:C-1001\n"), "{text}");
        assert!(
            text.contains("    assets:1100 Accounts receivable  6592.50 USD  ; invoice:INV-1\n")
        );
        assert!(text.contains("    revenue:4000 Revenue  -6592.50 USD"));
        assert_eq!(text.matches("\n\n").count(), 1, "two transactions");
    }

    #[test]
    fn the_daily_summaries_net_each_account_per_day_and_currency() {
        let quickbooks = render(ExportFormat::QuickBooks, 7, &book()).unwrap();
        let rows: Vec<&str> = quickbooks.lines().collect();
        // Receivables: +6592.50 − 1000.00 = 5592.50 debit; clearing 1000.00; revenue credit.
        assert_eq!(rows.len(), 1 + 3);
        assert_eq!(
            rows[1],
            "LP7-2026-11-03-USD,11/03/2026,USD,1100 Accounts receivable,5592.50,,\"Ledgerport AR, 2026-11-03\""
        );
        let xero = render(ExportFormat::Xero, 7, &book()).unwrap();
        assert!(
            xero.contains(
                "Ledgerport AR batch 7 2026-11-03 USD,03/11/2026,Revenue,4000,Tax Exempt,-6592.50"
            ),
            "{xero}"
        );
    }
}
