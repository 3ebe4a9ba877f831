//! Line-item disputes: a customer disputes amounts on invoice lines, AR staff work them, and the
//! ledger follows (a credit memo on exactly those lines, or the amount due again).
//!
//! The life of a dispute is the state machine below: one table of legal transitions, each owned
//! by one side. While a dispute is active its amount is *held*: out of what is due now, out of
//! "pay everything due" and reminders, and shown as "in dispute".

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::locale::{Explain, Locale};
use crate::money::{Currency, Money};

pub mod effects;
#[cfg(feature = "ssr")]
pub mod store;

/// How long after a rejection or a withdrawal the customer may reopen a dispute.
pub const REOPEN_WINDOW_DAYS: i64 = 30;
pub const MESSAGE_MAX_CHARS: usize = 4_000;
pub const NOTE_MAX_CHARS: usize = 1_000;
pub const ATTACHMENT_MAX_BYTES: usize = 5 * 1024 * 1024;
pub const ATTACHMENTS_PER_MESSAGE: usize = 3;

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum DisputeStatus {
        Open = "open",
        InReview = "in_review",
        Proposed = "proposed",
        Credited = "credited",
        Rejected = "rejected",
        Withdrawn = "withdrawn",
    }
}

impl DisputeStatus {
    pub fn label(self) -> &'static str {
        self.label_in(Locale::En)
    }

    pub fn label_in(self, locale: Locale) -> &'static str {
        let (en, de) = match self {
            DisputeStatus::Open => ("Open", "Offen"),
            DisputeStatus::InReview => ("In review", "In Prüfung"),
            DisputeStatus::Proposed => ("Resolution proposed", "Lösung vorgeschlagen"),
            DisputeStatus::Credited => ("Resolved: credited", "Erledigt: gutgeschrieben"),
            DisputeStatus::Rejected => ("Resolved: rejected", "Erledigt: abgelehnt"),
            DisputeStatus::Withdrawn => ("Withdrawn", "Zurückgezogen"),
        };
        locale.pick(en, de)
    }

    /// Active disputes hold their amount out of what is due. Queries use its SQL twin,
    /// [`HOLDING_STATUSES_SQL`].
    pub fn holds(self) -> bool {
        matches!(
            self,
            DisputeStatus::Open | DisputeStatus::InReview | DisputeStatus::Proposed
        )
    }
}

/// The statuses that [`DisputeStatus::holds`], as an SQL list for `status IN …`; a macro so that
/// constant SQL can be built from the same text with `concat!`.
macro_rules! holding_statuses_sql {
    () => {
        "('open', 'in_review', 'proposed')"
    };
}
#[cfg(feature = "ssr")]
pub(crate) use holding_statuses_sql;

/// [`DisputeStatus::holds`] as SQL: `d.status IN {HOLDING_STATUSES_SQL}` (checked against the
/// Rust rule in this module's tests).
pub const HOLDING_STATUSES_SQL: &str = holding_statuses_sql!();

crate::text_enum! {
    /// Why a line is disputed.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum DisputeReason {
        Price = "price",
        Quantity = "quantity",
        Damaged = "damaged",
        NotReceived = "not_received",
        Duplicate = "duplicate",
        Tax = "tax",
        Other = "other",
    }
}

impl DisputeReason {
    pub fn label(self) -> &'static str {
        self.label_in(Locale::En)
    }

    pub fn label_in(self, locale: Locale) -> &'static str {
        let (en, de) = match self {
            DisputeReason::Price => ("Wrong price", "Falscher Preis"),
            DisputeReason::Quantity => ("Wrong quantity", "Falsche Menge"),
            DisputeReason::Damaged => ("Damaged goods", "Beschädigte Ware"),
            DisputeReason::NotReceived => ("Not received", "Nicht erhalten"),
            DisputeReason::Duplicate => ("Duplicate charge", "Doppelt berechnet"),
            DisputeReason::Tax => ("Wrong tax", "Falsche Steuer"),
            DisputeReason::Other => ("Other", "Sonstiges"),
        };
        locale.pick(en, de)
    }
}

/// Who acts: the customer's contact or AR staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side {
    Customer,
    Staff,
}

