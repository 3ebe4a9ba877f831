//! Configuration from environment variables (and an optional `.env` file). Every value is
//! checked at start-up; a wrong one stops the server with one line naming the variable.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/ledgerport.db";
pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:3000";
const JWT_KEY_FILE: &str = "data/jwt-signing.key";

#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

fn invalid(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        message: message.into(),
    }
}

/// A secret value whose `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone)]
pub enum PaymentProvider {
    /// The offline sandbox: a hosted-checkout page served by the portal itself.
    Sandbox,
    Stripe {
        secret_key: Secret,
        webhook_secret: Secret,
        /// Stripe's API unless set: a local fake Stripe for tests and rehearsals.
        api_base: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub url: Secret,
    pub from: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    /// A PostgreSQL streaming replica the staff reports read (`READ_DATABASE_URL`).
    pub read_database_url: Option<String>,
    /// Connections each pool may open (DATABASE_MAX_CONNECTIONS, 1 to 1000, default 16; SQLite
    /// uses 8 at most for reads, beside its one writer).
    pub database_max_connections: u32,
    pub listen_addr: SocketAddr,
    pub public_base_url: String,
    pub payment_provider: PaymentProvider,
    pub jwt_signing_key: Secret,
    /// Keys that signed tokens before a rotation; still accepted until those tokens expire.
    pub jwt_previous_keys: Vec<Secret>,
    /// Where the generated key lives when none was given (a development convenience).
    pub jwt_key_generated_at: Option<PathBuf>,
    pub smtp: Option<SmtpConfig>,
    /// Days relative to the due date on which reminders go out.
    pub reminder_schedule: ledgerport::reminders::Schedule,
    /// How often each instance runs the reminder job; `None` turns it off.
    pub reminders_every: Option<std::time::Duration>,
    /// How long an approved change of a receiving bank account waits before customers see it
    /// (BANK_ACCOUNT_CHANGE_WAIT_HOURS, 1 to 720, default 72): time for payers to hear of it
    /// and for managers to withdraw a change they did not expect.
    pub bank_account_change_wait: chrono::Duration,
    pub cookie_secure: bool,
    pub log_format: LogFormat,
    /// The origin passkeys are bound to (PASSKEY_ORIGIN, else the public address; `None` when
    /// that names its host by an IP address, which passkeys cannot be bound to).
    pub passkey_origin: Option<String>,
}

/// Reads the environment through `get`, so tests can pass a map instead of the process env.
pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
    let var = |name: &str| {
        get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };

    let database_url = var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
    if !(database_url.starts_with("sqlite:")
        || database_url.starts_with("postgres://")
        || database_url.starts_with("postgresql://"))
    {
        return Err(invalid(
            "DATABASE_URL",
            "must start with sqlite: or postgres:// (e.g. sqlite://data/ledgerport.db)",
        ));
    }

    let read_database_url = var("READ_DATABASE_URL");
    if read_database_url.is_some()
        && !(database_url.starts_with("postgres")
            && read_database_url.as_ref().is_some_and(|url| {
                url.starts_with("postgres://") || url.starts_with("postgresql://")
            }))
    {
        return Err(invalid(
            "READ_DATABASE_URL",
            "must be a postgres:// URL of a streaming replica, with a postgres:// DATABASE_URL",
        ));
    }

    let database_max_connections = match var("DATABASE_MAX_CONNECTIONS")
        .as_deref()
        .unwrap_or("16")
        .parse::<u32>()
    {
        Ok(connections @ 1..=1000) => connections,
        _ => {
            return Err(invalid(
                "DATABASE_MAX_CONNECTIONS",
                "must be 1 to 1000 connections",
            ));
        }
    };

    let listen_text = var("LISTEN_ADDR")
        .or_else(|| var("LEPTOS_SITE_ADDR"))
        .unwrap_or_else(|| DEFAULT_LISTEN_ADDR.to_string());
    let listen_addr: SocketAddr = listen_text.parse().map_err(|_| {
        invalid(
            "LISTEN_ADDR",
            format!("{listen_text:?} is not an address like 127.0.0.1:3000"),
        )
    })?;

