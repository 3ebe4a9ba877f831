//! People who sign in: customer contacts (viewer, payer) and AR staff (clerk, manager).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::locale::{Explain, Locale};

#[cfg(feature = "ssr")]
pub mod store;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserError {
    Email(String),
    Role(String),
    PasswordTooShort,
    PasswordTooLong,
    PasswordTooCommon,
}

impl Explain for UserError {
    fn explain(&self, locale: Locale) -> String {
        match self {
            UserError::Email(typed) => locale.pick(
                format!("{typed:?} is not a valid email address"),
                format!("{typed:?} ist keine gültige E-Mail-Adresse"),
            ),
            UserError::Role(typed) => locale.pick(
                format!("unknown role {typed:?} (viewer, payer, clerk or manager)"),
                format!("unbekannte Rolle {typed:?} (viewer, payer, clerk oder manager)"),
            ),
            UserError::PasswordTooShort => locale
                .pick(
                    "a password needs at least 8 characters",
                    "ein Passwort braucht mindestens 8 Zeichen",
                )
                .into(),
            UserError::PasswordTooLong => locale
                .pick(
                    "a password can have at most 128 characters",
                    "ein Passwort kann höchstens 128 Zeichen haben",
                )
                .into(),
            UserError::PasswordTooCommon => locale
                .pick(
                    "that password is on the list of common passwords; choose another",
                    "dieses Passwort steht auf der Liste häufiger Passwörter; wählen Sie ein anderes",
                )
                .into(),
        }
    }
}

crate::explained_error!(UserError);

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum Role {
        /// A customer contact who can read the account.
        Viewer = "viewer",
        /// A customer contact who can also pay and dispute.
        Payer = "payer",
        Clerk = "clerk",
        Manager = "manager",
    }
}

crate::text_enum! {
    /// Messages a person may choose not to receive, by the outbox kind they are sent as.
    /// Everything else (sign-in, security, failed or returned payments, bank account changes,
    /// agreements such as autopay and plans) always arrives.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum EmailChoice {
        Reminders = "reminder",
        Receipts = "receipt",
        Disputes = "dispute",
    }
}

impl Role {
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Clerk | Role::Manager)
    }
}

impl FromStr for Role {
    type Err = UserError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| UserError::Role(s.to_string()))
    }
}

/// A lower-cased email address with one `@`, a dot in the domain and no spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, UserError> {
        let email = input.trim().to_lowercase();
        let valid = email.len() <= 254
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && match email.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                }
                None => false,
            };
        if valid {
            Ok(Email(email))
        } else {
            Err(UserError::Email(input.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password that meets the policy (docs/security.md). Its `Debug` never shows the text.
#[derive(Clone)]
pub struct NewPassword(String);

/// The most common passwords of at least 8 characters (from public breach top lists).
const COMMON_PASSWORDS: &[&str] = &[
    "12345678",
    "123456789",
    "1234567890",
    "password",
    "password1",
    "password123",
    "qwertyuiop",
    "qwerty123",
    "11111111",
    "iloveyou",
    "00000000",
    "abc12345",
    "abcd1234",
    "1q2w3e4r",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "welcome1",
    "trustno1",
    "superman",
    "letmein1",
    "passw0rd",
    "qwerty12",
    "88888888",
    "12341234",
    "87654321",
    "zaq12wsx",
    "changeme",
    "administrator",
    "ledgerport",
];

impl NewPassword {
    pub fn parse(input: &str) -> Result<Self, UserError> {
        let length = input.chars().count();
        if length < 8 {
            return Err(UserError::PasswordTooShort);
        }
        if length > 128 {
            return Err(UserError::PasswordTooLong);
        }
        let lowered = input.to_lowercase();
        if COMMON_PASSWORDS.contains(&lowered.as_str()) {
            return Err(UserError::PasswordTooCommon);
        }
        Ok(NewPassword(input.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lowercased_and_malformed_ones_refused() {
        assert_eq!(
            Email::parse(" Ann@Example.COM ").unwrap().as_str(),
            "ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "a@b@c.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn short_long_and_common_passwords_are_refused() {
        assert_eq!(
            NewPassword::parse("short").err(),
            Some(UserError::PasswordTooShort)
        );
        assert_eq!(
            NewPassword::parse("Password1").err(),
            Some(UserError::PasswordTooCommon)
        );
        assert_eq!(
            NewPassword::parse(&"x".repeat(129)).err(),
            Some(UserError::PasswordTooLong)
        );
        assert!(NewPassword::parse("correct horse battery").is_ok());
    }

    #[test]
    fn a_password_never_shows_in_debug_output() {
        let p = NewPassword::parse("correct horse battery").unwrap();
        assert_eq!(format!("{p:?}"), "NewPassword(***)");
    }
}
