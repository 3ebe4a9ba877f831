//! ISO 20022 camt.053 (bank-to-customer statement) and camt.054 (debit/credit notification),
//! versions 001.02 to 001.08 and later: read by element names, whatever the namespace's
//! version, so `<Sts>BOOK</Sts>` and `<Sts><Cd>BOOK</Cd></Sts>`, `Dbtr/Nm` and `Dbtr/Pty/Nm` all
//! read alike. Only booked entries are imported (pending ones are not money yet).

use chrono::NaiveDate;
use roxmltree::{Document, Node, ParsingOptions};

use super::{Balance, BankLine, ParsedStatement, StatementError, StatementFormat, decimal_minor};
use crate::money::Currency;
use crate::transfers::electronic;

/// A 10,000-entry statement is about half a million nodes; far more is not a bank statement.
const NODES_LIMIT: u32 = 5_000_000;

/// Every statement (or notification) in the file, one per account.
pub fn parse(xml: &str) -> Result<Vec<ParsedStatement>, StatementError> {
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: NODES_LIMIT,
        ..ParsingOptions::default()
    };
    let doc =
        Document::parse_with_options(xml.trim_start_matches('\u{feff}'), options).map_err(|e| {
            let pos = e.pos();
            StatementError::new(
                format!("line {}, column {}", pos.row, pos.col),
                format!("not well-formed XML: {e}"),
            )
        })?;
    let reader = Reader { doc: &doc };
    let root = doc.root_element();
    if root.tag_name().name() != "Document" {
        return Err(reader.error(root, "the root element is not <Document>"));
    }
    let (message, format, item) = if let Some(m) = child(root, "BkToCstmrStmt") {
        (m, StatementFormat::Camt053, "Stmt")
    } else if let Some(m) = child(root, "BkToCstmrDbtCdtNtfctn") {
        (m, StatementFormat::Camt054, "Ntfctn")
    } else {
        return Err(reader.error(
            root,
            "neither a camt.053 statement (<BkToCstmrStmt>) nor a camt.054 notification (<BkToCstmrDbtCdtNtfctn>)",
        ));
    };
    let statements: Vec<ParsedStatement> = children(message, item)
        .map(|node| reader.statement(node, format))
        .collect::<Result<_, _>>()?;
    if statements.is_empty() {
        return Err(reader.error(message, &format!("there is no <{item}> in the file")));
    }
    Ok(statements)
}

struct Reader<'a, 'input> {
    doc: &'a Document<'input>,
}

impl Reader<'_, '_> {
    fn error(&self, node: Node, message: &str) -> StatementError {
        let pos = self.doc.text_pos_at(node.range().start);
        StatementError::new(
            format!("line {}, <{}>", pos.row, node.tag_name().name()),
            message,
        )
    }

