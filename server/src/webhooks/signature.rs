//! Stripe's webhook signature: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret,
//! "<t>.<raw body>")>[,v1=…]`. Verified on the raw bytes, in constant time, accepting any `v1`
//! (there are two while a secret is rolled) within a timestamp tolerance. The sandbox signs its
//! events with the same code, so both providers reach the ledger through one path.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Stripe's default: events older than five minutes are refused (replay protection).
pub const TOLERANCE_SECONDS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing")]
    Missing,
    #[error("the Stripe-Signature header is malformed")]
    Malformed,
    #[error("the event is too old (or from the future)")]
    Stale,
    #[error("no signature matches")]
    Mismatch,
}

fn mac(secret: &[u8], timestamp: i64, payload: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac
}

/// The header value for `payload` signed at `timestamp`.
pub fn sign(secret: &[u8], timestamp: i64, payload: &[u8]) -> String {
    let digest = mac(secret, timestamp, payload).finalize().into_bytes();
    format!("t={timestamp},v1={}", ledgerport::secrets::hex(&digest))
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Checks a `Stripe-Signature` header against the raw body.
pub fn verify(
    secret: &[u8],
    header: Option<&str>,
    payload: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => candidates.push(value),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now - timestamp).abs() > TOLERANCE_SECONDS {
        return Err(SignatureError::Stale);
    }
    let expected = mac(secret, timestamp, payload);
    let matches = candidates.iter().any(|candidate| {
        decode_hex(candidate).is_some_and(|bytes| expected.clone().verify_slice(&bytes).is_ok())
    });
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;

    #[test]
    fn a_signature_we_made_verifies_on_the_same_bytes() {
        let header = sign(SECRET, 1_000, BODY);
        assert_eq!(verify(SECRET, Some(&header), BODY, 1_010), Ok(()));
    }

    #[test]
    fn a_body_changed_after_signing_is_refused() {
        let header = sign(SECRET, 1_000, BODY);
        let changed = br#"{"id":"evt_1","type":"payment_intent.succeeded "}"#;
        assert_eq!(
            verify(SECRET, Some(&header), changed, 1_000),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn another_secret_a_stale_timestamp_and_a_missing_header_are_refused() {
        let header = sign(b"whsec_other", 1_000, BODY);
        assert_eq!(
            verify(SECRET, Some(&header), BODY, 1_000),
            Err(SignatureError::Mismatch)
        );
        let old = sign(SECRET, 1_000, BODY);
        assert_eq!(
            verify(SECRET, Some(&old), BODY, 1_000 + TOLERANCE_SECONDS + 1),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(SECRET, None, BODY, 1_000),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(SECRET, Some("v1=abcd"), BODY, 1_000),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn any_of_several_v1_signatures_may_match_during_a_secret_roll() {
        let good = sign(SECRET, 1_000, BODY);
        let good_v1 = good.split("v1=").nth(1).unwrap();
        let header = format!("t=1000,v1={},v1={good_v1}", "00".repeat(32));
        assert_eq!(verify(SECRET, Some(&header), BODY, 1_000), Ok(()));
        let header = format!("t=1000,v1={good_v1},v1=zz");
        assert_eq!(verify(SECRET, Some(&header), BODY, 1_000), Ok(()));
    }
}
