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
