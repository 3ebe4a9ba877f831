//! The session cookie's name and attributes (server side).

use ledgerport::auth::TOKEN_SECONDS;

/// Cookie settings. Over https the cookie is `Secure` and `__Host-` prefixed (no Domain, Path=/).
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

    pub fn set(&self, token: &str) -> String {
        format!(
            "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={TOKEN_SECONDS}{}",
            self.name(),
            if self.secure { "; Secure" } else { "" }
        )
    }

    pub fn clear(&self) -> String {
        format!(
            "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
            self.name(),
            if self.secure { "; Secure" } else { "" }
        )
    }

    /// The token from a `Cookie` header, if ours is there.
    pub fn read<'a>(&self, cookie_header: &'a str) -> Option<&'a str> {
        cookie_header
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == self.name())
            .map(|(_, value)| value)
            .filter(|value| !value.is_empty())
    }
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
    }
}
