//! Who is calling: sign-in, sessions and the rules that end them (docs/security.md).
//!
//! A session is a row in `sessions` plus a short-lived JWT in a cookie that names it. The JWT
//! proves the cookie was issued by us; the row lets sign-out, password change and revocation
//! end access at once, and carries the absolute timeout.

use serde::{Deserialize, Serialize};

use crate::locale::{Explain, Locale};
use crate::users::Role;

#[cfg(feature = "ssr")]
pub mod access;
#[cfg(feature = "ssr")]
pub mod passkeys;
#[cfg(feature = "ssr")]
pub mod store;
#[cfg(feature = "ssr")]
pub mod tokens;
#[cfg(feature = "ssr")]
pub mod two_factor;

/// A JWT lives this long; it is renewed while the user is active, so this is also the idle
/// timeout.
pub const TOKEN_SECONDS: i64 = 15 * 60;
/// A token older than this is replaced on the next request.
pub const RENEW_AFTER_SECONDS: i64 = 60;
/// No session outlives this, however active (absolute timeout).
pub const SESSION_MAX_SECONDS: i64 = 12 * 60 * 60;
/// A right password waits this long for the code of a user with two-factor sign-in.
pub const CODE_STEP_SECONDS: i64 = 5 * 60;

/// The signed-in user behind a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    pub user_id: i64,
    pub session_id: String,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// Set for customer contacts: the only account they may see.
    pub customer_id: Option<i64>,
    /// That account's name, read with the session: every page's top bar shows it.
    pub customer_name: Option<String>,
    /// The session proved a second factor (a code at sign-in, or finishing enrolment in it).
    pub second_factor: bool,
    /// The language they chose (or their browser asked for at first sign-in); `None` until then.
    pub locale: Option<crate::locale::Locale>,
}

impl Caller {
    /// This person as the audit log names them.
    #[cfg(feature = "ssr")]
    pub fn actor(&self) -> crate::audit::Actor<'_> {
        crate::audit::Actor {
            user_id: Some(self.user_id),
            name: &self.email,
        }
    }

    /// The language this person reads pages and documents in: staff pages are English; a
    /// contact reads their choice, else what their browser asks for (`Accept-Language`).
    pub fn reads_in(&self, accept_language: Option<&str>) -> crate::locale::Locale {
        if self.role.is_staff() {
            crate::locale::Locale::En
        } else {
            crate::locale::Locale::of_reader(self.locale, accept_language)
        }
    }

    /// Staff who may work: clerks, and managers whose session proved a second factor.
    pub fn is_staff(&self) -> bool {
        self.role.is_staff() && !self.needs_second_factor()
    }

    /// The language a request is answered in: the caller's ([`Caller::reads_in`]), or for a
    /// visitor what their browser asks for.
    pub fn request_locale(caller: Option<&Caller>, accept_language: Option<&str>) -> Locale {
        match caller {
            Some(caller) => caller.reads_in(accept_language),
            None => Locale::of_reader(None, accept_language),
        }
    }

    /// An AR manager who may work as one (a second factor proved in this session).
    pub fn is_manager(&self) -> bool {
        self.role == Role::Manager && self.is_staff()
    }

    /// An AR manager without a second factor in this session: the staff pages stay closed to
    /// them until they set one up (or sign in with it).
    pub fn needs_second_factor(&self) -> bool {
        self.role == Role::Manager && !self.second_factor
    }

    /// Viewers read; payers also pay and dispute.
    pub fn can_pay(&self) -> bool {
        self.role == Role::Payer
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInError {
    WrongCredentials,
    TooManyAttempts { retry_after_minutes: i64 },
}

impl Explain for SignInError {
    fn explain(&self, locale: Locale) -> String {
        match self {
            SignInError::WrongCredentials => locale
                .pick(
                    "the email or password is wrong",
                    "die E-Mail-Adresse oder das Passwort ist falsch",
                )
                .into(),
            SignInError::TooManyAttempts {
                retry_after_minutes,
            } => too_many_attempts(locale, *retry_after_minutes),
        }
    }
}

crate::explained_error!(SignInError);

/// Why a sign-in waits, shared by the password and the two-factor step.
pub fn too_many_attempts(locale: Locale, retry_after_minutes: i64) -> String {
    locale.pick(
        format!("too many failed sign-ins; try again in {retry_after_minutes} minutes"),
        format!(
            "zu viele fehlgeschlagene Anmeldungen; bitte versuchen Sie es in {retry_after_minutes} Minuten erneut"
        ),
    )
}

/// A customer contact as staff see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactSummary {
    pub user_id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// The invitation was accepted (a password is set).
    pub accepted: bool,
    pub disabled: bool,
    /// Signs in with two factors (an authenticator app, or a passkey).
    pub two_factor: bool,
}
