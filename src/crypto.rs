//! Keys derived from `DOCKET_SECRET_KEY`, encryption of OAuth tokens at rest, and the random
//! bearer secrets Docket hands out (calendar feed addresses, API tokens).
//!
//! Tokens are sealed with XChaCha20-Poly1305 (a fresh random 24-byte nonce each time, so no
//! nonce bookkeeping) under a key derived with HKDF-SHA256; rows store a key id, the nonce and
//! the ciphertext, never plaintext.
//!
//! Bearer secrets are the other way round: Docket never needs them back, so it keeps only their
//! SHA-256. Whoever reads the database cannot rebuild a working secret, and a lookup by hash
//! through a unique index compares hashes, never secrets, so its timing says nothing about one.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chacha20poly1305::{
    KeyInit, XChaCha20Poly1305, XNonce,
    aead::{Aead, AeadCore, OsRng},
};
use hkdf::Hkdf;
use rand::RngCore as _;
use sha2::{Digest, Sha256};

use crate::config::SecretKey;

/// Derives an independent 64-byte key for `purpose`, so one secret serves several uses.
fn derive(secret: &SecretKey, purpose: &str) -> [u8; 64] {
    let hk = Hkdf::<Sha256>::new(Some(b"docket"), secret.expose());
    let mut out = [0u8; 64];
    hk.expand(purpose.as_bytes(), &mut out)
        .expect("64 bytes is a valid HKDF-SHA256 output length");
    out
}

/// The key tower-sessions signs the session cookie with.
pub fn cookie_key(secret: &SecretKey) -> tower_sessions::cookie::Key {
    tower_sessions::cookie::Key::from(&derive(secret, "cookie signing v1"))
}

/// A sealed value as stored in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("sealed with another key ({0}); the account must be reconnected")]
    UnknownKey(String),
    #[error("ciphertext failed authentication; the account must be reconnected")]
    Tampered,
}

/// One token-encryption key and its id.
#[derive(Clone)]
struct TokenKey {
    aead: XChaCha20Poly1305,
    id: String,
}

impl TokenKey {
    fn new(secret: &SecretKey) -> Self {
        let material = derive(secret, "token encryption v1");
        let key = &material[..32];
        // The key id names the key without revealing it: a short hash of the derived key.
        TokenKey {
            aead: XChaCha20Poly1305::new(key.into()),
            id: hex::encode(&Sha256::digest(key)[..6]),
        }
    }
}

/// Seals and opens OAuth tokens. Seals with the current key; opens with the current key or,
/// during a rotation, the previous one (the sealed value's key id says which).
#[derive(Clone)]
pub struct TokenCipher {
    current: TokenKey,
    previous: Option<TokenKey>,
}

impl TokenCipher {
    pub fn new(secret: &SecretKey) -> Self {
        TokenCipher {
            current: TokenKey::new(secret),
            previous: None,
        }
    }

    /// Also opens what `previous` sealed (`DOCKET_PREVIOUS_SECRET_KEY`).
    pub fn with_previous(mut self, previous: &SecretKey) -> Self {
        self.previous = Some(TokenKey::new(previous));
        self
    }

    /// The id of the key new values are sealed with.
    pub fn key_id(&self) -> &str {
        &self.current.id
    }

    /// `context` (the account id) is bound as associated data, so a ciphertext copied onto
    /// another account's row fails to open.
    pub fn seal(&self, plaintext: &str, context: &[u8]) -> Sealed {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ciphertext = self
            .current
            .aead
            .encrypt(
                &nonce,
                chacha20poly1305::aead::Payload {
                    msg: plaintext.as_bytes(),
                    aad: context,
                },
            )
            .expect("encryption of a bounded message cannot fail");
        Sealed {
            key_id: self.current.id.clone(),
            nonce: nonce.to_vec(),
            ciphertext,
        }
    }