    /// The text of a required element below `node`.
    fn required<'n>(&self, node: Node<'n, '_>, path: &[&str]) -> Result<&'n str, StatementError> {
        at(node, path)
            .and_then(|n| n.text())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| self.error(node, &format!("<{}> is missing", path.join("/"))))
    }

    fn date(&self, node: Node, path: &[&str]) -> Result<NaiveDate, StatementError> {
        // `Dt` is a date, `DtTm` a date-time: its first ten characters are the date.
        let parent = at(node, path)
            .ok_or_else(|| self.error(node, &format!("<{}> is missing", path.join("/"))))?;
        let text = self
            .required(parent, &["Dt"])
            .or_else(|_| self.required(parent, &["DtTm"]))?;
        text.get(..10)
            .and_then(|day| day.parse().ok())
            .ok_or_else(|| self.error(parent, &format!("{text:?} is not a date")))
    }

    /// An `Amt` element in the account's currency, as written (without a sign).
    fn unsigned(&self, amt: Node, currency: Currency) -> Result<i64, StatementError> {
        let pos = self.doc.text_pos_at(amt.range().start);
        let code = amt
            .attribute("Ccy")
            .ok_or_else(|| self.error(amt, "the amount has no Ccy attribute"))?;
        if code != currency.code() {
            return Err(self.error(
                amt,
                &format!(
                    "the amount is in {code}, the account in {}",
                    currency.code()
                ),
            ));
        }
        let minor = decimal_minor(
            amt.text().unwrap_or_default(),
            currency,
            &format!("line {}, <Amt>", pos.row),
        )?;
        if minor < 0 {
            return Err(self.error(
                amt,
                "amounts are written without a sign (CdtDbtInd says which way)",
            ));
        }
        Ok(minor)
    }

    /// The `Amt` below `parent`, signed by its `CdtDbtInd`.
    fn amount(&self, parent: Node, currency: Currency) -> Result<i64, StatementError> {
        let amt = child(parent, "Amt").ok_or_else(|| self.error(parent, "<Amt> is missing"))?;
        let minor = self.unsigned(amt, currency)?;
        match self.required(parent, &["CdtDbtInd"])? {
            "CRDT" => Ok(minor),
            "DBIT" => Ok(-minor),
            other => Err(self.error(
                parent,
                &format!("CdtDbtInd {other:?} is neither CRDT nor DBIT"),
            )),
        }
    }

    fn statement(
        &self,
        node: Node,
        format: StatementFormat,
    ) -> Result<ParsedStatement, StatementError> {
        let statement_id = self.required(node, &["Id"])?.to_string();
        let acct = child(node, "Acct").ok_or_else(|| self.error(node, "<Acct> is missing"))?;
        let account = at(acct, &["Id", "IBAN"])
            .or_else(|| at(acct, &["Id", "Othr", "Id"]))
            .and_then(|n| n.text())
            .map(electronic)
            .ok_or_else(|| self.error(acct, "<Acct/Id> has neither an IBAN nor an Othr/Id"))?;
        // The account's currency; else the first amount's.
        let code = at(acct, &["Ccy"])
            .and_then(|n| n.text())
            .or_else(|| {
                node.descendants()
                    .find(|n| n.is_element() && n.tag_name().name() == "Amt")
                    .and_then(|n| n.attribute("Ccy"))
            })
            .ok_or_else(|| self.error(acct, "the account's currency (<Ccy>) is missing"))?;
        let currency: Currency = code.trim().parse().map_err(|_| {
            self.error(
                acct,
                &format!("currency {code:?} is not one the portal keeps books in"),
            )
        })?;
        let mut opening = None;
        let mut closing = None;
        for bal in children(node, "Bal") {
            let code = self
                .required(bal, &["Tp", "CdOrPrtry", "Cd"])
                .unwrap_or_default();
            let balance = || -> Result<Balance, StatementError> {
                Ok(Balance {
                    on: self.date(bal, &["Dt"])?,
                    amount_minor: self.amount(bal, currency)?,
                })
            };
            match code {
                "OPBD" | "PRCD" if opening.is_none() => opening = Some(balance()?),
                "CLBD" => closing = Some(balance()?),
                _ => {}
            }
        }
        let mut lines = Vec::new();
        for entry in children(node, "Ntry") {
            self.entry(entry, currency, &mut lines)?;
        }
        Ok(ParsedStatement {
            format,
            statement_id,
            account,
            currency,
            opening,
            closing,
            lines,
        })
    }

    /// A booked entry becomes one line, or one per transaction when the entry is a batch of
    /// several with their own amounts (each with its own payer and remittance).
    fn entry(
        &self,
        entry: Node,
        currency: Currency,
        lines: &mut Vec<BankLine>,
    ) -> Result<(), StatementError> {
        let status = at(entry, &["Sts", "Cd"])
            .or_else(|| child(entry, "Sts"))
            .and_then(|n| n.text())
            .map(str::trim)
            .unwrap_or("BOOK");
        if status != "BOOK" {
            return Ok(());
        }
        let amount_minor = self.amount(entry, currency)?;
        let booked_on = self.date(entry, &["BookgDt"])?;
        let entry_reference = at(entry, &["AcctSvcrRef"])
            .and_then(|n| n.text())
            .map(str::trim)
            .unwrap_or_default();
        let bank_code = bank_code(entry);
        let details: Vec<Node> = entry
            .children()
            .filter(|n| n.is_element() && n.tag_name().name() == "NtryDtls")
            .flat_map(|d| children(d, "TxDtls"))
            .collect();
        let batch = details.len() > 1 && details.iter().all(|tx| transaction_amount(*tx).is_some());
        if !batch {
            let mut line = BankLine {
                bank_reference: entry_reference.to_string(),
                booked_on,
                amount_minor,
                bank_code,
                ..BankLine::default()
            };
            if let Some(tx) = details.first() {
                read_details(*tx, amount_minor >= 0, &mut line);
                if line.bank_reference.is_empty() {
                    line.bank_reference = text_at(*tx, &["Refs", "AcctSvcrRef"]);
                }
            }
            if line.bank_reference.is_empty() {
                return Err(self.error(
                    entry,
                    "the entry has no <AcctSvcrRef> (the bank's reference)",
                ));
            }
            lines.push(line);
            return Ok(());
        }
        let credit = amount_minor >= 0;
        for (index, tx) in details.iter().enumerate() {
            // A transaction's amount carries no indicator of its own here: the entry's says.
            let amt = transaction_amount(*tx).ok_or_else(|| self.error(*tx, "<Amt> is missing"))?;
            let unsigned = self.unsigned(amt, currency)?;
            let minor = if credit { unsigned } else { -unsigned };
            let own = text_at(*tx, &["Refs", "AcctSvcrRef"]);
            let bank_reference = if own.is_empty() {
                if entry_reference.is_empty() {
                    return Err(self.error(
                        entry,
                        "the entry has no <AcctSvcrRef> (the bank's reference)",
                    ));
                }
                format!("{entry_reference}/{}", index + 1)
            } else {
                own
            };
            let mut line = BankLine {
                bank_reference,
                booked_on,
                amount_minor: minor,
                bank_code: bank_code.clone(),
                ..BankLine::default()
            };
            read_details(*tx, credit, &mut line);
            lines.push(line);
        }
        Ok(())
    }
}

