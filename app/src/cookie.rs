//! The session cookie's name and attributes (server side).

use ledgerport::auth::{CODE_STEP_SECONDS, TOKEN_SECONDS};

/// Cookie settings. Over https the cookie is `Secure` and `__Host-` prefixed (no Domain, Path=/).
/// Two cookies: the session's token, and between a right password and the code of a user with
/// two-factor sign-in, that sign-in's challenge.
#[derive(Clone, Debug)]
pub struct SessionCookie {
    pub secure: bool,
}

impl SessionCookie {
    pub fn name(&self) -> &'static str {
        if self.secure {
            "__Host-ledgerport"
        } else {
            "ledgerport_session"
        }
    }

    fn challenge_name(&self) -> &'static str {
        if self.secure {
            "__Host-ledgerport-code"
        } else {
            "ledgerport_code"
        }
    }

    pub fn set(&self, token: &str) -> String {
        self.header(self.name(), token, TOKEN_SECONDS)
    }

    pub fn clear(&self) -> String {
        self.header(self.name(), "", 0)
    }

    pub fn set_challenge(&self, challenge: &str) -> String {
        self.header(self.challenge_name(), challenge, CODE_STEP_SECONDS)
    }

    pub fn clear_challenge(&self) -> String {
        self.header(self.challenge_name(), "", 0)
    }

    fn header(&self, name: &str, value: &str, max_age: i64) -> String {
        format!(
            "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
            if self.secure { "; Secure" } else { "" }
        )
    }

    /// The token from a `Cookie` header, if ours is there.
    pub fn read<'a>(&self, cookie_header: &'a str) -> Option<&'a str> {
        read_named(cookie_header, self.name())
    }

    /// The pending sign-in's challenge from a `Cookie` header, if there is one.
    pub fn read_challenge<'a>(&self, cookie_header: &'a str) -> Option<&'a str> {
        read_named(cookie_header, self.challenge_name())
    }
}

fn read_named<'a>(cookie_header: &'a str, name: &str) -> Option<&'a str> {
    cookie_header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(found, _)| *found == name)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_hardened_and_host_prefixed_over_https() {
        let secure = SessionCookie { secure: true };
        let header = secure.set("tok");
        assert!(header.starts_with("__Host-ledgerport=tok; Path=/; HttpOnly; SameSite=Lax"));
        assert!(header.ends_with("; Secure"));
        let local = SessionCookie { secure: false };
        assert!(!local.set("tok").contains("Secure"));
        assert_eq!(local.read("a=1; ledgerport_session=tok; b=2"), Some("tok"));
        assert_eq!(local.read("ledgerport_session="), None);
        assert_eq!(local.read_challenge("ledgerport_session=tok"), None);
        assert_eq!(
            local.read_challenge("ledgerport_code=c; ledgerport_session=tok"),
            Some("c")
        );
        assert!(
            secure
                .set_challenge("c")
                .starts_with("__Host-ledgerport-code=c; Path=/; HttpOnly")
        );
    }
}
