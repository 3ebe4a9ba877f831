//! BAI2 (US cash-management balance reporting): comma-separated records ending in `/`, `88`
//! continuing the record before it. `01` file header, `02` group (as-of date, currency), `03`
//! account (summary amounts: 010 opening and 015 closing ledger balance), `16` transaction
//! (type code 100–399 a credit, 400–699 a debit; amount in minor units; the bank's and the
//! customer's reference; free text), `49`/`98`/`99` trailers with control totals and record
//! counts, all checked. No crate reads it soundly (see docs/bank.md), so it is read here.

use chrono::NaiveDate;

use super::{Balance, BankLine, ParsedStatement, StatementError, StatementFormat};
use crate::money::Currency;

/// One logical record: its code, its fields, and the physical lines it spans (for counts and
/// messages).
struct Record {
    line: usize,
    code: String,
    fields: Vec<String>,
    physical: i64,
}

fn at_line(line: usize) -> String {
    format!("line {line}")
}

/// Every account in the file, as one statement each.
pub fn parse(text: &str) -> Result<Vec<ParsedStatement>, StatementError> {
    let records = records(text)?;
    let mut statements = Vec::new();
    let mut iter = records.iter().peekable();
    let header = iter
        .next()
        .filter(|r| r.code == "01")
        .ok_or_else(|| StatementError::new("line 1", "a BAI2 file starts with a 01 record"))?;
    let file_id = field(header, 5);
    let mut file_total: i64 = 0;
    let mut file_records: i64 = header.physical;
    let mut groups = 0;
    loop {
        let record = iter
            .next()
            .ok_or_else(|| StatementError::new("the file", "the 99 file trailer is missing"))?;
        file_records += record.physical;
        match record.code.as_str() {
            "02" => {
                groups += 1;
                let (group_total, group_records) =
                    read_group(record, &mut iter, &file_id, &mut statements)?;
                file_total += group_total;
                file_records += group_records;
            }
            "99" => {
                check_total(record, 1, file_total, "file")?;
                check_count(record, 2, groups, "groups")?;
                check_count(record, 3, file_records, "records")?;
                break;
            }
            other => {
                return Err(StatementError::new(
                    at_line(record.line),
                    format!("a {other} record where a 02 group header or the 99 trailer belongs"),
                ));
            }
        }
    }
    if let Some(extra) = iter.next() {
        return Err(StatementError::new(
            at_line(extra.line),
            "records after the 99 file trailer",
        ));
    }
    Ok(statements)
}

/// A group from its 02 header to its 98 trailer; returns its control total and how many
/// physical records followed the header (the 98 included).
fn read_group<'a>(
    header: &Record,
    iter: &mut std::iter::Peekable<impl Iterator<Item = &'a Record>>,
    file_id: &str,
    statements: &mut Vec<ParsedStatement>,
) -> Result<(i64, i64), StatementError> {
    let as_of = date(header, 4)?;
    let group_currency = field(header, 6);
    let mut total = 0;
    let mut count = 0;
    let mut accounts = 0;
    loop {
        let record = iter.next().ok_or_else(|| {
            StatementError::new(at_line(header.line), "the group has no 98 trailer")
        })?;
        count += record.physical;
        match record.code.as_str() {
            "03" => {
                accounts += 1;
                let (statement, account_total, account_records) =
                    read_account(record, iter, file_id, as_of, &group_currency)?;
                statements.push(statement);
                total += account_total;
                count += account_records;
            }
            "98" => {
                check_total(record, 1, total, "group")?;
                check_count(record, 2, accounts, "accounts")?;
                // The group's count includes its 02 header and 98 trailer.
                check_count(record, 3, count + header.physical, "records")?;
                return Ok((total, count));
            }
            other => {
                return Err(StatementError::new(
                    at_line(record.line),
                    format!("a {other} record where a 03 account or the 98 trailer belongs"),
                ));
            }
        }
    }
}