crate::text_enum! {
    /// Everything that can happen to a dispute after it is opened.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum DisputeAction {
        /// Staff start working on it.
        StartReview = "start_review",
        /// Staff propose a credit for part or all of the disputed amount.
        Propose = "propose",
        /// The customer accepts the proposal: the proposed credit is posted.
        AcceptProposal = "accept_proposal",
        /// The customer turns the proposal down: back to review.
        DeclineProposal = "decline_proposal",
        /// Staff credit (all or part) without waiting for the customer.
        Credit = "credit",
        /// Staff reject the dispute with an explanation: the amount is due again.
        Reject = "reject",
        /// The customer withdraws the dispute: the amount is due again.
        Withdraw = "withdraw",
        /// The customer reopens a rejected or withdrawn dispute within the window.
        Reopen = "reopen",
    }
}

impl DisputeAction {
    pub fn side(self) -> Side {
        match self {
            DisputeAction::StartReview
            | DisputeAction::Propose
            | DisputeAction::Credit
            | DisputeAction::Reject => Side::Staff,
            DisputeAction::AcceptProposal
            | DisputeAction::DeclineProposal
            | DisputeAction::Withdraw
            | DisputeAction::Reopen => Side::Customer,
        }
    }

    /// What the user sees as the action's name, as English writes it in a sentence.
    pub fn label(self) -> &'static str {
        self.label_in(Locale::En)
    }

    /// The action's name in a language, as an infinitive phrase ("withdraw the dispute").
    pub fn label_in(self, locale: Locale) -> &'static str {
        let (en, de) = match self {
            DisputeAction::StartReview => ("start the review", "die Prüfung beginnen"),
            DisputeAction::Propose => ("propose a resolution", "eine Lösung vorschlagen"),
            DisputeAction::AcceptProposal => ("accept the proposal", "den Vorschlag annehmen"),
            DisputeAction::DeclineProposal => ("decline the proposal", "den Vorschlag ablehnen"),
            DisputeAction::Credit => ("credit the dispute", "eine Gutschrift erteilen"),
            DisputeAction::Reject => ("reject the dispute", "die Reklamation ablehnen"),
            DisputeAction::Withdraw => ("withdraw the dispute", "die Reklamation zurückziehen"),
            DisputeAction::Reopen => ("reopen the dispute", "die Reklamation wieder öffnen"),
        };
        locale.pick(en, de)
    }
}

use DisputeAction as A;
use DisputeStatus as S;

/// Every legal transition: (from, action, to). Anything not listed is refused.
pub const TRANSITIONS: [(DisputeStatus, DisputeAction, DisputeStatus); 15] = [
    (S::Open, A::StartReview, S::InReview),
    (S::Open, A::Propose, S::Proposed),
    (S::InReview, A::Propose, S::Proposed),
    (S::Proposed, A::Propose, S::Proposed),
    (S::Proposed, A::AcceptProposal, S::Credited),
    (S::Proposed, A::DeclineProposal, S::InReview),
    (S::Open, A::Credit, S::Credited),
    (S::InReview, A::Credit, S::Credited),
    (S::Proposed, A::Credit, S::Credited),
    (S::Open, A::Reject, S::Rejected),
    (S::InReview, A::Reject, S::Rejected),
    (S::Proposed, A::Reject, S::Rejected),
    (S::Open, A::Withdraw, S::Withdrawn),
    (S::InReview, A::Withdraw, S::Withdrawn),
    (S::Proposed, A::Withdraw, S::Withdrawn),
];

/// Reopening is the one transition that also depends on time, so it sits beside the table.
pub const REOPENABLE: [DisputeStatus; 2] = [S::Rejected, S::Withdrawn];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisputeError {
    NoLines,
    DuplicateLine,
    NotPositive,
    ExceedsLine {
        line: i64,
        available: Money,
    },
    LineNotOnInvoice(i64),
    NothingToDispute,
    ExceedsInvoice {
        available: Money,
    },
    Closed,
    Message,
    NoteRequired(DisputeAction),
    InvalidTransition {
        from: DisputeStatus,
        action: DisputeAction,
    },
    WrongSide {
        action: DisputeAction,
    },
    ReopenWindowClosed,
    Proposal,
    NoProposal,
    Stale,
    AttachmentType,
    AttachmentTooLarge,
    TooManyAttachments,
    Assignee,
}