    let public_base_url = var("PUBLIC_BASE_URL")
        .unwrap_or_else(|| format!("http://{listen_addr}"))
        .trim_end_matches('/')
        .to_string();
    let plain_http = public_base_url.starts_with("http://");
    if !plain_http && !public_base_url.starts_with("https://") {
        return Err(invalid(
            "PUBLIC_BASE_URL",
            "must start with http:// or https://",
        ));
    }
    let host = url::Url::parse(&public_base_url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_string))
        .unwrap_or_default();
    let local = matches!(host.as_str(), "localhost" | "127.0.0.1" | "[::1]");
    if plain_http && !local {
        return Err(invalid(
            "PUBLIC_BASE_URL",
            "plain http:// is only allowed for localhost; use https:// in production",
        ));
    }

    let passkey_origin = passkey_origin(var("PASSKEY_ORIGIN"), &public_base_url)?;

    let cookie_secure = match var("COOKIE_SECURE").as_deref() {
        None => !plain_http,
        Some("true" | "1") => true,
        Some("false" | "0") if local => false,
        Some("false" | "0") => {
            return Err(invalid(
                "COOKIE_SECURE",
                "may be false only when PUBLIC_BASE_URL is localhost",
            ));
        }
        Some(other) => {
            return Err(invalid(
                "COOKIE_SECURE",
                format!("{other:?} is not true or false"),
            ));
        }
    };

    let payment_provider = match var("PAYMENT_PROVIDER").as_deref().unwrap_or("sandbox") {
        "sandbox" => PaymentProvider::Sandbox,
        "stripe" => {
            let secret_key = var("STRIPE_SECRET_KEY").ok_or_else(|| {
                invalid(
                    "STRIPE_SECRET_KEY",
                    "is required when PAYMENT_PROVIDER=stripe",
                )
            })?;
            if !(secret_key.starts_with("sk_") || secret_key.starts_with("rk_")) {
                return Err(invalid(
                    "STRIPE_SECRET_KEY",
                    "must be a Stripe secret key (sk_… or rk_…)",
                ));
            }
            let webhook_secret = var("STRIPE_WEBHOOK_SECRET").ok_or_else(|| {
                invalid(
                    "STRIPE_WEBHOOK_SECRET",
                    "is required when PAYMENT_PROVIDER=stripe",
                )
            })?;
            if !webhook_secret.starts_with("whsec_") {
                return Err(invalid("STRIPE_WEBHOOK_SECRET", "must start with whsec_"));
            }
            let api_base =
                var("STRIPE_API_BASE").map(|base| format!("{}/", base.trim_end_matches('/')));
            if let Some(base) = &api_base
                && !(base.starts_with("https://") || base.starts_with("http://127.0.0.1:"))
            {
                return Err(invalid(
                    "STRIPE_API_BASE",
                    "must be an https:// URL (or http://127.0.0.1:port for a local fake Stripe)",
                ));
            }
            PaymentProvider::Stripe {
                secret_key: Secret(secret_key),
                webhook_secret: Secret(webhook_secret),
                api_base,
            }
        }
        other => {
            return Err(invalid(
                "PAYMENT_PROVIDER",
                format!("{other:?} is not sandbox or stripe"),
            ));
        }
    };

    let (jwt_signing_key, jwt_key_generated_at) = match var("JWT_SIGNING_KEY") {
        Some(key) if key.len() < 32 => {
            return Err(invalid("JWT_SIGNING_KEY", "must be at least 32 characters"));
        }
        Some(key) => (Secret(key), None),
        None => {
            let path = PathBuf::from(
                var("JWT_SIGNING_KEY_FILE").unwrap_or_else(|| JWT_KEY_FILE.to_string()),
            );
            (load_or_create_key(&path)?, Some(path))
        }
    };

    let jwt_previous_keys: Vec<Secret> = var("JWT_PREVIOUS_KEYS")
        .map(|keys| {
            keys.split(',')
                .map(|k| Secret(k.trim().to_string()))
                .collect()
        })
        .unwrap_or_default();
    if jwt_previous_keys.iter().any(|k| k.expose().len() < 32) {
        return Err(invalid(
            "JWT_PREVIOUS_KEYS",
            "each comma-separated key must be at least 32 characters",
        ));
    }

    let smtp = match var("SMTP_URL") {
        None => None,
        Some(url) if url.starts_with("smtp://") || url.starts_with("smtps://") => {
            Some(SmtpConfig {
                url: Secret(url),
                from: var("SMTP_FROM")
                    .ok_or_else(|| invalid("SMTP_FROM", "is required when SMTP_URL is set"))?,
            })
        }
        Some(_) => return Err(invalid("SMTP_URL", "must start with smtp:// or smtps://")),
    };

    let reminder_schedule = match var("REMINDER_SCHEDULE") {
        None => ledgerport::reminders::Schedule::default(),
        Some(text) => ledgerport::reminders::Schedule::parse(&text)
            .map_err(|e| invalid("REMINDER_SCHEDULE", e.to_string()))?,
    };
    let reminders_every = match var("REMINDERS_EVERY_MINUTES").as_deref().unwrap_or("60") {
        "0" => None,
        text => match text.parse::<u64>() {
            Ok(minutes @ 1..=1440) => Some(std::time::Duration::from_secs(minutes * 60)),
            _ => {
                return Err(invalid(
                    "REMINDERS_EVERY_MINUTES",
                    "must be 0 (off) or 1 to 1440 minutes",
                ));
            }
        },
    };

    let bank_account_change_wait = match var("BANK_ACCOUNT_CHANGE_WAIT_HOURS")
        .as_deref()
        .unwrap_or("72")
        .parse::<i64>()
    {
        Ok(hours @ 1..=720) => chrono::Duration::hours(hours),
        _ => {
            return Err(invalid(
                "BANK_ACCOUNT_CHANGE_WAIT_HOURS",
                "must be 1 to 720 hours",
            ));
        }
    };

    let log_format = match var("LOG_FORMAT").as_deref().unwrap_or("text") {
        "text" => LogFormat::Text,
        "json" => LogFormat::Json,
        other => {
            return Err(invalid(
                "LOG_FORMAT",
                format!("{other:?} is not text or json"),
            ));
        }
    };

    Ok(Config {
        database_url,
        read_database_url,
        database_max_connections,
        listen_addr,
        public_base_url,
        payment_provider,
        jwt_signing_key,
        jwt_previous_keys,
        jwt_key_generated_at,
        smtp,
        reminder_schedule,
        reminders_every,
        bank_account_change_wait,
        cookie_secure,
        log_format,
        passkey_origin,
    })
}

