//! The HTTP API for ERPs: push invoices and credit memos, read payments back. Authenticated by
//! an API key (`Authorization: Bearer lpk_…`), idempotent by invoice and credit-memo number,
//! JSON in and out, described by the OpenAPI document at `/api/v1/openapi.json`.

use app::errors::AppError;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use ledgerport::adjustments::credit_memo::CreditMemoDraft;
use ledgerport::invoices::draft::{FieldError, InvoiceDraft};
use ledgerport::invoices::reading::{InvoiceRef, invoice_by_number};
use ledgerport::money::Money;
use ledgerport::payments::history::PaymentFilter;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::state::ServerState;

const OPENAPI: &str = include_str!("api/openapi.json");

pub fn routes() -> Vec<(&'static str, MethodRouter<ServerState>)> {
    vec![
        ("/api/v1/openapi.json", get(openapi)),
        ("/api/v1/invoices", post(push_invoice)),
        ("/api/v1/credit-memos", post(push_credit_memo)),
        ("/api/v1/payments", get(list_payments)),
        (
            "/api/v1/journal-exports",
            get(list_journal_exports).post(export_journal),
        ),
        ("/api/v1/journal-exports/{id}", get(journal_export_file)),
        (
            "/api/v1/bank-statements",
            post(push_statement).layer(DefaultBodyLimit::max(
                crate::bank_statements::MAX_STATEMENT_BYTES,
            )),
        ),
    ]
}

/// Where the ERP API lives: every answer under it is JSON, refusals included.
pub const PREFIX: &str = "/api/v1/";

/// Every refusal as JSON: a code, a sentence, and for invalid input the fields at fault.
#[derive(Debug)]
pub enum ApiError {
    Unauthorized,
    Malformed(String),
    TooLarge(String),
    Fields(Vec<FieldError>),
    App(AppError),
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError::App(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                json!({"error": "unauthorized", "message": "Send a valid API key as `Authorization: Bearer lpk_…`."}),
            ),
            ApiError::Malformed(message) => (
                StatusCode::BAD_REQUEST,
                json!({"error": "malformed_request", "message": message}),
            ),
            ApiError::TooLarge(message) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({"error": "too_large", "message": message}),
            ),
            ApiError::Fields(fields) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({
                    "error": "validation_failed",
                    "message": ledgerport::invoices::draft::describe(&fields),
                    "fields": fields,
                }),
            ),
            ApiError::App(error) => {
                let status = StatusCode::from_u16(error.status())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let code = match status.as_u16() {
                    404 => "not_found",
                    409 => "conflict",
                    500 => "internal",
                    503 => "unavailable",
                    _ => "invalid",
                };
                (status, json!({"error": code, "message": error.to_string()}))
            }
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, "Bearer".parse().expect("static"));
        }
        response
    }
}

/// A request refused before it reached an operation (a NUL character, a body too large), in
/// the API's error shape; the guard writes the portal's refusals as plain text.
pub fn refusal(status: StatusCode, message: &'static str) -> Response {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge(message.into()).into_response()
    } else {
        ApiError::Malformed(message.into()).into_response()
    }
}

fn field(name: &str, message: impl Into<String>) -> ApiError {
    ApiError::Fields(vec![FieldError::new(name, message)])
}

/// A request that carries a live API key: its id.
pub struct ApiKey(pub i64);

impl FromRequestParts<ServerState> for ApiKey {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ServerState,
    ) -> Result<Self, Self::Rejection> {
        let key = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized)?;
        match ledgerport::api_keys::store::verify(&state.app.db, key.trim()).await {
            Ok(Some(id)) => Ok(ApiKey(id)),
            Ok(None) => Err(ApiError::Unauthorized),
            Err(e) => Err(AppError::from(e).into()),
        }
    }
}

impl ApiKey {
    fn actor(&self) -> String {
        format!("api_key:{}", self.0)
    }
}

#[derive(Debug, Deserialize)]
struct StatementQuery {
    /// The saved CSV mapping, for a CSV file.
    #[serde(default)]
    mapping: Option<String>,
    #[serde(default)]
    file_name: Option<String>,
}

/// A bank statement file as the body (camt XML, BAI2 or CSV); what each statement brought.
async fn push_statement(
    State(state): State<ServerState>,
    key: ApiKey,
    query: Result<Query<StatementQuery>, QueryRejection>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::Malformed(e.body_text()))?;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(e.body_text())
        } else {
            ApiError::Malformed(e.body_text())
        }
    })?;
    let actor_name = key.actor();
    let actor = ledgerport::audit::Actor {
        user_id: None,
        name: &actor_name,
    };
    let text = crate::bank_statements::text_of(&body)?;
    let imported = ledgerport::statements::store::import_statement(
        &state.app.db,
        query.file_name.as_deref().unwrap_or("api"),
        text,
        query.mapping.as_deref(),
        actor,
    )
    .await
    .map_err(AppError::from)?;
    Ok(Json(imported).into_response())
}