impl Explain for DisputeError {
    fn explain(&self, locale: Locale) -> String {
        let money = |amount: &Money| locale.money(amount.to_minor(), amount.currency());
        let text = match self {
            DisputeError::NoLines => locale.pick(
                "choose at least one invoice line to dispute",
                "wählen Sie mindestens eine Rechnungsposition, die Sie reklamieren",
            ),
            DisputeError::DuplicateLine => locale.pick(
                "a line appears twice in the dispute",
                "eine Position ist in der Reklamation doppelt aufgeführt",
            ),
            DisputeError::NotPositive => locale.pick(
                "the disputed amount on each line must be greater than zero",
                "der reklamierte Betrag jeder Position muss größer als null sein",
            ),
            DisputeError::ExceedsLine { line, available } => {
                let available = money(available);
                return locale.pick(
                    format!("line {line} has only {available} that can be disputed"),
                    format!("in Position {line} können nur {available} reklamiert werden"),
                );
            }
            DisputeError::LineNotOnInvoice(line) => {
                return locale.pick(
                    format!("line {line} is not on this invoice"),
                    format!("Position {line} steht nicht auf dieser Rechnung"),
                );
            }
            DisputeError::NothingToDispute => locale.pick(
                "this invoice is void or has nothing open to dispute",
                "diese Rechnung ist storniert oder hat keinen offenen Betrag, der reklamiert werden kann",
            ),
            DisputeError::ExceedsInvoice { available } => {
                let available = money(available);
                return locale.pick(
                    format!("only {available} of this invoice is open and not already in dispute"),
                    format!(
                        "von dieser Rechnung sind nur {available} offen und nicht bereits reklamiert"
                    ),
                );
            }
            DisputeError::Closed => locale.pick(
                "this dispute is closed; reopen it to write more",
                "diese Reklamation ist abgeschlossen; öffnen Sie sie wieder, um mehr zu schreiben",
            ),
            DisputeError::Message => {
                return locale.pick(
                    format!(
                        "please explain the dispute in a message (at most {MESSAGE_MAX_CHARS} characters)"
                    ),
                    format!(
                        "bitte erläutern Sie die Reklamation in einer Nachricht (höchstens {MESSAGE_MAX_CHARS} Zeichen)"
                    ),
                );
            }
            DisputeError::NoteRequired(action) => {
                let action = action.label_in(locale);
                return locale.pick(
                    format!("a note of at most {NOTE_MAX_CHARS} characters is required to {action}"),
                    format!(
                        "dafür ist eine Notiz von höchstens {NOTE_MAX_CHARS} Zeichen nötig: {action}"
                    ),
                );
            }
            DisputeError::InvalidTransition { from, action } => {
                let (status, action) = (from.label_in(locale), action.label_in(locale));
                return locale.pick(
                    format!("a dispute that is {} cannot {action}", status.to_lowercase()),
                    format!(
                        "bei einer Reklamation im Status „{status}“ ist das nicht möglich: {action}"
                    ),
                );
            }
            DisputeError::WrongSide { action } => {
                let (side, action) = (action.side(), action.label_in(locale));
                return match side {
                    Side::Customer => locale.pick(
                        format!("only the customer can {action}"),
                        format!("nur der Kunde kann {action}"),
                    ),
                    Side::Staff => locale.pick(
                        format!("only AR staff can {action}"),
                        format!("nur unser Team kann {action}"),
                    ),
                };
            }
            DisputeError::ReopenWindowClosed => {
                return locale.pick(
                    format!(
                        "a dispute can be reopened only within {REOPEN_WINDOW_DAYS} days of being closed"
                    ),
                    format!(
                        "eine Reklamation kann nur innerhalb von {REOPEN_WINDOW_DAYS} Tagen nach dem Abschluss wieder geöffnet werden"
                    ),
                );
            }
            DisputeError::Proposal => locale.pick(
                "the credit on each line must be between zero and its disputed amount, and above zero in all",
                "die Gutschrift jeder Position muss zwischen null und ihrem reklamierten Betrag liegen und insgesamt über null",
            ),
            DisputeError::NoProposal => locale.pick(
                "there is no proposal to accept",
                "es gibt keinen Vorschlag, den Sie annehmen könnten",
            ),
            DisputeError::Stale => locale.pick(
                "the dispute changed while you were looking at it; reload and try again",
                "die Reklamation hat sich geändert, während Sie sie angesehen haben; laden Sie die Seite neu und versuchen Sie es noch einmal",
            ),
            DisputeError::AttachmentType => locale.pick(
                "attachments must be PDF, PNG or JPEG files",
                "Anhänge müssen PDF-, PNG- oder JPEG-Dateien sein",
            ),
            DisputeError::AttachmentTooLarge => {
                let megabytes = ATTACHMENT_MAX_BYTES / 1024 / 1024;
                return locale.pick(
                    format!("each attachment must be at most {megabytes} MB"),
                    format!("jeder Anhang darf höchstens {megabytes} MB groß sein"),
                );
            }
            DisputeError::TooManyAttachments => {
                return locale.pick(
                    format!("at most {ATTACHMENTS_PER_MESSAGE} attachments per message"),
                    format!("höchstens {ATTACHMENTS_PER_MESSAGE} Anhänge pro Nachricht"),
                );
            }
            DisputeError::Assignee => locale.pick(
                "the assignee must be a member of AR staff",
                "die zuständige Person muss zu unserem Team gehören",
            ),
        };
        text.into()
    }
}