/// An account from its 03 record to its 49 trailer.
fn read_account<'a>(
    header: &Record,
    iter: &mut std::iter::Peekable<impl Iterator<Item = &'a Record>>,
    file_id: &str,
    as_of: NaiveDate,
    group_currency: &str,
) -> Result<(ParsedStatement, i64, i64), StatementError> {
    let account = field(header, 1);
    if account.is_empty() {
        return Err(StatementError::new(
            at_line(header.line),
            "the 03 record has no account number",
        ));
    }
    let code = Some(field(header, 2))
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| group_currency.to_string());
    let currency: Currency = code.parse().map_err(|_| {
        StatementError::new(
            at_line(header.line),
            format!("currency {code:?} is not one the portal keeps books in"),
        )
    })?;
    let mut total = 0;
    let mut opening = None;
    let mut closing = None;
    // Summary triples after the currency: type code, amount, item count, funds type (+ extras).
    let mut index = 3;
    while index < header.fields.len() && !field(header, index).is_empty() {
        let type_code = field(header, index);
        let amount_text = field(header, index + 1);
        let amount = if amount_text.is_empty() {
            0
        } else {
            minor(&amount_text, header.line)?
        };
        total += amount;
        match type_code.as_str() {
            "010" => {
                opening = Some(Balance {
                    on: as_of,
                    amount_minor: amount,
                })
            }
            "015" => {
                closing = Some(Balance {
                    on: as_of,
                    amount_minor: amount,
                })
            }
            _ => {}
        }
        index += 4 + funds_extras(header, index + 3)?;
    }
    let mut lines = Vec::new();
    let mut count = 0;
    loop {
        let record = iter.next().ok_or_else(|| {
            StatementError::new(at_line(header.line), "the account has no 49 trailer")
        })?;
        count += record.physical;
        match record.code.as_str() {
            "16" => {
                let line = transaction(record, as_of)?;
                total += line.amount_minor.abs();
                lines.push(line);
            }
            "49" => {
                check_total(record, 1, total, "account")?;
                // The account's count includes its 03 record and 49 trailer.
                check_count(record, 2, count + header.physical, "records")?;
                let statement = ParsedStatement {
                    format: StatementFormat::Bai2,
                    statement_id: format!("{file_id}/{as_of}/{account}"),
                    account,
                    currency,
                    opening,
                    closing,
                    lines,
                };
                return Ok((statement, total, count));
            }
            other => {
                return Err(StatementError::new(
                    at_line(record.line),
                    format!("a {other} record where a 16 transaction or the 49 trailer belongs"),
                ));
            }
        }
    }
}

/// A 16 record: type code, amount, funds type (+ extras), bank reference, customer reference,
/// text (the rest of the record).
fn transaction(record: &Record, as_of: NaiveDate) -> Result<BankLine, StatementError> {
    let type_code = field(record, 1);
    let code: u32 = type_code.parse().map_err(|_| {
        StatementError::new(
            at_line(record.line),
            format!("type code {type_code:?} is not a number"),
        )
    })?;
    let unsigned = minor(&field(record, 2), record.line)?;
    if unsigned < 0 {
        return Err(StatementError::new(
            at_line(record.line),
            "a transaction amount is unsigned (its type code says which way)",
        ));
    }
    let amount_minor = match code {
        100..=399 => unsigned,
        400..=699 => -unsigned,
        _ => {
            return Err(StatementError::new(
                at_line(record.line),
                format!(
                    "type code {type_code} is neither a credit (100-399) nor a debit (400-699)"
                ),
            ));
        }
    };
    let next = 4 + funds_extras(record, 3)?;
    let bank_reference = field(record, next);
    if bank_reference.is_empty() {
        return Err(StatementError::new(
            at_line(record.line),
            "the transaction has no bank reference",
        ));
    }
    let text = record
        .fields
        .get(next + 2..)
        .map(|rest| rest.join(","))
        .unwrap_or_default();
    Ok(BankLine {
        bank_reference,
        booked_on: as_of,
        amount_minor,
        end_to_end_id: field(record, next + 1),
        remittance: text.trim().to_string(),
        bank_code: type_code,
        ..BankLine::default()
    })
}

/// How many fields follow a funds type: none for 0/1/2/Z or blank, a date and time for V,
/// three amounts for S, a count and that many pairs for D.
fn funds_extras(record: &Record, index: usize) -> Result<usize, StatementError> {
    match field(record, index).as_str() {
        "" | "0" | "1" | "2" | "Z" => Ok(0),
        "V" => Ok(2),
        "S" => Ok(3),
        "D" => {
            let pairs: usize = field(record, index + 1).parse().map_err(|_| {
                StatementError::new(
                    at_line(record.line),
                    "funds type D needs the number of distributions",
                )
            })?;
            Ok(1 + 2 * pairs)
        }
        other => Err(StatementError::new(
            at_line(record.line),
            format!("funds type {other:?} is not one of 0, 1, 2, V, S, D, Z"),
        )),
    }
}

/// The file as logical records: each physical line's trailing `/` removed, `88` lines joined
/// to the record before them.
fn records(text: &str) -> Result<Vec<Record>, StatementError> {
    let mut records: Vec<Record> = Vec::new();
    for (index, raw) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let line = index + 1;
        let raw = raw.trim_end();
        if raw.is_empty() {
            continue;
        }
        let body = raw.strip_suffix('/').unwrap_or(raw);
        let (code, rest) = body.split_once(',').unwrap_or((body, ""));
        if code == "88" {
            let previous = records.last_mut().ok_or_else(|| {
                StatementError::new(at_line(line), "a 88 continuation with nothing before it")
            })?;
            previous.physical += 1;
            if previous.code == "16" {
                // Continued text: a space, not a new field.
                if let Some(last) = previous.fields.last_mut() {
                    last.push(' ');
                    last.push_str(rest);
                }
            } else {
                previous
                    .fields
                    .extend(rest.split(',').map(|f| f.trim().to_string()));
            }
            continue;
        }
        if !matches!(code, "01" | "02" | "03" | "16" | "49" | "98" | "99") {
            return Err(StatementError::new(
                at_line(line),
                format!("{code:?} is not a BAI2 record code"),
            ));
        }
        let mut fields = vec![code.to_string()];
        fields.extend(rest.split(',').map(|f| f.trim().to_string()));
        records.push(Record {
            line,
            code: code.to_string(),
            fields,
            physical: 1,
        });
    }
    if records.is_empty() {
        return Err(StatementError::new("the file", "the file is empty"));
    }
    Ok(records)
}