/// Where passkeys work: PASSKEY_ORIGIN when set (it must carry them), else the public address.
/// A passkey is bound to a domain name, so on this machine's loopback address they live on
/// `localhost` at the same port (browsers trust it as they trust https); another IP address
/// has none.
fn passkey_origin(
    set: Option<String>,
    public_base_url: &str,
) -> Result<Option<String>, ConfigError> {
    use ledgerport::auth::passkeys::RelyingParty;
    if let Some(origin) = set {
        return match RelyingParty::new(&origin) {
            Ok(party) => Ok(Some(party.origin().to_string())),
            Err(e) => Err(invalid("PASSKEY_ORIGIN", e.to_string())),
        };
    }
    let Ok(mut url) = url::Url::parse(public_base_url) else {
        return Ok(None);
    };
    let loopback = match url.host() {
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        _ => false,
    };
    if loopback && url.set_host(Some("localhost")).is_err() {
        return Ok(None);
    }
    Ok(RelyingParty::new(url.as_str())
        .ok()
        .map(|party| party.origin().to_string()))
}

/// Reads the signing key file, or creates it with 64 random bytes (hex) and mode 0600.
fn load_or_create_key(path: &Path) -> Result<Secret, ConfigError> {
    const VAR: &str = "JWT_SIGNING_KEY_FILE";
    if let Ok(existing) = std::fs::read_to_string(path) {
        check_private(path)?;
        let key = existing.trim().to_string();
        if key.len() < 32 {
            return Err(invalid(
                VAR,
                format!("{} holds fewer than 32 characters", path.display()),
            ));
        }
        return Ok(Secret(key));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| invalid(VAR, format!("cannot create {}: {e}", parent.display())))?;
    }
    let key = ledgerport::secrets::random_hex(64);
    write_private(path, &key)
        .map_err(|e| invalid(VAR, format!("cannot write {}: {e}", path.display())))?;
    Ok(Secret(key))
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), ConfigError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| invalid("JWT_SIGNING_KEY_FILE", e.to_string()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(invalid(
            "JWT_SIGNING_KEY_FILE",
            format!(
                "{} must be readable by its owner only (chmod 600)",
                path.display()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = std::env::temp_dir().join(format!("ledgerport-config-{}", rand::random::<u64>()));
        let key_file = dir.join("jwt.key");
        let mut env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        env.entry("JWT_SIGNING_KEY_FILE".into())
            .or_insert(key_file.display().to_string());
        from_env(|name| env.get(name).cloned())
    }

    #[test]
    fn defaults_give_a_local_sqlite_portal_with_a_generated_private_key() {
        let c = config(&[]).unwrap();
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.listen_addr.to_string(), DEFAULT_LISTEN_ADDR);
        assert_eq!(c.public_base_url, "http://127.0.0.1:3000");
        assert!(!c.cookie_secure);
        assert!(matches!(c.payment_provider, PaymentProvider::Sandbox));
        let path = c.jwt_key_generated_at.unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(c.jwt_signing_key.expose().len() >= 64);
        assert_eq!(c.bank_account_change_wait, chrono::Duration::hours(72));
        assert_eq!(c.database_max_connections, 16);
    }

    #[test]
    fn each_wrong_value_names_its_variable() {
        for (pairs, var) in [
            (vec![("DATABASE_URL", "mysql://x")], "DATABASE_URL"),
            (vec![("LISTEN_ADDR", "nowhere")], "LISTEN_ADDR"),
            (vec![("PAYMENT_PROVIDER", "paypal")], "PAYMENT_PROVIDER"),
            (vec![("PAYMENT_PROVIDER", "stripe")], "STRIPE_SECRET_KEY"),
            (vec![("JWT_SIGNING_KEY", "short")], "JWT_SIGNING_KEY"),
            (vec![("SMTP_URL", "http://mail")], "SMTP_URL"),
            (
                vec![("PUBLIC_BASE_URL", "http://portal.example.com")],
                "PUBLIC_BASE_URL",
            ),
            (vec![("LOG_FORMAT", "xml")], "LOG_FORMAT"),
            (
                vec![("PASSKEY_ORIGIN", "http://10.0.0.5:3000")],
                "PASSKEY_ORIGIN",
            ),
            (
                vec![("PASSKEY_ORIGIN", "billing.example.com")],
                "PASSKEY_ORIGIN",
            ),
            (
                vec![("BANK_ACCOUNT_CHANGE_WAIT_HOURS", "0")],
                "BANK_ACCOUNT_CHANGE_WAIT_HOURS",
            ),
            (
                vec![("BANK_ACCOUNT_CHANGE_WAIT_HOURS", "three days")],
                "BANK_ACCOUNT_CHANGE_WAIT_HOURS",
            ),
            (
                vec![("DATABASE_MAX_CONNECTIONS", "0")],
                "DATABASE_MAX_CONNECTIONS",
            ),
            (
                vec![("DATABASE_MAX_CONNECTIONS", "many")],
                "DATABASE_MAX_CONNECTIONS",
            ),
        ] {
            let err = config(&pairs).unwrap_err();
            assert_eq!(err.var, var, "{pairs:?} gave {err}");
        }
    }

    #[test]
    fn passkeys_live_on_the_public_address_or_on_localhost_for_the_loopback_address() {
        let origin = |pairs: &[(&str, &str)]| config(pairs).unwrap().passkey_origin;
        assert_eq!(origin(&[]).as_deref(), Some("http://localhost:3000"));
        assert_eq!(
            origin(&[("PUBLIC_BASE_URL", "https://billing.example.com/")]).as_deref(),
            Some("https://billing.example.com")
        );
        assert_eq!(
            origin(&[
                ("PUBLIC_BASE_URL", "https://billing.example.com"),
                ("PASSKEY_ORIGIN", "https://pay.example.com"),
            ])
            .as_deref(),
            Some("https://pay.example.com")
        );
        assert_eq!(
            origin(&[("PUBLIC_BASE_URL", "http://[::1]:8080")]).as_deref(),
            Some("http://localhost:8080")
        );
        assert_eq!(
            origin(&[("PUBLIC_BASE_URL", "https://192.0.2.10")]),
            None,
            "an IP address carries no passkeys"
        );
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let c = config(&[
            ("PAYMENT_PROVIDER", "stripe"),
            ("STRIPE_SECRET_KEY", "sk_test_very_secret"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_also_secret"),
            ("JWT_SIGNING_KEY", "0123456789abcdef0123456789abcdef-key"),
        ])
        .unwrap();
        let printed = format!("{c:?}");
        assert!(!printed.contains("very_secret"));
        assert!(!printed.contains("also_secret"));
        assert!(!printed.contains("0123456789abcdef"));
    }

    #[test]
    fn https_base_urls_make_cookies_secure() {
        let c = config(&[("PUBLIC_BASE_URL", "https://pay.example.com/")]).unwrap();
        assert!(c.cookie_secure);
        assert_eq!(c.public_base_url, "https://pay.example.com");
    }
}