crate::explained_error!(DisputeError);

/// The next status, or why not. `closed_at` is needed only to reopen.
pub fn next_status(
    from: DisputeStatus,
    action: DisputeAction,
    side: Side,
    closed_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<DisputeStatus, DisputeError> {
    if action.side() != side {
        return Err(DisputeError::WrongSide { action });
    }
    if action == DisputeAction::Reopen {
        if !REOPENABLE.contains(&from) {
            return Err(DisputeError::InvalidTransition { from, action });
        }
        let recent = closed_at.is_some_and(|at| now - at <= Duration::days(REOPEN_WINDOW_DAYS));
        return if recent {
            Ok(DisputeStatus::Open)
        } else {
            Err(DisputeError::ReopenWindowClosed)
        };
    }
    TRANSITIONS
        .iter()
        .find(|(f, a, _)| *f == from && *a == action)
        .map(|(_, _, to)| *to)
        .ok_or(DisputeError::InvalidTransition { from, action })
}

/// One disputed line as the customer asks for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisputedLine {
    pub invoice_line_id: i64,
    pub reason: DisputeReason,
    pub amount_minor: i64,
}

/// Checks the shape of a new dispute; amounts against the lines are checked by the store.
pub fn check_new(lines: &[DisputedLine], message: &str) -> Result<String, DisputeError> {
    if lines.is_empty() {
        return Err(DisputeError::NoLines);
    }
    let mut seen = std::collections::HashSet::new();
    for line in lines {
        if !seen.insert(line.invoice_line_id) {
            return Err(DisputeError::DuplicateLine);
        }
        if line.amount_minor <= 0 {
            return Err(DisputeError::NotPositive);
        }
    }
    message_text(message)
}

/// A message body: trimmed, not empty, not too long.
pub fn message_text(message: &str) -> Result<String, DisputeError> {
    let message = message.trim();
    if message.is_empty() || message.chars().count() > MESSAGE_MAX_CHARS {
        return Err(DisputeError::Message);
    }
    Ok(message.to_string())
}

/// A file's type from its first bytes; the name and the browser's declared type are ignored.
pub fn sniff_content_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else {
        None
    }
}

/// An uploaded file, checked: a known type by content, within the size limit, a safe name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub file_name: String,
    pub content_type: &'static str,
    pub content: Vec<u8>,
}

