//! Session tokens: HS256 JWTs with a key id, so a new key can be introduced while tokens
//! signed with the previous one stay valid until they expire.

use std::collections::HashMap;

use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::TOKEN_SECONDS;

pub const ISSUER: &str = "ledgerport";
pub const AUDIENCE: &str = "ledgerport-portal";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The server-side session id.
    pub sid: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the session token is not valid")]
    Invalid,
    #[error("the session token was signed with an unknown key")]
    UnknownKey,
    #[error("the session token cannot be created: {0}")]
    Create(String),
}

/// The current signing key and every key still accepted, by key id.
#[derive(Clone)]
pub struct SigningKeys {
    current_kid: String,
    encoding: EncodingKey,
    decoding: HashMap<String, DecodingKey>,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SigningKeys(current kid {}, {} accepted)",
            self.current_kid,
            self.decoding.len()
        )
    }
}

/// A key id that names the key without revealing it: the first 12 hex digits of its SHA-256.
pub fn key_id(secret: &[u8]) -> String {
    crate::secrets::hex(&Sha256::digest(secret)[..6])
}

impl SigningKeys {
    /// `current` signs new tokens; tokens signed by `previous` keys are still accepted.
    pub fn new(current: &[u8], previous: &[&[u8]]) -> Self {
        let mut decoding = HashMap::new();
        for secret in previous.iter().chain(std::iter::once(&current)) {
            decoding.insert(key_id(secret), DecodingKey::from_secret(secret));
        }
        Self {
            current_kid: key_id(current),
            encoding: EncodingKey::from_secret(current),
            decoding,
        }
    }

    pub fn issue(&self, user_id: i64, session_id: &str, now: i64) -> Result<String, TokenError> {
        let claims = Claims {
            sub: user_id.to_string(),
            sid: session_id.to_string(),
            iss: ISSUER.to_string(),
            aud: AUDIENCE.to_string(),
            iat: now,
            exp: now + TOKEN_SECONDS,
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.current_kid.clone());
        encode(&header, &claims, &self.encoding).map_err(|e| TokenError::Create(e.to_string()))
    }

    /// Accepts only HS256 tokens signed by a known key, for us, unexpired, with every claim.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let header = decode_header(token).map_err(|_| TokenError::Invalid)?;
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.decoding.get(kid))
            .ok_or(TokenError::UnknownKey)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        decode::<Claims>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|_| TokenError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef-current";
    const OLD: &[u8] = b"0123456789abcdef0123456789abcdef-previous";

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    fn b64(bytes: &[u8]) -> String {
        use std::fmt::Write;
        // URL-safe base64 without padding, enough for hand-made test tokens.
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                let _ = write!(
                    out,
                    "{}",
                    ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char
                );
            }
        }
        out
    }

    #[test]
    fn a_token_we_issued_verifies_and_names_the_session() {
        let keys = SigningKeys::new(KEY, &[]);
        let claims = keys.verify(&keys.issue(7, "s1", now()).unwrap()).unwrap();
        assert_eq!((claims.sub.as_str(), claims.sid.as_str()), ("7", "s1"));
    }

    #[test]
    fn a_token_with_alg_none_is_refused() {
        let keys = SigningKeys::new(KEY, &[]);
        let header = format!(r#"{{"alg":"none","typ":"JWT","kid":"{}"}}"#, key_id(KEY));
        let body = format!(
            r#"{{"sub":"7","sid":"s1","iss":"{ISSUER}","aud":"{AUDIENCE}","iat":{0},"exp":{1}}}"#,
            now(),
            now() + 600
        );
        let token = format!("{}.{}.", b64(header.as_bytes()), b64(body.as_bytes()));
        assert!(keys.verify(&token).is_err());
    }

    #[test]
    fn a_token_signed_with_another_key_is_refused() {
        let ours = SigningKeys::new(KEY, &[]);
        let theirs = SigningKeys::new(b"some-other-key-that-is-long-enough!!", &[]);
        assert_eq!(
            ours.verify(&theirs.issue(7, "s1", now()).unwrap()),
            Err(TokenError::UnknownKey)
        );
    }

    #[test]
    fn an_expired_token_is_refused() {
        let keys = SigningKeys::new(KEY, &[]);
        let old = keys.issue(7, "s1", now() - TOKEN_SECONDS - 60).unwrap();
        assert_eq!(keys.verify(&old), Err(TokenError::Invalid));
    }

    #[test]
    fn tokens_from_the_previous_key_stay_valid_after_a_rotation() {
        let before = SigningKeys::new(OLD, &[]);
        let token = before.issue(7, "s1", now()).unwrap();
        let after = SigningKeys::new(KEY, &[OLD]);
        assert!(after.verify(&token).is_ok());
        // New tokens carry the new key id.
        let fresh = after.issue(7, "s2", now()).unwrap();
        assert_eq!(decode_header(&fresh).unwrap().kid, Some(key_id(KEY)));
    }
}
