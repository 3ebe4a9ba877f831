//! The company profile's one row: read by every document, saved by a manager (audited).

use chrono::Utc;
use sqlx::Row;

use super::{CompanyProfile, Logo};
use crate::audit;
use crate::auth::Caller;
use crate::db::{Db, DbError, timestamp_text};
use crate::users::Role;

#[derive(Debug, thiserror::Error)]
pub enum CompanyStoreError {
    #[error("only an AR manager can change the company profile")]
    ManagerOnly,
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::from_sqlx_error!(CompanyStoreError);

/// The profile, or an empty one before a manager first saves it.
pub async fn company_profile(db: &Db) -> Result<CompanyProfile, DbError> {
    let row = sqlx::query(
        "SELECT legal_name, address, tax_numbers, billing_contact FROM company_profile WHERE id = 1",
    )
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else {
        return Ok(CompanyProfile::default());
    };
    let lines = |column: &str| -> Result<Vec<String>, DbError> {
        let text: String = row.try_get(column)?;
        Ok(text.lines().map(str::to_string).collect())
    };
    Ok(CompanyProfile {
        legal_name: row.try_get("legal_name")?,
        address: lines("address")?,
        tax_numbers: lines("tax_numbers")?,
        billing_contact: row.try_get("billing_contact")?,
    })
}

/// Every field, for the audit log: the billing contact matters as much as the name, since the
/// documents tell customers to ask it before paying any other account.
fn summary(profile: &CompanyProfile) -> String {
    format!(
        "{:?} [{}] [{}] contact {:?}",
        profile.legal_name,
        profile.address.join(", "),
        profile.tax_numbers.join(", "),
        profile.billing_contact
    )
}

/// A manager saves the profile; the audit log keeps what it was before.
pub async fn save_company_profile(
    db: &Db,
    actor: &Caller,
    profile: &CompanyProfile,
    ip: &str,
) -> Result<(), CompanyStoreError> {
    if actor.role != Role::Manager || !actor.is_staff() {
        return Err(CompanyStoreError::ManagerOnly);
    }
    let before = company_profile(db).await?;
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO company_profile (id, legal_name, address, tax_numbers, billing_contact, updated_at, updated_by) \
         VALUES (1, $1, $2, $3, $4, $5, $6) \
         ON CONFLICT (id) DO UPDATE SET legal_name = excluded.legal_name, address = excluded.address, \
           tax_numbers = excluded.tax_numbers, billing_contact = excluded.billing_contact, \
           updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(&profile.legal_name)
    .bind(profile.address.join("\n"))
    .bind(profile.tax_numbers.join("\n"))
    .bind(&profile.billing_contact)
    .bind(timestamp_text(Utc::now()))
    .bind(actor.user_id)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        Some(actor.user_id),
        &actor.email,
        "company_profile_changed",
        "company profile",
        &format!("{} -> {}", summary(&before), summary(profile)),
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The logo, if a manager uploaded one.
pub async fn company_logo(db: &Db) -> Result<Option<Logo>, DbError> {
    let png: Option<Vec<u8>> = sqlx::query_scalar("SELECT png FROM company_logo WHERE id = 1")
        .fetch_optional(db.pool())
        .await?;
    // Checked on the way in; a row that no longer reads as a logo is not printed.
    Ok(png.and_then(|png| Logo::parse(png).ok()))
}

/// A manager replaces the logo (`Some`) or removes it (`None`); audited with its size.
pub async fn save_company_logo(
    db: &Db,
    actor: &Caller,
    logo: Option<&Logo>,
    ip: &str,
) -> Result<(), CompanyStoreError> {
    if actor.role != Role::Manager || !actor.is_staff() {
        return Err(CompanyStoreError::ManagerOnly);
    }
    let mut tx = db.begin_write().await?;
    let detail = match logo {
        Some(logo) => {
            sqlx::query(
                "INSERT INTO company_logo (id, png, width, height, updated_at, updated_by) \
                 VALUES (1, $1, $2, $3, $4, $5) \
                 ON CONFLICT (id) DO UPDATE SET png = excluded.png, width = excluded.width, \
                   height = excluded.height, updated_at = excluded.updated_at, \
                   updated_by = excluded.updated_by",
            )
            .bind(logo.png())
            .bind(i64::from(logo.width()))
            .bind(i64::from(logo.height()))
            .bind(timestamp_text(Utc::now()))
            .bind(actor.user_id)
            .execute(&mut *tx)
            .await?;
            format!(
                "PNG {} x {} pixels, {} bytes",
                logo.width(),
                logo.height(),
                logo.png().len()
            )
        }
        None => {
            sqlx::query("DELETE FROM company_logo WHERE id = 1")
                .execute(&mut *tx)
                .await?;
            "removed".to_string()
        }
    };
    audit::record(
        &mut *tx,
        Some(actor.user_id),
        &actor.email,
        "company_logo_changed",
        "company profile",
        &detail,
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use super::*;
    use crate::seed::{DEMO_LOGINS, seed_demo};
    use crate::testing::{fresh_db, sign_in_demo};

    #[tokio::test]
    async fn a_manager_saves_the_company_profile_audited_and_a_clerk_cannot() {
        let db = fresh_db().await;
        seed_demo(&db).await.unwrap();
        let clerk = sign_in_demo(&db, &DEMO_LOGINS[2]).await;
        let manager = sign_in_demo(&db, &DEMO_LOGINS[3]).await;
        let profile = CompanyProfile::parse(
            "Example Trading GmbH",
            "Hauptstraße 1\n10115 Berlin",
            "USt-IdNr. DE123456789",
            "+49 30 1234567",
        )
        .unwrap();
        assert!(matches!(
            save_company_profile(&db, &clerk, &profile, "").await,
            Err(CompanyStoreError::ManagerOnly)
        ));
        save_company_profile(&db, &manager, &profile, "127.0.0.1")
            .await
            .unwrap();
        assert_eq!(company_profile(&db).await.unwrap(), profile);
        let detail: String = sqlx::query_scalar(
            "SELECT detail FROM audit_log WHERE action = 'company_profile_changed'",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert!(
            detail.ends_with(
                "-> \"Example Trading GmbH\" [Hauptstraße 1, 10115 Berlin] [USt-IdNr. DE123456789] contact \"+49 30 1234567\""
            ),
            "{detail}"
        );
    }

    #[tokio::test]
    async fn a_manager_uploads_and_removes_the_logo_audited_and_a_clerk_cannot() {
        let db = fresh_db().await;
        seed_demo(&db).await.unwrap();
        let clerk = sign_in_demo(&db, &DEMO_LOGINS[2]).await;
        let manager = sign_in_demo(&db, &DEMO_LOGINS[3]).await;
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend(300u32.to_be_bytes());
        png.extend(90u32.to_be_bytes());
        let logo = Logo::parse(png).unwrap();
        assert!(matches!(
            save_company_logo(&db, &clerk, Some(&logo), "").await,
            Err(CompanyStoreError::ManagerOnly)
        ));
        assert_eq!(company_logo(&db).await.unwrap(), None);
        save_company_logo(&db, &manager, Some(&logo), "127.0.0.1")
            .await
            .unwrap();
        assert_eq!(company_logo(&db).await.unwrap(), Some(logo.clone()));
        save_company_logo(&db, &manager, None, "127.0.0.1")
            .await
            .unwrap();
        assert_eq!(company_logo(&db).await.unwrap(), None);
        let details: Vec<String> = sqlx::query_scalar(
            "SELECT detail FROM audit_log WHERE action = 'company_logo_changed' ORDER BY id",
        )
        .fetch_all(db.pool())
        .await
        .unwrap();
        assert_eq!(details, ["PNG 300 x 90 pixels, 24 bytes", "removed"]);
    }
}