impl Attachment {
    pub fn new(file_name: &str, content: Vec<u8>) -> Result<Self, DisputeError> {
        if content.len() > ATTACHMENT_MAX_BYTES {
            return Err(DisputeError::AttachmentTooLarge);
        }
        let content_type = sniff_content_type(&content).ok_or(DisputeError::AttachmentType)?;
        // Only the last path component, printable, short: it is shown and sent back as a header.
        let base = file_name.rsplit(['/', '\\']).next().unwrap_or_default();
        let mut name: String = base
            .chars()
            .filter(|c| !c.is_control() && !matches!(c, '"' | ';'))
            .take(120)
            .collect();
        if name.trim().is_empty() {
            name = match content_type {
                "application/pdf" => "attachment.pdf",
                "image/png" => "attachment.png",
                _ => "attachment.jpg",
            }
            .to_string();
        }
        Ok(Self {
            file_name: name,
            content_type,
            content,
        })
    }
}

pub fn check_attachments(attachments: &[Attachment]) -> Result<(), DisputeError> {
    if attachments.len() > ATTACHMENTS_PER_MESSAGE {
        return Err(DisputeError::TooManyAttachments);
    }
    Ok(())
}

/// The dispute form for one invoice: each line and what can still be disputed on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisputeForm {
    pub invoice_id: i64,
    pub number: String,
    pub currency: Currency,
    pub open_minor: i64,
    pub held_minor: i64,
    /// Open and not already in dispute: the most a new dispute can hold.
    pub disputable_minor: i64,
    pub lines: Vec<DisputableLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct DisputableLine {
    #[cfg_attr(feature = "ssr", sqlx(rename = "id"))]
    pub invoice_line_id: i64,
    pub line_no: i64,
    pub description: String,
    #[cfg_attr(feature = "ssr", sqlx(rename = "gross"))]
    pub line_total_minor: i64,
    #[cfg_attr(feature = "ssr", sqlx(rename = "disputable"))]
    pub disputable_minor: i64,
}

/// One row of a dispute list (the customer's list and the staff queue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct DisputeRow {
    pub id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    pub invoice_id: i64,
    pub invoice_number: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub status: DisputeStatus,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub currency: Currency,
    pub disputed_minor: i64,
    pub credited_minor: i64,
    pub assignee: Option<String>,
    pub opened_at: String,
    pub last_customer_message_at: String,
    pub status_changed_at: String,
}

/// One disputed line with the invoice line it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct DisputeLineView {
    pub invoice_line_id: i64,
    pub line_no: i64,
    pub description: String,
    /// The line's gross amount (net + tax).
    #[cfg_attr(feature = "ssr", sqlx(rename = "gross"))]
    pub line_total_minor: i64,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub reason: DisputeReason,
    pub amount_minor: i64,
    pub proposed_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct AttachmentMeta {
    pub id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
}