/// A batch transaction's own amount.
fn transaction_amount<'a, 'input>(tx: Node<'a, 'input>) -> Option<Node<'a, 'input>> {
    at(tx, &["AmtDtls", "TxAmt", "Amt"]).or_else(|| child(tx, "Amt"))
}

/// The payer (or payee), references and remittance of one transaction.
fn read_details(tx: Node, credit: bool, line: &mut BankLine) {
    let (party, account) = if credit {
        ("Dbtr", "DbtrAcct")
    } else {
        ("Cdtr", "CdtrAcct")
    };
    let parties = child(tx, "RltdPties");
    if let Some(parties) = parties {
        line.counterparty = text_at(parties, &[party, "Nm"]);
        if line.counterparty.is_empty() {
            line.counterparty = text_at(parties, &[party, "Pty", "Nm"]);
        }
        line.counterparty_account = at(parties, &[account, "Id", "IBAN"])
            .or_else(|| at(parties, &[account, "Id", "Othr", "Id"]))
            .and_then(|n| n.text())
            .map(electronic)
            .unwrap_or_default();
    }
    line.end_to_end_id = text_at(tx, &["Refs", "EndToEndId"]);
    if line.end_to_end_id == "NOTPROVIDED" {
        line.end_to_end_id.clear();
    }
    if let Some(remittance) = child(tx, "RmtInf") {
        line.remittance = children(remittance, "Ustrd")
            .filter_map(|n| n.text())
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" ");
        line.structured_reference = children(remittance, "Strd")
            .filter_map(|s| at(s, &["CdtrRefInf", "Ref"]))
            .filter_map(|n| n.text())
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" ");
    }
}

/// The bank transaction code: ISO domain/family/sub-family, else the proprietary code.
fn bank_code(entry: Node) -> String {
    let Some(code) = child(entry, "BkTxCd") else {
        return String::new();
    };
    let domain = [
        text_at(code, &["Domn", "Cd"]),
        text_at(code, &["Domn", "Fmly", "Cd"]),
        text_at(code, &["Domn", "Fmly", "SubFmlyCd"]),
    ];
    if domain.iter().all(|part| !part.is_empty()) {
        domain.join("/")
    } else {
        text_at(code, &["Prtry", "Cd"])
    }
}

fn child<'a, 'input>(node: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
    node.children()
        .find(|n| n.is_element() && n.tag_name().name() == name)
}

fn children<'a, 'input: 'a>(
    node: Node<'a, 'input>,
    name: &'a str,
) -> impl Iterator<Item = Node<'a, 'input>> + 'a {
    node.children()
        .filter(move |n| n.is_element() && n.tag_name().name() == name)
}