    pub fn open(&self, sealed: &Sealed, context: &[u8]) -> Result<String, CryptoError> {
        let key = [Some(&self.current), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .find(|key| key.id == sealed.key_id)
            .ok_or_else(|| CryptoError::UnknownKey(sealed.key_id.clone()))?;
        if sealed.nonce.len() != 24 {
            return Err(CryptoError::Tampered);
        }
        let plaintext = key
            .aead
            .decrypt(
                XNonce::from_slice(&sealed.nonce),
                chacha20poly1305::aead::Payload {
                    msg: &sealed.ciphertext,
                    aad: context,
                },
            )
            .map_err(|_| CryptoError::Tampered)?;
        String::from_utf8(plaintext).map_err(|_| CryptoError::Tampered)
    }
}

/// Random bytes in a bearer secret: 256 bits.
const BEARER_BYTES: usize = 32;
/// Their length in unpadded base64url.
pub const BEARER_CHARS: usize = 43;

/// The SHA-256 of a bearer secret: what is stored and looked up.
pub type BearerHash = [u8; 32];

/// A new bearer secret (256 random bits, unpadded base64url) and the hash to store.
pub fn new_bearer() -> (String, BearerHash) {
    let mut bytes = [0u8; BEARER_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    let hash = bearer_hash(&secret);
    (secret, hash)
}

fn bearer_hash(secret: &str) -> BearerHash {
    Sha256::digest(secret.as_bytes()).into()
}

/// The hash to look up for `secret` as it came over the wire, or `None` when it cannot be a
/// secret Docket made: wrong length, a character outside base64url, or not exactly 32 bytes in
/// canonical encoding. Refused before the database is asked.
pub fn parse_bearer(secret: &str) -> Option<BearerHash> {
    if secret.len() != BEARER_CHARS
        || !secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return None;
    }
    // The decoder refuses non-zero trailing bits, so each 32 bytes have one spelling only.
    let bytes = URL_SAFE_NO_PAD.decode(secret).ok()?;
    (bytes.len() == BEARER_BYTES).then(|| bearer_hash(secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_bearer_is_256_bits_of_base64url_and_parses_back_to_its_hash() {
        let (secret, hash) = new_bearer();
        assert_eq!(secret.len(), BEARER_CHARS);
        assert_eq!(URL_SAFE_NO_PAD.decode(&secret).unwrap().len(), 32);
        assert_eq!(parse_bearer(&secret), Some(hash));
        assert_ne!(new_bearer().0, secret);
    }

    #[test]
    fn anything_but_a_well_formed_bearer_is_refused() {
        let (secret, _) = new_bearer();
        for bad in [
            secret[..42].to_owned(),         // too short
            format!("{secret}A"),            // too long
            format!("{}+", &secret[..42]),   // standard base64, not URL-safe
            format!("{}%41", &secret[..40]), // percent-encoded
            format!("{}=", &secret[..42]),   // padding
            "A".repeat(5000),
            String::new(),
        ] {
            assert_eq!(parse_bearer(&bad), None, "{bad}");
        }
        // 43 characters whose last one carries bits beyond the 32 bytes: another spelling of
        // some secret, refused so that every secret has exactly one.
        assert_eq!(parse_bearer(&format!("{}B", &secret[..42])), None);
    }

    fn cipher(byte: u8) -> TokenCipher {
        TokenCipher::new(&SecretKey::new([byte; 32]))
    }

    #[test]
    fn sealed_tokens_open_with_the_same_key_and_context() {
        let c = cipher(1);
        let sealed = c.seal("ya29.token", b"account-1");
        assert!(!sealed.ciphertext.windows(4).any(|w| w == b"ya29"));
        assert_eq!(c.open(&sealed, b"account-1").unwrap(), "ya29.token");
    }

    #[test]
    fn a_flipped_byte_is_refused() {
        let c = cipher(1);
        let mut sealed = c.seal("secret", b"a");
        sealed.ciphertext[0] ^= 1;
        assert_eq!(c.open(&sealed, b"a"), Err(CryptoError::Tampered));
    }

    #[test]
    fn a_ciphertext_moved_to_another_account_is_refused() {
        let c = cipher(1);
        let sealed = c.seal("secret", b"a");
        assert_eq!(c.open(&sealed, b"b"), Err(CryptoError::Tampered));
    }

    #[test]
    fn another_key_is_named_not_guessed() {
        let sealed = cipher(1).seal("secret", b"a");
        assert!(matches!(
            cipher(2).open(&sealed, b"a"),
            Err(CryptoError::UnknownKey(_))
        ));
    }

    #[test]
    fn during_a_rotation_the_previous_key_still_opens_and_new_seals_use_the_current_one() {
        let old = cipher(1).seal("secret", b"a");
        let rotating =
            TokenCipher::new(&SecretKey::new([2; 32])).with_previous(&SecretKey::new([1; 32]));
        assert_eq!(rotating.open(&old, b"a").unwrap(), "secret");
        assert_eq!(rotating.seal("secret", b"a").key_id, cipher(2).key_id());
        assert!(matches!(
            cipher(2).open(&old, b"a"),
            Err(CryptoError::UnknownKey(_))
        ));
    }

    #[test]
    fn each_seal_uses_a_fresh_nonce() {
        let c = cipher(1);
        assert_ne!(c.seal("x", b"a").nonce, c.seal("x", b"a").nonce);
    }
}