/// One item of the thread: a message (with its attachments) or a status change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ThreadItem {
    Message {
        id: i64,
        author: String,
        side: Side,
        /// Staff-only note; never sent to a customer.
        internal: bool,
        body: String,
        at: String,
        attachments: Vec<AttachmentMeta>,
    },
    Transition {
        from: Option<DisputeStatus>,
        to: DisputeStatus,
        actor: String,
        note: String,
        at: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisputeDetail {
    pub row: DisputeRow,
    pub lines: Vec<DisputeLineView>,
    pub proposed_minor: i64,
    pub thread: Vec<ThreadItem>,
    pub assignee_id: Option<i64>,
    /// What the viewer may do next (already filtered by side and status).
    pub actions: Vec<DisputeAction>,
}

/// Actions open to `side` on a dispute in `status` closed at `closed_at`.
pub fn available_actions(
    status: DisputeStatus,
    side: Side,
    closed_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Vec<DisputeAction> {
    DisputeAction::ALL
        .into_iter()
        .filter(|a| next_status(status, *a, side, closed_at, now).is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn every_status_and_action_pair_follows_the_transition_table_and_nothing_else() {
        for from in DisputeStatus::ALL {
            for action in DisputeAction::ALL {
                let listed = TRANSITIONS
                    .iter()
                    .find(|(f, a, _)| *f == from && *a == action)
                    .map(|t| t.2);
                let reopen = action == A::Reopen && REOPENABLE.contains(&from);
                let result = next_status(from, action, action.side(), Some(now()), now());
                match (listed, reopen) {
                    (Some(to), _) => assert_eq!(result, Ok(to), "{from:?} {action:?}"),
                    (None, true) => assert_eq!(result, Ok(S::Open), "{from:?} {action:?}"),
                    (None, false) => assert_eq!(
                        result,
                        Err(DisputeError::InvalidTransition { from, action }),
                        "{from:?} {action:?}"
                    ),
                }
            }
        }
    }

    #[test]
    fn each_action_belongs_to_one_side_and_the_other_side_is_refused() {
        for action in DisputeAction::ALL {
            let other = match action.side() {
                Side::Customer => Side::Staff,
                Side::Staff => Side::Customer,
            };
            for from in DisputeStatus::ALL {
                assert_eq!(
                    next_status(from, action, other, Some(now()), now()),
                    Err(DisputeError::WrongSide { action })
                );
            }
        }
    }

    #[test]
    fn a_closed_dispute_can_be_reopened_only_inside_the_window_and_a_credited_one_never() {
        let closed = now() - Duration::days(REOPEN_WINDOW_DAYS);
        assert_eq!(
            next_status(S::Rejected, A::Reopen, Side::Customer, Some(closed), now()),
            Ok(S::Open)
        );
        let too_old = closed - Duration::seconds(1);
        assert_eq!(
            next_status(
                S::Withdrawn,
                A::Reopen,
                Side::Customer,
                Some(too_old),
                now()
            ),
            Err(DisputeError::ReopenWindowClosed)
        );
        assert_eq!(
            next_status(S::Credited, A::Reopen, Side::Customer, Some(now()), now()),
            Err(DisputeError::InvalidTransition {
                from: S::Credited,
                action: A::Reopen
            })
        );
    }

    #[test]
    fn the_sql_list_of_holding_statuses_is_the_rust_rule() {
        let holding: Vec<String> = DisputeStatus::ALL
            .into_iter()
            .filter(|s| s.holds())
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        assert_eq!(HOLDING_STATUSES_SQL, format!("({})", holding.join(", ")));
    }

    #[test]
    fn only_active_disputes_hold_their_amount() {
        let holding: Vec<_> = DisputeStatus::ALL
            .into_iter()
            .filter(|s| s.holds())
            .collect();
        assert_eq!(holding, vec![S::Open, S::InReview, S::Proposed]);
    }

    #[test]
    fn attachments_are_typed_by_content_not_by_name() {
        let pdf = Attachment::new("../../etc/passwd.png", b"%PDF-1.7 rest".to_vec()).unwrap();
        assert_eq!(pdf.content_type, "application/pdf");
        assert_eq!(pdf.file_name, "passwd.png");
        assert_eq!(
            Attachment::new("evil.pdf", b"<script>alert(1)</script>".to_vec()),
            Err(DisputeError::AttachmentType)
        );
        let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
        big.resize(ATTACHMENT_MAX_BYTES + 1, 0);
        assert_eq!(
            Attachment::new("big.png", big),
            Err(DisputeError::AttachmentTooLarge)
        );
        let jpeg = Attachment::new("", vec![0xFF, 0xD8, 0xFF, 0xE0]).unwrap();
        assert_eq!(
            (jpeg.content_type, jpeg.file_name.as_str()),
            ("image/jpeg", "attachment.jpg")
        );
    }

    #[test]
    fn a_new_dispute_needs_lines_positive_amounts_no_repeats_and_a_message() {
        let line = |id, amount| DisputedLine {
            invoice_line_id: id,
            reason: DisputeReason::Price,
            amount_minor: amount,
        };
        assert_eq!(check_new(&[], "why"), Err(DisputeError::NoLines));
        assert_eq!(
            check_new(&[line(1, 5), line(1, 6)], "why"),
            Err(DisputeError::DuplicateLine)
        );
        assert_eq!(
            check_new(&[line(1, 0)], "why"),
            Err(DisputeError::NotPositive)
        );
        assert_eq!(check_new(&[line(1, 5)], "   "), Err(DisputeError::Message));
        assert_eq!(check_new(&[line(1, 5)], " why "), Ok("why".into()));
    }
}
