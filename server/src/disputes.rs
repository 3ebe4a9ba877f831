//! Dispute forms: plain HTML posts (multipart where evidence is attached), so they work with
//! and without JavaScript. Each handler authorizes, parses, calls one use case in
//! `ledgerport::disputes::store` and answers with a redirect to the page that shows the result
//! (or, for a browser, back to the form with the reason; for anything else, a 4xx with it).

use std::collections::HashMap;

use app::errors::AppError;
use app::errors::said;
use app::request::locale as request_locale;
use axum::Form;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get, post};
use ledgerport::auth::Caller;
use ledgerport::disputes::store::{Actor, LineCredits, NewDispute, Scope};
use ledgerport::disputes::{
    ATTACHMENT_MAX_BYTES, ATTACHMENTS_PER_MESSAGE, Attachment, DisputeAction, DisputeError,
    DisputeReason, DisputedLine,
};
use ledgerport::locale::{Explain, Locale};
use ledgerport::money::{Currency, Money};
use ledgerport::tr;

use crate::guard::SignedIn;
use crate::state::ServerState;

/// Three attachments at the limit plus the text fields.
const UPLOAD_LIMIT: usize = ATTACHMENTS_PER_MESSAGE * ATTACHMENT_MAX_BYTES + 1024 * 1024;

pub fn routes() -> Vec<(&'static str, MethodRouter<ServerState>)> {
    vec![
        (
            "/disputes/new",
            post(open_dispute).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        ),
        (
            "/disputes/{id}/messages",
            post(post_message).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        ),
        ("/disputes/{id}/act", post(act)),
        ("/disputes/{id}/assign", post(assign)),
        (
            "/documents/disputes/{id}/attachments/{attachment}",
            get(download),
        ),
    ]
}

/// A refusal: where a browser goes back to, and why.
pub(crate) struct Refusal {
    back: String,
    error: AppError,
}

impl Refusal {
    pub(crate) fn new(back: impl Into<String>, error: impl Into<AppError>) -> Self {
        Self {
            back: back.into(),
            error: error.into(),
        }
    }

    pub(crate) fn respond(self, headers: &HeaderMap) -> Response {
        let browser = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"));
        let message = self.error.to_string();
        if browser && !matches!(self.error, AppError::SignInRequired) {
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("error", &message)
                .finish();
            return Redirect::to(&format!("{}?{query}", self.back)).into_response();
        }
        let status =
            StatusCode::from_u16(self.error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, message).into_response()
    }
}

/// On success the browser goes to `next`; on refusal back to `back` with the reason.
fn answer(result: Result<(), AppError>, next: &str, back: String, headers: &HeaderMap) -> Response {
    match result {
        Ok(()) => Redirect::to(next).into_response(),
        Err(error) => Refusal::new(back, error).respond(headers),
    }
}

/// The caller as the dispute store sees them: a contact of their account, or AR staff (a manager
/// only with a second factor in the session, as everywhere).
fn actor(caller: &Caller) -> Result<Actor<'_>, AppError> {
    let scope = match caller.customer_id {
        Some(customer) => Scope::Customer(customer),
        None => {
            app::session::check_staff(caller)?;
            Scope::Staff
        }
    };
    Ok(Actor {
        user_id: caller.user_id,
        email: &caller.email,
        scope,
    })
}

/// Where the dispute is shown to this caller.
fn dispute_page(caller: &Caller, id: i64) -> String {
    if caller.is_staff() {
        format!("/admin/disputes/{id}")
    } else {
        format!("/disputes/{id}")
    }
}

/// Contacts must be payers to act on disputes; viewers only read them.
fn require_actor(caller: &Caller) -> Result<(), AppError> {
    if caller.is_staff() || caller.can_pay() {
        Ok(())
    } else {
        let locale = request_locale();
        Err(AppError::Forbidden(tr!(locale, "dispute.read_only")))
    }
}

fn require_contact_payer(caller: &Caller) -> Result<(), AppError> {
    if caller.customer_id.is_none() {
        return Err(AppError::Forbidden(
            "Disputes are raised by the customer's contacts.".into(),
        ));
    }
    require_actor(caller)
}

/// The text fields and files of a multipart form.
#[derive(Default)]
struct Upload {
    fields: Vec<(String, String)>,
    files: Vec<Attachment>,
}