fn at<'a, 'input>(node: Node<'a, 'input>, path: &[&str]) -> Option<Node<'a, 'input>> {
    path.iter().try_fold(node, |n, name| child(n, name))
}

fn text_at(node: Node, path: &[&str]) -> String {
    at(node, path)
        .and_then(|n| n.text())
        .map(|t| t.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    #[test]
    fn a_camt_053_statement_reads_balances_booked_entries_batches_and_references() {
        let statements = parse(include_str!("testdata/camt053.xml")).unwrap();
        let [s] = &statements[..] else {
            panic!("one statement: {statements:?}")
        };
        assert_eq!(s.format, StatementFormat::Camt053);
        assert_eq!(
            (s.statement_id.as_str(), s.account.as_str(), s.currency),
            ("20261204-DE89-001", "DE89370400440532013000", Currency::Eur)
        );
        assert_eq!(
            (s.opening, s.closing),
            (
                Some(Balance {
                    on: day(4),
                    amount_minor: 1_000_000
                }),
                Some(Balance {
                    on: day(4),
                    amount_minor: 1_145_050
                })
            )
        );
        // The pending entry is not money yet; the batch is one line per transaction.
        let references: Vec<&str> = s.lines.iter().map(|l| l.bank_reference.as_str()).collect();
        assert_eq!(
            references,
            [
                "BANKREF-0001",
                "BANKREF-0002-A",
                "BANKREF-0002/2",
                "BANKREF-0003"
            ]
        );
        let first = &s.lines[0];
        assert_eq!(first.amount_minor, 125_050);
        assert_eq!(first.counterparty, "Acme Corporation");
        assert_eq!(first.counterparty_account, "FR1420041010050500013M02606");
        assert_eq!(first.structured_reference, "RF18539007547034");
        assert_eq!(first.end_to_end_id, "E2E-ACME-77");
        assert_eq!(first.bank_code, "PMNT/RCDT/ESCT");
        assert_eq!(
            (
                s.lines[1].amount_minor,
                s.lines[1].remittance.as_str(),
                s.lines[1].end_to_end_id.as_str()
            ),
            (10_000, "Invoice INV-2026-00005", "")
        );
        assert_eq!(s.lines[2].remittance, "INV-2026-00007 thank you");
        assert_eq!(
            (s.lines[3].amount_minor, s.lines[3].counterparty.as_str()),
            (-10_000, "Office rent")
        );
    }

    #[test]
    fn a_camt_054_notification_of_a_newer_version_reads_alike() {
        let statements = parse(include_str!("testdata/camt054.xml")).unwrap();
        let line = &statements[0].lines[0];
        assert_eq!(statements[0].format, StatementFormat::Camt054);
        assert_eq!(statements[0].account, "000123456789");
        assert_eq!(
            (
                line.bank_reference.as_str(),
                line.booked_on,
                line.amount_minor
            ),
            ("FED-20261204-0042", day(4), 342_400)
        );
        assert_eq!(line.counterparty, "ACME CORPORATION");
        assert_eq!(line.bank_code, "195");
    }

    #[test]
    fn broken_camt_files_are_refused_naming_the_line_and_element() {
        let good = include_str!("testdata/camt053.xml");
        let cases = [
            (
                good.replace("<AcctSvcrRef>BANKREF-0003</AcctSvcrRef>", ""),
                "line 69, <Ntry>",
                "AcctSvcrRef",
            ),
            (
                good.replace("1250.500", "1250.505"),
                "line 29, <Amt>",
                "amount",
            ),
            (
                good.replace("<CdtDbtInd>DBIT</CdtDbtInd>", "<CdtDbtInd>X</CdtDbtInd>"),
                "line 69, <Ntry>",
                "CdtDbtInd",
            ),
            (
                good.replace("Ccy=\"EUR\">300.00", "Ccy=\"USD\">300.00"),
                "line 50, <Amt>",
                "in USD",
            ),
            (good.replace("</Stmt>", ""), "line 8", "XML"),
            (
                "<Document><Other/></Document>".to_string(),
                "line 1, <Document>",
                "camt.053",
            ),
        ];
        for (text, at, says) in cases {
            let error = parse(&text).unwrap_err();
            assert!(error.at.starts_with(at), "{error} (expected at {at})");
            assert!(error.message.contains(says), "{error} (expected {says})");
        }
    }
}
