//! Downloads: for customer contacts, invoice, statement and bank-transfer PDFs and statement
//! and invoice-list CSVs, each scoped by the session's customer account like every page; for staff, the report
//! tables as CSV (`reports`).

mod letterhead;
pub mod logo;
mod pdf;
mod reports;

use app::portal::statement_period_in;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use ledgerport::db::{Db, DbError};
use ledgerport::exports::spreadsheet_cell as cell;
use ledgerport::invoices::views::{
    InvoiceDetail, InvoiceFilter, InvoiceQuery, InvoiceSort, activity_label,
};
use ledgerport::locale::Locale;
use ledgerport::money::{Currency, Money};
use ledgerport::outbox::Attachment;
use ledgerport::payments::PaymentMethod;
use ledgerport::payments::history::PaymentView;
use ledgerport::reports::{Aging, Statement};
use ledgerport::tr;
use ledgerport::transfers::TransferInstructions;
use ledgerport::verification::{DocumentCode, DocumentKind, IssuedDocument};
use serde::Deserialize;

use crate::guard::ContactSession;
use crate::state::ServerState;
use letterhead::{Parties, how_to_pay, verification};
use pdf::{Cell, Document, MARGIN, PAGE_WIDTH};

/// The document routes; they need the session, so the router mounts them inside its layer.
pub fn routes() -> Vec<(&'static str, MethodRouter<ServerState>)> {
    vec![
        ("/documents/invoices/{file}", get(invoice_pdf)),
        ("/documents/invoices.csv", get(invoice_list_csv)),
        ("/documents/statement.pdf", get(statement_pdf)),
        ("/documents/statement.csv", get(statement_csv)),
        ("/documents/transfers/{file}", get(transfer_pdf)),
        ("/documents/payments/{file}", get(receipt_pdf)),
        ("/documents/reports/{file}", get(reports::report_csv)),
        (
            "/documents/journal-exports/{id}/{format}",
            get(reports::journal_export),
        ),
    ]
}

#[derive(Debug, thiserror::Error)]
enum DocumentError {
    #[error("There is no such document on your account.")]
    NotFound,
    #[error("Only AR staff can do that.")]
    Forbidden,
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("the CSV could not be written: {0}")]
    Csv(String),
}

impl IntoResponse for DocumentError {
    fn into_response(self) -> Response {
        match self {
            DocumentError::NotFound => (StatusCode::NOT_FOUND, self.to_string()).into_response(),
            DocumentError::Forbidden => (StatusCode::FORBIDDEN, self.to_string()).into_response(),
            DocumentError::Invalid(_) => {
                (StatusCode::BAD_REQUEST, self.to_string()).into_response()
            }
            DocumentError::Db(_) | DocumentError::Csv(_) => {
                tracing::error!("document failed: {self}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong on our side; please try again.",
                )
                    .into_response()
            }
        }
    }
}