/// Takes every journal entry not exported yet into a new batch: 201 with the batch, or 204
/// when there is nothing new.
async fn export_journal(
    State(state): State<ServerState>,
    key: ApiKey,
) -> Result<Response, ApiError> {
    let actor_name = key.actor();
    let actor = ledgerport::audit::Actor {
        user_id: None,
        name: &actor_name,
    };
    let batch = ledgerport::exports::store::export_new_entries(&state.app.db, actor)
        .await
        .map_err(AppError::from)?;
    Ok(match batch {
        Some(batch) => (StatusCode::CREATED, Json(batch)).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// The latest export batches, newest first.
async fn list_journal_exports(
    State(state): State<ServerState>,
    _key: ApiKey,
) -> Result<Response, ApiError> {
    let batches = ledgerport::exports::store::batches(&state.app.db, 100)
        .await
        .map_err(AppError::from)?;
    Ok(Json(json!({ "batches": batches })).into_response())
}

#[derive(Debug, Deserialize)]
struct ExportQuery {
    #[serde(default)]
    format: Option<String>,
}

/// One batch again, as a file: `format` csv (default), hledger, quickbooks or xero.
async fn journal_export_file(
    State(state): State<ServerState>,
    _key: ApiKey,
    path: Result<axum::extract::Path<i64>, axum::extract::rejection::PathRejection>,
    query: Result<Query<ExportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let axum::extract::Path(id) = path.map_err(|e| ApiError::Malformed(e.body_text()))?;
    let Query(query) = query.map_err(|e| ApiError::Malformed(e.body_text()))?;
    let text = query.format.as_deref().unwrap_or("csv");
    let format = ledgerport::exports::ExportFormat::parse(text).ok_or_else(|| {
        field(
            "format",
            format!("{text:?} is not an export format: use csv, hledger, quickbooks or xero."),
        )
    })?;
    let db = &state.app.db;
    if ledgerport::exports::store::batch(db, id)
        .await
        .map_err(AppError::from)?
        .is_none()
    {
        return Err(AppError::NotFound(format!("There is no export batch {id}.")).into());
    }
    let lines = ledgerport::exports::store::export_lines(db, id)
        .await
        .map_err(AppError::from)?;
    let body = ledgerport::exports::formats::render(format, id, &lines)
        .map_err(|e| AppError::from(ledgerport::db::DbError::Corrupt(e.to_string())))?;
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", format.file_name(id)),
            ),
        ],
        body,
    )
        .into_response())
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

fn body<T>(payload: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    payload
        .map(|Json(value)| value)
        .map_err(|rejection| ApiError::Malformed(rejection.body_text()))
}

#[derive(Debug, Deserialize)]
pub struct InvoicePush {
    customer: String,
    #[serde(flatten)]
    draft: InvoiceDraft,
}

/// The invoice as the API answers with it.
#[derive(Debug, Serialize)]
struct InvoiceAnswer {
    id: i64,
    number: String,
    customer: String,
    currency: String,
    total: String,
    open: String,
    due_date: String,
    /// `created`, or `unchanged` when this exact invoice had been pushed before.
    status: &'static str,
}

impl InvoiceAnswer {
    fn new(invoice: &InvoiceRef, replayed: bool) -> Self {
        let amount = |minor| {
            Money::from_minor(minor, invoice.currency)
                .amount()
                .to_string()
        };
        Self {
            id: invoice.id,
            number: invoice.number.clone(),
            customer: invoice.customer_number.clone(),
            currency: invoice.currency.code().to_string(),
            total: amount(invoice.total_minor),
            open: amount(invoice.open_minor),
            due_date: invoice.due_date.to_string(),
            status: if replayed { "unchanged" } else { "created" },
        }
    }
}

fn created_or_ok(replayed: bool) -> StatusCode {
    if replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    }
}

async fn find_invoice(state: &ServerState, number: &str) -> Result<InvoiceRef, ApiError> {
    invoice_by_number(&state.app.db, number)
        .await
        .map_err(AppError::from)?
        .ok_or_else(|| AppError::NotFound(format!("There is no invoice {number:?}.")).into())
}