impl Upload {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.fields
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

async fn read_upload(mut multipart: Multipart) -> Result<Upload, AppError> {
    let mut upload = Upload::default();
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        AppError::Invalid(format!("The form could not be read: {}", e.body_text()))
    };
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_string();
        match field.file_name().map(str::to_string) {
            Some(file_name) => {
                let bytes = field.bytes().await.map_err(unreadable)?;
                // A file input left empty still sends a part, with no name and no bytes.
                if bytes.is_empty() && file_name.is_empty() {
                    continue;
                }
                if upload.files.len() == ATTACHMENTS_PER_MESSAGE {
                    return Err(AppError::Invalid(said(&DisputeError::TooManyAttachments)));
                }
                let attachment = Attachment::new(&file_name, bytes.to_vec())
                    .map_err(|refused| AppError::Invalid(said(&refused)))?;
                upload.files.push(attachment);
            }
            None => {
                let value = field.text().await.map_err(unreadable)?;
                if value.contains('\0') {
                    return Err(AppError::Invalid(
                        "Text may not contain NUL characters.".into(),
                    ));
                }
                upload.fields.push((name, value));
            }
        }
    }
    Ok(upload)
}

fn parse_id(text: Option<&str>, what: &str) -> Result<i64, AppError> {
    text.and_then(|t| t.trim().parse().ok())
        .ok_or_else(|| AppError::Invalid(format!("The {what} is missing or not a number.")))
}

/// An amount as typed on the page, in the language it was shown in (`1.234,50` in German).
fn parse_amount(
    text: &str,
    currency: Currency,
    line_no: &str,
    locale: Locale,
) -> Result<i64, AppError> {
    let plain = locale.read_decimal(text).ok_or_else(|| {
        AppError::Invalid(tr!(locale, "dispute.amount_unreadable", line = line_no))
    })?;
    Money::parse(&plain, currency)
        .map(Money::to_minor)
        .map_err(|e| {
            let reason = e.explain(locale);
            AppError::Invalid(tr!(
                locale,
                "dispute.amount_refused",
                line = line_no,
                reason = reason
            ))
        })
}

/// `POST /disputes/new`: lines `line` (invoice line ids), `reason_{id}`, `amount_{id}`, a
/// `message` and up to three `attachment` files.
async fn open_dispute(
    State(state): State<ServerState>,
    SignedIn(caller): SignedIn,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    // Who may raise disputes is settled before the upload is read.
    let upload = match require_contact_payer(&caller) {
        Ok(()) => read_upload(multipart).await,
        Err(error) => Err(error),
    };
    let upload = match upload {
        Ok(upload) => upload,
        Err(error) => return Refusal::new("/invoices", error).respond(&headers),
    };
    let invoice_id = upload
        .field("invoice_id")
        .and_then(|t| t.parse::<i64>().ok());
    let back = invoice_id.map_or("/invoices".to_string(), |id| {
        format!("/invoices/{id}/dispute")
    });
    match open_dispute_from(&state, &caller, invoice_id, upload, request_locale()).await {
        Ok(id) => Redirect::to(&format!("/disputes/{id}")).into_response(),
        Err(error) => Refusal::new(back, error).respond(&headers),
    }
}

async fn open_dispute_from(
    state: &ServerState,
    caller: &Caller,
    invoice_id: Option<i64>,
    upload: Upload,
    locale: Locale,
) -> Result<i64, AppError> {
    let Some(customer_id) = caller.customer_id else {
        return Err(AppError::Forbidden(
            "Disputes are raised by the customer's contacts.".into(),
        ));
    };
    let invoice_id = invoice_id.ok_or_else(|| AppError::Invalid("Choose an invoice.".into()))?;
    let db = &state.app.db;
    let currency = ledgerport::customers::store::customer_currency(db, customer_id)
        .await?
        .ok_or_else(app::errors::account_gone)?;
    let mut lines = Vec::new();
    for line in upload.all("line") {
        let invoice_line_id = parse_id(Some(line), "invoice line")?;
        let reason = upload
            .field(&format!("reason_{invoice_line_id}"))
            .and_then(DisputeReason::parse)
            .ok_or_else(|| AppError::Invalid(tr!(locale, "dispute.reason_missing")))?;
        let amount = upload
            .field(&format!("amount_{invoice_line_id}"))
            .unwrap_or_default();
        lines.push(DisputedLine {
            invoice_line_id,
            reason,
            amount_minor: parse_amount(amount, currency, line, locale)?,
        });
    }
    let new = NewDispute {
        customer_id,
        invoice_id,
        opened_by: actor(caller)?,
        lines,
        message: upload.field("message").unwrap_or_default().to_string(),
        attachments: upload.files,
    };
    Ok(ledgerport::disputes::store::open_dispute(db, &new).await?)
}

