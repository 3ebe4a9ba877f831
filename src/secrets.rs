//! Random identifiers and hex text: session ids, link secrets, payment ids, keys.

use rand::RngCore;

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `len` bytes from the operating system's CSPRNG, as hex (`2 * len` characters).
pub fn random_hex(len: usize) -> String {
    hex(&random_bytes(len))
}

/// SHA-256 of a secret as typed or clicked (surrounding blanks ignored), as hex: what is stored
/// of every link, code and challenge, so the database never holds one that works.
pub fn digest_hex(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    hex(&Sha256::digest(secret.trim().as_bytes()))
}

/// `len` bytes from the operating system's CSPRNG.
pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// Crockford's base32 in lower case: no I, L, O or U, so a code read off paper or a screen is
/// typed back without ambiguity (recovery codes, document codes).
pub const CROCKFORD: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// `len` symbols of 5 random bits each (a random byte's low 5 bits are uniform).
pub fn random_crockford(len: usize) -> String {
    random_bytes(len)
        .iter()
        .map(|byte| CROCKFORD[usize::from(byte & 31)] as char)
        .collect()
}

/// A Crockford code as a person typed it: blanks and hyphens dropped, lower case, and the
/// letters that look like digits read as those digits (O → 0, I and L → 1). `None` when what is
/// left is not `len` symbols of the alphabet.
pub fn typed_crockford(text: &str, len: usize) -> Option<String> {
    let normal: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_lowercase() {
            'o' => '0',
            'i' | 'l' => '1',
            other => other,
        })
        .collect();
    (normal.len() == len && normal.bytes().all(|b| CROCKFORD.contains(&b))).then_some(normal)
}