/// A download: never rendered inline, never cached.
pub(crate) fn attachment(content_type: &str, filename: &str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

impl From<csv::Error> for DocumentError {
    fn from(e: csv::Error) -> Self {
        DocumentError::Csv(e.to_string())
    }
}

/// Plain decimal with the currency's scale, for spreadsheets: `1234.50`.
fn plain(minor: i64, currency: Currency) -> String {
    Money::from_minor(minor, currency).decimal_text()
}

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

/// `42.pdf` → 42; anything else names no document.
fn pdf_id(file: &str) -> Result<i64, DocumentError> {
    file.strip_suffix(".pdf")
        .and_then(|id| id.parse().ok())
        .filter(|id: &i64| *id > 0)
        .ok_or(DocumentError::NotFound)
}

async fn invoice_pdf(
    State(state): State<ServerState>,
    contact: ContactSession,
    Path(file): Path<String>,
) -> Result<Response, DocumentError> {
    let id = pdf_id(&file)?;
    let db = &state.app.db;
    let invoice =
        ledgerport::invoices::reading::invoice_detail(db, contact.customer_id, id, today())
            .await?
            .ok_or(DocumentError::NotFound)?;
    let parties = Parties::of(db, contact.customer_id).await?;
    let code = ledgerport::verification::store::code_for(
        db,
        contact.customer_id,
        &IssuedDocument {
            kind: DocumentKind::Invoice,
            number: invoice.number.clone(),
            period_from: None,
            issued_on: invoice.issue_date,
            total_minor: invoice.total_minor,
            currency: invoice.currency,
        },
    )
    .await?;
    let filename = format!("{}.pdf", invoice.number);
    Ok(attachment(
        "application/pdf",
        &filename,
        invoice_document(
            contact.locale,
            &invoice,
            &parties,
            &code,
            &state.app.public_base_url,
        ),
    ))
}

/// A payment's receipt: what was paid, how, and where every cent went.
async fn receipt_pdf(
    State(state): State<ServerState>,
    contact: ContactSession,
    Path(file): Path<String>,
) -> Result<Response, DocumentError> {
    let id = pdf_id(&file)?;
    let db = &state.app.db;
    let payment =
        ledgerport::payments::history::store::payments(db, contact.customer_id, Some(id), 1)
            .await?
            .pop()
            .ok_or(DocumentError::NotFound)?;
    let parties = Parties::of(db, contact.customer_id).await?;
    Ok(attachment(
        "application/pdf",
        &receipt_filename(&payment),
        receipt_document(contact.locale, &payment, &parties),
    ))
}

/// A file sent with a message.
pub struct FileAttachment {
    pub filename: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// The file an outbox message carries ([`ledgerport::outbox::Attachment`]), made as it is sent,
/// in the recipient's language.
pub async fn outbox_attachment(
    db: &Db,
    reference: &str,
    recipient: &str,
) -> Result<FileAttachment, AttachmentError> {
    match Attachment::parse(reference).ok_or(AttachmentError::Unknown)? {
        Attachment::Receipt {
            customer_id,
            payment_id,
        } => {
            let payment = ledgerport::payments::history::store::payments(
                db,
                customer_id,
                Some(payment_id),
                1,
            )
            .await?
            .pop()
            .ok_or(AttachmentError::Unknown)?;
            let parties = Parties::of(db, customer_id).await?;
            let locale = ledgerport::users::store::locale_of(db.pool(), recipient).await?;
            Ok(FileAttachment {
                filename: receipt_filename(&payment),
                content_type: "application/pdf",
                bytes: receipt_document(locale, &payment, &parties),
            })
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AttachmentError {
    #[error("it names no document we have")]
    Unknown,
    #[error(transparent)]
    Db(#[from] DbError),
}

fn receipt_filename(payment: &PaymentView) -> String {
    format!("receipt-{}.pdf", payment.id)
}

fn receipt_document(locale: Locale, p: &PaymentView, parties: &Parties) -> Vec<u8> {
    let c = p.currency;
    let money = |minor| locale.money(minor, c);
    let mut doc = Document::new(&tr!(locale, "receipt.file_title", id = p.id), locale);
    doc.line(20.0, true, &tr!(locale, "receipt.title"));
    parties.print(&mut doc, locale);
    let value_column = MARGIN + 120.0;
    let method = PaymentMethod::parse(&p.method)
        .map_or_else(|| p.method.clone(), |m| m.label_in(locale).to_string());
    for (label, value, bold) in [
        (
            tr!(locale, "receipt.received"),
            locale.date(p.received_date),
            false,
        ),
        (tr!(locale, "receipt.method"), method, false),
        (tr!(locale, "receipt.reference"), p.reference.clone(), false),
        (tr!(locale, "receipt.amount"), money(p.amount_minor), true),
    ] {
        doc.row(
            10.0,
            bold,
            &[Cell::Left(MARGIN, label), Cell::Left(value_column, value)],
        );
    }
    if let Some(why) = &p.returned {
        doc.gap(4.0);
        doc.paragraph(10.0, true, &tr!(locale, "receipt.returned", reason = why));
    }
    doc.gap(10.0);
    let right = PAGE_WIDTH - MARGIN;
    doc.row(
        9.0,
        true,
        &[
            Cell::Left(MARGIN, tr!(locale, "receipt.applied_to")),
            Cell::Right(right - 110.0, tr!(locale, "receipt.discount_taken")),
            Cell::Right(right, tr!(locale, "receipt.paid")),
        ],
    );
    doc.rule();
    for a in &p.applied {
        doc.row(
            9.0,
            false,
            &[
                Cell::Left(
                    MARGIN,
                    tr!(locale, "document.invoice_number", number = a.invoice_number),
                ),
                Cell::Right(
                    right - 110.0,
                    if a.discount_minor > 0 {
                        money(a.discount_minor)
                    } else {
                        "-".into()
                    },
                ),
                Cell::Right(right, money(a.amount_minor)),
            ],
        );
    }
    if p.unapplied_minor > 0 {
        doc.row(
            9.0,
            false,
            &[
                Cell::Left(MARGIN, tr!(locale, "receipt.credit")),
                Cell::Right(right, money(p.unapplied_minor)),
            ],
        );
    }
    doc.rule();
    doc.row(
        10.0,
        true,
        &[
            Cell::Left(MARGIN, tr!(locale, "document.total")),
            Cell::Right(right, money(p.amount_minor)),
        ],
    );
    doc.gap(10.0);
    doc.line(9.0, false, &tr!(locale, "receipt.thanks"));
    doc.finish()
}

/// An announced transfer's instructions, to hand to whoever makes the transfer at the bank.
async fn transfer_pdf(
    State(state): State<ServerState>,
    contact: ContactSession,
    Path(file): Path<String>,
) -> Result<Response, DocumentError> {
    let id = file.strip_suffix(".pdf").ok_or(DocumentError::NotFound)?;
    let db = &state.app.db;
    let instructions = ledgerport::transfers::store::instructions_for(db, contact.customer_id, id)
        .await?
        .ok_or(DocumentError::NotFound)?;
    let parties = Parties::of(db, contact.customer_id).await?;
    let filename = format!("transfer-{}.pdf", instructions.reference.as_str());
    Ok(attachment(
        "application/pdf",
        &filename,
        transfer_document(contact.locale, &instructions, &parties),
    ))
}

fn transfer_document(locale: Locale, t: &TransferInstructions, parties: &Parties) -> Vec<u8> {
    let mut doc = Document::new(
        &tr!(locale, "transfer.file_title", reference = t.reference),
        locale,
    );
    doc.line(20.0, true, &tr!(locale, "transfer.title"));
    parties.print(&mut doc, locale);
    doc.line(
        10.0,
        false,
        &tr!(
            locale,
            "transfer.held",
            announced = locale.date(t.announced_on),
            until = locale.date(t.held_until)
        ),
    );
    doc.gap(10.0);
    let value_column = MARGIN + 150.0;
    // The amount and the reference (the first two lines) are what must be typed exactly.
    for (index, (label, value)) in t.lines(locale).into_iter().enumerate() {
        doc.row(
            11.0,
            index < 2,
            &[
                Cell::Left(MARGIN, label.to_string()),
                Cell::Left(value_column, value),
            ],
        );
    }
    doc.gap(6.0);
    doc.line(10.0, false, &tr!(locale, "transfer.quote_exactly"));
    doc.gap(10.0);
    let right = PAGE_WIDTH - MARGIN;
    doc.row(
        9.0,
        true,
        &[
            Cell::Left(MARGIN, tr!(locale, "document.invoice")),
            Cell::Right(right, tr!(locale, "receipt.amount")),
        ],
    );
    doc.rule();
    for (number, amount_minor) in &t.invoices {
        doc.row(
            9.0,
            false,
            &[
                Cell::Left(MARGIN, number.clone()),
                Cell::Right(right, locale.money(*amount_minor, t.currency)),
            ],
        );
    }
    doc.finish()
}

fn invoice_document(
    locale: Locale,
    d: &InvoiceDetail,
    parties: &Parties,
    code: &DocumentCode,
    portal: &str,
) -> Vec<u8> {
    let c = d.currency;
    let money = |minor| locale.money(minor, c);
    let title = tr!(locale, "document.invoice_number", number = d.number);
    let mut doc = Document::new(&title, locale);
    doc.line(20.0, true, &title);
    parties.print(&mut doc, locale);
    doc.line(
        10.0,
        false,
        &tr!(
            locale,
            "invoice.dates",
            issued = locale.date(d.issue_date),
            due = locale.date(d.due_date),
            status = d.status.label_in(locale)
        ),
    );
    let terms = match d.discount_until {
        Some(until) if d.discount_bp > 0 => tr!(
            locale,
            "invoice.terms_discount",
            percent = locale.percent(d.discount_bp),
            until = locale.date(until),
            net = d.net_days
        ),
        _ => tr!(locale, "invoice.terms_net", net = d.net_days),
    };
    doc.line(
        10.0,
        false,
        &tr!(
            locale,
            "invoice.terms_and_po",
            terms = terms,
            po = d.po_number.as_deref().unwrap_or("-")
        ),
    );
    doc.gap(10.0);
    let cols = [
        MARGIN,
        MARGIN + 24.0,
        340.0,
        410.0,
        450.0,
        495.0,
        PAGE_WIDTH - MARGIN,
    ];
    doc.row(
        9.0,
        true,
        &[
            Cell::Left(cols[0], "#".into()),
            Cell::Left(cols[1], tr!(locale, "invoice.description")),
            Cell::Right(cols[2], tr!(locale, "invoice.quantity")),
            Cell::Right(cols[3], tr!(locale, "invoice.unit_price")),
            Cell::Right(cols[4], tr!(locale, "invoice.discount")),
            Cell::Right(cols[5], tr!(locale, "invoice.tax")),
            Cell::Right(cols[6], tr!(locale, "invoice.net")),
        ],
    );
    doc.rule();
    for l in &d.lines {
        let description: String = l.description.chars().take(48).collect();
        doc.row(
            9.0,
            false,
            &[
                Cell::Left(cols[0], l.line_no.to_string()),
                Cell::Left(cols[1], description),
                Cell::Right(cols[2], locale.number_trimmed(l.quantity_milli, 3)),
                Cell::Right(cols[3], money(l.unit_price_minor)),
                Cell::Right(
                    cols[4],
                    if l.discount_bp > 0 {
                        locale.percent(l.discount_bp)
                    } else {
                        "-".into()
                    },
                ),
                Cell::Right(cols[5], money(l.tax_minor)),
                Cell::Right(cols[6], money(l.net_minor)),
            ],
        );
    }
    doc.rule();
    for (label, amount, bold) in [
        (tr!(locale, "invoice.subtotal"), d.subtotal_minor, false),
        (tr!(locale, "invoice.tax"), d.tax_minor, false),
        (tr!(locale, "document.total"), d.total_minor, true),
        (tr!(locale, "invoice.open"), d.open_minor, true),
    ] {
        doc.row(
            10.0,
            bold,
            &[
                Cell::Right(cols[5], label),
                Cell::Right(cols[6], money(amount)),
            ],
        );
    }
    if !d.activity.is_empty() {
        doc.gap(12.0);
        doc.line(11.0, true, &tr!(locale, "invoice.payments_and_credits"));
        for a in &d.activity {
            doc.row(
                9.0,
                false,
                &[
                    Cell::Left(MARGIN, locale.date(a.date)),
                    Cell::Left(MARGIN + 80.0, activity_label(&a.kind, locale).into()),
                    Cell::Left(MARGIN + 200.0, a.description.chars().take(40).collect()),
                    Cell::Right(cols[6], money(-a.amount_minor)),
                ],
            );
        }
    }
    let quote = tr!(locale, "invoice.quote", number = d.number);
    how_to_pay(&mut doc, locale, parties, portal, &quote);
    verification(&mut doc, locale, code, portal);
    doc.finish()
}

#[derive(Deserialize)]
struct Period {
    from: String,
    to: String,
}

async fn load_statement(
    state: &ServerState,
    customer_id: i64,
    period: &Period,
) -> Result<Statement, DocumentError> {
    let (from, to) = statement_period_in(app::request::locale(), &period.from, &period.to, today())
        .map_err(DocumentError::Invalid)?;
    ledgerport::reports::store::statement(&state.app.db, customer_id, from, to)
        .await?
        .ok_or(DocumentError::NotFound)
}

async fn statement_pdf(
    State(state): State<ServerState>,
    contact: ContactSession,
    Query(period): Query<Period>,
) -> Result<Response, DocumentError> {
    let statement = load_statement(&state, contact.customer_id, &period).await?;
    let db = &state.app.db;
    let parties = Parties::of(db, contact.customer_id).await?;
    let code = ledgerport::verification::store::code_for(
        db,
        contact.customer_id,
        &IssuedDocument {
            kind: DocumentKind::Statement,
            number: String::new(),
            period_from: Some(statement.from),
            issued_on: statement.to,
            total_minor: statement.closing_minor,
            currency: statement.currency,
        },
    )
    .await?;
    let filename = format!("statement-{}-{}.pdf", statement.from, statement.to);
    Ok(attachment(
        "application/pdf",
        &filename,
        statement_document(
            contact.locale,
            &statement,
            &parties,
            &code,
            &state.app.public_base_url,
        ),
    ))
}

fn statement_document(
    locale: Locale,
    s: &Statement,
    parties: &Parties,
    code: &DocumentCode,
    portal: &str,
) -> Vec<u8> {
    let c = s.currency;
    let money = |minor| locale.money(minor, c);
    let period = format!("{} – {}", locale.date(s.from), locale.date(s.to));
    let mut doc = Document::new(
        &tr!(locale, "statement.file_title", period = period),
        locale,
    );
    doc.line(20.0, true, &tr!(locale, "statement.title"));
    parties.print(&mut doc, locale);
    doc.line(10.0, false, &period);
    doc.gap(10.0);
    let right = PAGE_WIDTH - MARGIN;
    let header = [
        Cell::Left(MARGIN, tr!(locale, "statement.date")),
        Cell::Left(MARGIN + 75.0, tr!(locale, "statement.activity")),
        Cell::Left(MARGIN + 175.0, tr!(locale, "receipt.reference")),
        Cell::Right(right - 90.0, tr!(locale, "receipt.amount")),
        Cell::Right(right, tr!(locale, "statement.balance")),
    ];
    doc.row(9.0, true, &header);
    doc.rule();
    doc.row(
        9.0,
        true,
        &[
            Cell::Left(MARGIN, locale.date(s.from)),
            Cell::Left(MARGIN + 75.0, tr!(locale, "statement.opening")),
            Cell::Right(right, money(s.opening_minor)),
        ],
    );
    for l in &s.lines {
        doc.row(
            9.0,
            false,
            &[
                Cell::Left(MARGIN, locale.date(l.date)),
                Cell::Left(MARGIN + 75.0, activity_label(&l.kind, locale).into()),
                Cell::Left(MARGIN + 175.0, l.description.chars().take(40).collect()),
                Cell::Right(right - 90.0, money(l.amount_minor)),
                Cell::Right(right, money(l.balance_minor)),
            ],
        );
    }
    doc.rule();
    doc.row(
        10.0,
        true,
        &[
            Cell::Left(MARGIN, locale.date(s.to)),
            Cell::Left(MARGIN + 75.0, tr!(locale, "statement.closing")),
            Cell::Right(right, money(s.closing_minor)),
        ],
    );
    doc.gap(14.0);
    doc.line(
        11.0,
        true,
        &tr!(locale, "statement.aging_at", date = locale.date(s.to)),
    );
    let step = (right - MARGIN) / 5.0;
    let labels: Vec<Cell> = Aging::labels(locale)
        .iter()
        .enumerate()
        .map(|(i, l)| Cell::Right(MARGIN + step * (i as f32 + 1.0), (*l).into()))
        .collect();
    doc.row(9.0, true, &labels);
    let amounts: Vec<Cell> = s
        .aging
        .buckets()
        .iter()
        .enumerate()
        .map(|(i, a)| Cell::Right(MARGIN + step * (i as f32 + 1.0), money(*a)))
        .collect();
    doc.row(9.0, false, &amounts);
    let quote = tr!(locale, "statement.quote");
    how_to_pay(&mut doc, locale, parties, portal, &quote);
    verification(&mut doc, locale, code, portal);
    doc.finish()
}

async fn statement_csv(
    State(state): State<ServerState>,
    contact: ContactSession,
    Query(period): Query<Period>,
) -> Result<Response, DocumentError> {
    let s = load_statement(&state, contact.customer_id, &period).await?;
    let c = s.currency;
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "date",
        "activity",
        "reference",
        "amount",
        "balance",
        "currency",
    ])?;
    out.write_record([
        s.from.to_string(),
        "Opening balance".into(),
        String::new(),
        String::new(),
        plain(s.opening_minor, c),
        c.code().into(),
    ])?;
    for l in &s.lines {
        out.write_record([
            l.date.to_string(),
            activity_label(&l.kind, Locale::En).into(),
            cell(&l.description),
            plain(l.amount_minor, c),
            plain(l.balance_minor, c),
            c.code().into(),
        ])?;
    }
    out.write_record([
        s.to.to_string(),
        "Closing balance".into(),
        String::new(),
        String::new(),
        plain(s.closing_minor, c),
        c.code().into(),
    ])?;
    let body = out
        .into_inner()
        .map_err(|e| DocumentError::Invalid(e.to_string()))?;
    Ok(attachment(
        "text/csv; charset=utf-8",
        &format!("statement-{}-{}.csv", s.from, s.to),
        body,
    ))
}

#[derive(Deserialize)]
struct ListFilter {
    #[serde(default)]
    filter: String,
}

async fn invoice_list_csv(
    State(state): State<ServerState>,
    contact: ContactSession,
    Query(list): Query<ListFilter>,
) -> Result<Response, DocumentError> {
    let mut query = InvoiceQuery {
        filter: InvoiceFilter::parse(&list.filter),
        sort: InvoiceSort::IssueDate,
        descending: false,
        per_page: InvoiceQuery::MAX_PER_PAGE,
        ..InvoiceQuery::default()
    };
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "number",
        "po_number",
        "issue_date",
        "due_date",
        "total",
        "open",
        "currency",
        "status",
    ])?;
    loop {
        let page = ledgerport::invoices::reading::list_invoices(
            &state.app.db,
            contact.customer_id,
            &query,
            today(),
        )
        .await?
        .ok_or(DocumentError::NotFound)?;
        let c = page.currency;
        for row in &page.rows {
            out.write_record([
                cell(&row.number),
                cell(row.po_number.as_deref().unwrap_or_default()),
                row.issue_date.to_string(),
                row.due_date.to_string(),
                plain(row.total_minor, c),
                plain(row.open_minor, c),
                c.code().into(),
                row.status.label().into(),
            ])?;
        }
        if query.page >= page.pages() {
            break;
        }
        query.page += 1;
    }
    let body = out
        .into_inner()
        .map_err(|e| DocumentError::Invalid(e.to_string()))?;
    Ok(attachment("text/csv; charset=utf-8", "invoices.csv", body))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_text_of_the_documents_is_written_in_every_language_and_used() {
        let crate_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let problems = ledgerport::locale::catalogue_problems(
            &crate_dir.join("src"),
            &crate_dir.join("locales/server.yml"),
            |locale, key| crate::_rust_i18n_try_translate(locale, key).is_some(),
        );
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}
