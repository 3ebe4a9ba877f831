//! Document codes in the database: issued when a PDF is made, looked up by the public page.

use sqlx::Row;

use super::{Confirmed, DocumentCode, DocumentKind, IssuedDocument};
use crate::db::{Db, DbError, date_text, now_text, parse_date};

/// The code printed on `document` of `customer_id`'s account: the one it already has, or a new
/// one. Two requests printing the same document at once get the same code.
pub async fn code_for(
    db: &Db,
    customer_id: i64,
    document: &IssuedDocument,
) -> Result<DocumentCode, DbError> {
    let subject = document.subject(customer_id);
    if let Some(code) = existing(db, &subject, document.total_minor).await? {
        return Ok(code);
    }
    sqlx::query(
        "INSERT INTO document_codes (code, subject, kind, number, period_from, issued_on, \
         total_minor, currency, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (subject, total_minor) DO NOTHING",
    )
    .bind(DocumentCode::random().as_str())
    .bind(&subject)
    .bind(document.kind.as_str())
    .bind(&document.number)
    .bind(document.period_from.map(date_text))
    .bind(date_text(document.issued_on))
    .bind(document.total_minor)
    .bind(document.currency.code())
    .bind(now_text())
    .execute(db.write_pool())
    .await?;
    existing(db, &subject, document.total_minor)
        .await?
        .ok_or_else(|| DbError::Corrupt(format!("document code of {subject}")))
}

async fn existing(
    db: &Db,
    subject: &str,
    total_minor: i64,
) -> Result<Option<DocumentCode>, DbError> {
    let code: Option<String> = sqlx::query_scalar(
        "SELECT code FROM document_codes WHERE subject = $1 AND total_minor = $2",
    )
    .bind(subject)
    .bind(total_minor)
    .fetch_optional(db.pool())
    .await?;
    Ok(code.map(DocumentCode))
}

/// The document a code was printed on, and whether it was voided since (the void's effective
/// date, as the customer's statement shows it); `None`: then we did not issue it. (An invoice's
/// number is unique in the book, and it is voided at most once.)
pub async fn verify(db: &Db, code: &DocumentCode) -> Result<Option<Confirmed>, DbError> {
    let row = sqlx::query(
        "SELECT d.kind, d.number, d.period_from, d.issued_on, d.total_minor, d.currency, \
                a.effective_date AS voided_on \
         FROM document_codes d \
         LEFT JOIN invoices i ON d.kind = 'invoice' AND i.number = d.number \
         LEFT JOIN adjustments a ON a.invoice_id = i.id AND a.kind = 'void' \
         WHERE d.code = $1",
    )
    .bind(code.as_str())
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let kind: String = row.try_get("kind")?;
    let period_from: Option<String> = row.try_get("period_from")?;
    let voided_on: Option<String> = row.try_get("voided_on")?;
    Ok(Some(Confirmed {
        document: IssuedDocument {
            kind: DocumentKind::try_from(kind).map_err(|e| DbError::Corrupt(e.to_string()))?,
            number: row.try_get("number")?,
            period_from: period_from.as_deref().map(parse_date).transpose()?,
            issued_on: parse_date(&row.try_get::<String, _>("issued_on")?)?,
            total_minor: row.try_get("total_minor")?,
            currency: crate::db::currency(&row.try_get::<String, _>("currency")?)?,
        },
        voided_on: voided_on.as_deref().map(parse_date).transpose()?,
    }))
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use super::*;
    use crate::money::Currency;
    use crate::testing::fixtures::date;
    use crate::testing::fresh_db;

    fn invoice(total_minor: i64) -> IssuedDocument {
        IssuedDocument {
            kind: DocumentKind::Invoice,
            number: "INV-1001".into(),
            period_from: None,
            issued_on: date("2026-11-03"),
            total_minor,
            currency: Currency::Eur,
        }
    }

    #[tokio::test]
    async fn a_document_keeps_its_code_and_the_code_confirms_exactly_what_was_printed() {
        let db = fresh_db().await;
        let first = code_for(&db, 7, &invoice(123_456)).await.unwrap();
        assert_eq!(code_for(&db, 7, &invoice(123_456)).await.unwrap(), first);
        assert_eq!(first.as_str().len(), 12);
        assert_eq!(
            verify(&db, &first).await.unwrap().map(|c| c.document),
            Some(invoice(123_456))
        );
        // Typed back from paper: upper case, hyphens, an O for a zero.
        let typed = DocumentCode::parse(&first.printed().replace('0', "O")).unwrap();
        assert_eq!(
            verify(&db, &typed).await.unwrap().map(|c| c.document),
            Some(invoice(123_456))
        );
    }

    #[tokio::test]
    async fn the_same_number_on_another_account_or_with_another_total_has_another_code() {
        let db = fresh_db().await;
        let ours = code_for(&db, 7, &invoice(123_456)).await.unwrap();
        assert_ne!(code_for(&db, 8, &invoice(123_456)).await.unwrap(), ours);
        let statement = |closing| IssuedDocument {
            kind: DocumentKind::Statement,
            number: String::new(),
            period_from: Some(date("2026-11-01")),
            issued_on: date("2026-11-30"),
            total_minor: closing,
            currency: Currency::Eur,
        };
        let before = code_for(&db, 7, &statement(10_000)).await.unwrap();
        let after_a_late_posting = code_for(&db, 7, &statement(9_000)).await.unwrap();
        assert_ne!(before, after_a_late_posting);
        assert_eq!(
            verify(&db, &before)
                .await
                .unwrap()
                .map(|c| c.document.total_minor),
            Some(10_000)
        );
    }

    #[tokio::test]
    async fn an_invoice_voided_after_it_was_printed_is_confirmed_as_voided() {
        use crate::testing::fixtures::{customer, invoice as issue};
        let db = fresh_db().await;
        let c = customer(&db, "C-1", Currency::Eur, (30, 0, 0)).await;
        let id = issue(
            &db,
            c,
            "INV-1001",
            Currency::Eur,
            "2026-11-03",
            &[(123_456, 0)],
        )
        .await;
        let code = code_for(&db, c, &invoice(123_456)).await.unwrap();
        assert_eq!(verify(&db, &code).await.unwrap().unwrap().voided_on, None);
        let clerk = crate::audit::Actor {
            user_id: None,
            name: "clerk@ledgerport.example",
        };
        crate::adjustments::store::void_invoice(
            &db,
            c,
            id,
            "sent twice",
            date("2026-11-05"),
            clerk,
        )
        .await
        .unwrap();
        let confirmed = verify(&db, &code).await.unwrap().unwrap();
        assert_eq!(
            confirmed.document,
            invoice(123_456),
            "still what was printed"
        );
        assert_eq!(
            confirmed.voided_on,
            Some(date("2026-11-05")),
            "the void's date, as the statement shows it"
        );
    }

    #[tokio::test]
    async fn an_unknown_or_altered_code_confirms_nothing() {
        let db = fresh_db().await;
        let code = code_for(&db, 7, &invoice(123_456)).await.unwrap();
        let mut altered = code.as_str().to_string();
        let last = altered.pop().unwrap();
        altered.push(if last == 'a' { 'b' } else { 'a' });
        let altered = DocumentCode::parse(&altered).unwrap();
        assert_eq!(verify(&db, &altered).await.unwrap(), None);
        assert_eq!(DocumentCode::parse("not a code"), None);
        assert_eq!(
            DocumentCode::parse("abcd-efgh-jkm"),
            None,
            "one symbol short"
        );
        assert_eq!(
            DocumentCode::parse("abcd-efgh-jkmu"),
            None,
            "U is not a symbol"
        );
    }
}