/// `POST /api/v1/invoices`: issues an invoice; the same invoice again changes nothing (200),
/// another invoice with a used number is a 409.
async fn push_invoice(
    State(state): State<ServerState>,
    key: ApiKey,
    payload: Result<Json<InvoicePush>, JsonRejection>,
) -> Result<Response, ApiError> {
    let push = body(payload)?;
    let db = &state.app.db;
    let (customer_id, currency) =
        ledgerport::customers::store::customer_by_number(db.pool(), &push.customer)
            .await
            .map_err(AppError::from)?
            .ok_or_else(|| {
                field(
                    "customer",
                    format!("There is no customer {:?}.", push.customer),
                )
            })?;
    let invoice = push
        .draft
        .parse(customer_id, currency, chrono::Utc::now().date_naive())
        .map_err(ApiError::Fields)?;
    let issued = ledgerport::invoices::store::issue_audited(db, &invoice, None, &key.actor())
        .await
        .map_err(AppError::from)?;
    let stored = find_invoice(&state, invoice.number.as_str()).await?;
    Ok((
        created_or_ok(issued.replayed),
        Json(InvoiceAnswer::new(&stored, issued.replayed)),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
pub struct CreditMemoPush {
    #[serde(default)]
    invoice: String,
    #[serde(flatten)]
    draft: CreditMemoDraft,
}

/// `POST /api/v1/credit-memos`: credits lines of an invoice (tax included). Idempotent by the
/// credit memo's number.
async fn push_credit_memo(
    State(state): State<ServerState>,
    key: ApiKey,
    payload: Result<Json<CreditMemoPush>, JsonRejection>,
) -> Result<Response, ApiError> {
    let push = body(payload)?;
    // Only "no such invoice" is the caller's fault; a failed lookup stays a server error.
    let invoice = invoice_by_number(&state.app.db, &push.invoice)
        .await
        .map_err(AppError::from)?
        .ok_or_else(|| {
            field(
                "invoice",
                format!("There is no invoice {:?}.", push.invoice),
            )
        })?;
    let memo = push
        .draft
        .parse(invoice.credited(), chrono::Utc::now().date_naive())
        .map_err(ApiError::Fields)?;
    let actor = key.actor();
    let adjusted = ledgerport::adjustments::store::issue_credit_memo(
        &state.app.db,
        &memo,
        ledgerport::audit::Actor {
            user_id: None,
            name: &actor,
        },
    )
    .await
    .map_err(AppError::from)?;
    let after = find_invoice(&state, &invoice.number).await?;
    Ok((
        created_or_ok(adjusted.replayed),
        Json(json!({
            "number": memo.number.as_str(),
            "invoice": InvoiceAnswer::new(&after, false),
            "status": if adjusted.replayed { "unchanged" } else { "created" },
        })),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
pub struct PaymentsQuery {
    /// Only payments after this id (the last id of the previous page).
    after: Option<i64>,
    customer: Option<String>,
    limit: Option<i64>,
}

/// `GET /api/v1/payments`: payments oldest first with their allocations, paged by id.
async fn list_payments(
    State(state): State<ServerState>,
    _key: ApiKey,
    query: Result<Query<PaymentsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::Malformed(e.body_text()))?;
    let db = &state.app.db;
    let customer_id = match &query.customer {
        None => None,
        Some(number) => Some(
            ledgerport::customers::store::customer_by_number(db.pool(), number)
                .await
                .map_err(AppError::from)?
                .ok_or_else(|| field("customer", format!("There is no customer {number:?}.")))?
                .0,
        ),
    };
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(field("limit", "The limit is between 1 and 1000."));
    }
    let payments = ledgerport::payments::history::store::find(
        db,
        &PaymentFilter {
            customer_id,
            after_id: query.after,
            oldest_first: true,
            limit,
            ..PaymentFilter::default()
        },
    )
    .await
    .map_err(AppError::from)?;
    let amount = |minor, currency| Money::from_minor(minor, currency).decimal_text();
    let data: Vec<_> = payments
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "customer": p.customer_number,
                "received_date": p.received_date.to_string(),
                "method": p.method,
                "reference": p.reference,
                "currency": p.currency.code(),
                "amount": amount(p.amount_minor, p.currency),
                "unapplied": amount(p.unapplied_minor, p.currency),
                "returned": p.returned,
                "applied": p.applied.iter().map(|a| json!({
                    "invoice": a.invoice_number,
                    "amount": amount(a.amount_minor, p.currency),
                    "discount": amount(a.discount_minor, p.currency),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let next_after = payments.last().map(|p| p.id);
    Ok(Json(json!({ "data": data, "next_after": next_after })).into_response())
}