fn field(record: &Record, index: usize) -> String {
    record.fields.get(index).cloned().unwrap_or_default()
}

/// An amount in minor units, as BAI2 writes it (no decimal point, an optional sign).
fn minor(text: &str, line: usize) -> Result<i64, StatementError> {
    let digits = text.strip_prefix('+').unwrap_or(text);
    digits
        .parse::<i64>()
        .ok()
        .filter(|_| !digits.is_empty() && digits.len() <= 18)
        .ok_or_else(|| {
            StatementError::new(
                at_line(line),
                format!("{text:?} is not an amount in minor units"),
            )
        })
}

fn date(record: &Record, index: usize) -> Result<NaiveDate, StatementError> {
    let text = field(record, index);
    NaiveDate::parse_from_str(&format!("20{text}"), "%Y%m%d")
        .ok()
        .filter(|_| text.len() == 6)
        .ok_or_else(|| {
            StatementError::new(
                at_line(record.line),
                format!("{text:?} is not a YYMMDD date"),
            )
        })
}

fn check_total(
    record: &Record,
    index: usize,
    computed: i64,
    what: &str,
) -> Result<(), StatementError> {
    let stated = minor(&field(record, index), record.line)?;
    if stated == computed {
        Ok(())
    } else {
        Err(StatementError::new(
            at_line(record.line),
            format!("the {what} control total says {stated}, the records add up to {computed}"),
        ))
    }
}

fn check_count(
    record: &Record,
    index: usize,
    computed: i64,
    what: &str,
) -> Result<(), StatementError> {
    let text = field(record, index);
    let stated: i64 = text.parse().map_err(|_| {
        StatementError::new(
            at_line(record.line),
            format!("{text:?} is not a count of {what}"),
        )
    })?;
    if stated == computed {
        Ok(())
    } else {
        Err(StatementError::new(
            at_line(record.line),
            format!("the trailer counts {stated} {what}, the file has {computed}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bai2_file_reads_accounts_transactions_continuations_and_checks_its_totals() {
        let statements = parse(include_str!("testdata/bai2.txt")).unwrap();
        let [s] = &statements[..] else {
            panic!("one account: {statements:?}")
        };
        let day = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        assert_eq!(
            (s.account.as_str(), s.currency, s.statement_id.as_str()),
            (
                "000123456789",
                Currency::Usd,
                "0042/2026-12-04/000123456789"
            )
        );
        assert_eq!(s.opening.map(|b| b.amount_minor), Some(500_000));
        assert_eq!(
            s.closing,
            Some(Balance {
                on: day,
                amount_minor: 842_400
            })
        );
        assert_eq!(s.lines.len(), 2);
        let credit = &s.lines[0];
        assert_eq!(
            (
                credit.bank_reference.as_str(),
                credit.amount_minor,
                credit.bank_code.as_str()
            ),
            ("FED0042", 342_400, "195")
        );
        assert_eq!(credit.end_to_end_id, "ACME-REMIT-9");
        assert_eq!(
            credit.remittance,
            "ACME CORPORATION INV-2026-00003 AND THANKS"
        );
        assert_eq!(s.lines[1].amount_minor, -100_000);
    }

    #[test]
    fn broken_bai2_files_are_refused_naming_the_line() {
        let good = include_str!("testdata/bai2.txt");
        let cases = [
            (
                good.replace("49,1784800,5/", "49,1784801,5/"),
                "line 7",
                "control total",
            ),
            (
                good.replace("49,1784800,5/", "49,1784800,4/"),
                "line 7",
                "counts 4 records",
            ),
            (
                good.replace("16,475,100000,0,CHK1001", "16,475,100000,0,"),
                "line 6",
                "bank reference",
            ),
            (
                good.replace("16,195,342400", "16,999,342400"),
                "line 4",
                "type code 999",
            ),
            (
                good.replace("16,195,342400", "16,195,34.24"),
                "line 4",
                "minor units",
            ),
            (
                good.replace("99,1784800,1,9/\n", ""),
                "the file",
                "99 file trailer",
            ),
            (
                good.replace(
                    "02,LEDGERPORT,121000358,1,261204",
                    "02,LEDGERPORT,121000358,1,261399",
                ),
                "line 2",
                "YYMMDD",
            ),
            ("77,x/".to_string(), "line 1", "record code"),
        ];
        for (text, at, says) in cases {
            let error = parse(&text).unwrap_err();
            assert_eq!(error.at, at, "{error}");
            assert!(error.message.contains(says), "{error} (expected {says})");
        }
    }
}
