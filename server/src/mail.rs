//! Delivering the outbox. Every message is queued in the transaction that causes it; a sender
//! claims queued messages one at a time (a lease, so two server instances never send one
//! message twice at once), hands them to a [`Mailer`], and records the outcome. Without SMTP
//! configured nothing is sent and messages stay queued in the outbox for staff to read.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::documents::{AttachmentError, FileAttachment};
use ledgerport::db::{Db, DbError, timestamp_text};
use ledgerport::outbox::store::{claim_next, mark_failed, mark_sent};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, Message, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

/// How long a sender holds a claimed message before another may try it.
const LEASE: Duration = Duration::from_secs(120);

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the address {0:?} cannot receive mail")]
    Address(String),
    #[error("the mail server refused or failed: {0}")]
    Smtp(String),
    #[error("the attachment could not be made: {0}")]
    Attachment(String),
}

/// Sends one plain-text message, with a file attached when there is one.
pub trait Mailer: Send + Sync {
    fn send<'a>(
        &'a self,
        to: &'a str,
        subject: &'a str,
        body: &'a str,
        attachment: Option<&'a FileAttachment>,
    ) -> Pin<Box<dyn Future<Output = Result<(), MailError>> + Send + 'a>>;
}

/// The real adapter: SMTP through lettre (`smtp://` plain or STARTTLS with `?tls=required`,
/// `smtps://` TLS), with credentials in the URL.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    pub fn new(url: &str, from: &str) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError::Smtp(e.to_string()))?
            .timeout(Some(Duration::from_secs(20)))
            .build();
        let from = from
            .parse()
            .map_err(|_| MailError::Address(from.to_string()))?;
        Ok(Self { transport, from })
    }
}

impl Mailer for SmtpMailer {
    fn send<'a>(
        &'a self,
        to: &'a str,
        subject: &'a str,
        body: &'a str,
        attachment: Option<&'a FileAttachment>,
    ) -> Pin<Box<dyn Future<Output = Result<(), MailError>> + Send + 'a>> {
        Box::pin(async move {
            let to: Mailbox = to.parse().map_err(|_| MailError::Address(to.to_string()))?;
            let builder = Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(subject);
            let message = match attachment {
                None => builder
                    .header(ContentType::TEXT_PLAIN)
                    .body(body.to_string()),
                Some(file) => {
                    let content_type = ContentType::parse(file.content_type)
                        .map_err(|e| MailError::Attachment(e.to_string()))?;
                    builder.multipart(
                        MultiPart::mixed()
                            .singlepart(SinglePart::plain(body.to_string()))
                            .singlepart(
                                Attachment::new(file.filename.clone())
                                    .body(file.bytes.clone(), content_type),
                            ),
                    )
                }
            }
            .map_err(|e| MailError::Smtp(e.to_string()))?;
            self.transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| MailError::Smtp(e.to_string()))
        })
    }
}

/// What one pass over the outbox did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivery {
    pub sent: usize,
    pub failed: usize,
}

/// Sends queued messages until none is left to claim (or `limit` were tried). A failure is
/// retried later with a growing pause (1, 4, 9, 16 minutes), then marked failed.
pub async fn deliver_queued(
    db: &Db,
    mailer: &dyn Mailer,
    limit: usize,
) -> Result<Delivery, DbError> {
    let mut delivery = Delivery::default();
    for _ in 0..limit {
        let now = chrono::Utc::now();
        let lease_until = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
        let Some(message) =
            claim_next(db, &timestamp_text(now), &timestamp_text(lease_until)).await?
        else {
            break;
        };
        let sent = match message.attachment.as_deref() {
            None => {
                mailer
                    .send(&message.recipient, &message.subject, &message.body, None)
                    .await
            }
            Some(reference) => {
                match crate::documents::outbox_attachment(db, reference, &message.recipient).await {
                    Ok(file) => {
                        mailer
                            .send(
                                &message.recipient,
                                &message.subject,
                                &message.body,
                                Some(&file),
                            )
                            .await
                    }
                    // Nothing to attach will ever be found: the message still goes, without it.
                    Err(AttachmentError::Unknown) => {
                        tracing::warn!(message = message.id, reference, "attachment not found");
                        mailer
                            .send(&message.recipient, &message.subject, &message.body, None)
                            .await
                    }
                    // The database may answer later: tried again like a refused message.
                    Err(e @ AttachmentError::Db(_)) => Err(MailError::Attachment(e.to_string())),
                }
            }
        };
        match sent {
            Ok(()) => {
                mark_sent(db, message.id).await?;
                delivery.sent += 1;
            }
            Err(error) => {
                tracing::warn!(
                    message = message.id,
                    attempt = message.attempts,
                    "mail not sent: {error}"
                );
                let pause = chrono::Duration::minutes(message.attempts * message.attempts);
                mark_failed(
                    db,
                    &message,
                    &error.to_string(),
                    &timestamp_text(now + pause),
                )
                .await?;
                delivery.failed += 1;
            }
        }
    }
    Ok(delivery)
}