/// `POST /disputes/{id}/messages`: `body`, staff may tick `internal`, up to three attachments.
async fn post_message(
    State(state): State<ServerState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    let page = dispute_page(&caller, id);
    let result = async {
        require_actor(&caller)?;
        let upload = read_upload(multipart).await?;
        let internal = caller.is_staff() && upload.field("internal").is_some();
        ledgerport::disputes::store::post_message(
            &state.app.db,
            id,
            actor(&caller)?,
            upload.field("body").unwrap_or_default(),
            internal,
            &upload.files,
        )
        .await?;
        Ok::<_, AppError>(())
    }
    .await;
    answer(result, &format!("{page}#thread-end"), page, &headers)
}

/// `POST /disputes/{id}/act`: `action` (see `DisputeAction::as_str`), an optional `note`, and
/// for a proposal or a credit the amount per line as `credit_{invoice line id}`.
async fn act(
    State(state): State<ServerState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(fields): Form<HashMap<String, String>>,
) -> Response {
    let page = dispute_page(&caller, id);
    let result = async {
        require_actor(&caller)?;
        let action = fields
            .get("action")
            .and_then(|a| DisputeAction::parse(a))
            .ok_or_else(|| AppError::Invalid("Choose what to do with the dispute.".into()))?;
        let credits = credits_from(&state, &fields, id, &caller, request_locale()).await?;
        ledgerport::disputes::store::act(
            &state.app.db,
            id,
            actor(&caller)?,
            action,
            fields.get("note").map_or("", String::as_str),
            &credits,
        )
        .await?;
        Ok::<_, AppError>(())
    }
    .await;
    answer(result, &page.clone(), page, &headers)
}

/// `credit_{line}` fields, parsed in the dispute's currency; blank fields are left out.
async fn credits_from(
    state: &ServerState,
    fields: &HashMap<String, String>,
    dispute_id: i64,
    caller: &Caller,
    locale: Locale,
) -> Result<LineCredits, AppError> {
    let mut credits = Vec::new();
    let mut currency = None;
    for (name, value) in fields {
        let Some(line) = name.strip_prefix("credit_") else {
            continue;
        };
        if value.trim().is_empty() {
            continue;
        }
        let currency = match currency {
            Some(c) => c,
            None => {
                let found = dispute_currency(state, dispute_id, caller).await?;
                currency = Some(found);
                found
            }
        };
        credits.push((
            parse_id(Some(line), "invoice line")?,
            parse_amount(value, currency, line, locale)?,
        ));
    }
    Ok(credits)
}

async fn dispute_currency(
    state: &ServerState,
    dispute_id: i64,
    caller: &Caller,
) -> Result<Currency, AppError> {
    let row = ledgerport::disputes::store::row(&state.app.db, dispute_id, actor(caller)?.scope)
        .await?
        .ok_or(ledgerport::disputes::store::DisputeStoreError::NotFound)?;
    Ok(row.currency)
}

/// `POST /disputes/{id}/assign`: `assignee` is a staff user id, or empty for nobody.
async fn assign(
    State(state): State<ServerState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(fields): Form<HashMap<String, String>>,
) -> Response {
    let page = format!("/admin/disputes/{id}");
    let result = async {
        if !caller.is_staff() {
            return Err(AppError::Forbidden("Only AR staff assign disputes.".into()));
        }
        let assignee = match fields.get("assignee").map(|a| a.trim()) {
            None | Some("") => None,
            Some(text) => Some(parse_id(Some(text), "assignee")?),
        };
        ledgerport::disputes::store::assign(&state.app.db, id, assignee, actor(&caller)?).await?;
        Ok(())
    }
    .await;
    answer(result, &page.clone(), page, &headers)
}

/// `GET /documents/disputes/{id}/attachments/{attachment}`: the file, for the dispute's
/// customer (not internal notes' files) and for staff.
async fn download(
    State(state): State<ServerState>,
    SignedIn(caller): SignedIn,
    Path((id, attachment_id)): Path<(i64, i64)>,
) -> Response {
    let refused = |error: AppError| {
        let status =
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, error.to_string()).into_response()
    };
    let scope = match actor(&caller) {
        Ok(actor) => actor.scope,
        Err(error) => return refused(error),
    };
    match ledgerport::disputes::store::attachment(&state.app.db, id, attachment_id, scope).await {
        Ok(Some((name, content_type, bytes))) => {
            crate::documents::attachment(&content_type, &name, bytes)
        }
        Ok(None) => (
            StatusCode::NOT_FOUND,
            "There is no such attachment on your account.",
        )
            .into_response(),
        Err(error) => refused(AppError::from(error)),
    }
}
