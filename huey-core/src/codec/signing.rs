//! Signed messages over any codec (Huey's `SignedSerializer`): an HMAC-SHA256 trailer over
//! the stored bytes, checked before anything else reads them.

use std::borrow::Cow;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::Codec;
use crate::task::message::{DecodeError, Message, SignatureError};

type HmacSha256 = Hmac<Sha256>;

/// Length of the signature trailer: `:` and 64 hex digits.
const TRAILER: usize = 65;

/// A signing key, derived once from the secret and salt.
#[derive(Clone)]
pub(crate) struct Signer(HmacSha256);

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(<redacted>)")
    }
}

impl Signer {
    pub(crate) fn new(secret: &[u8], salt: &[u8]) -> Signer {
        let key = keyed(salt).chain_update(secret).finalize().into_bytes();
        Signer(keyed(&key))
    }

    fn tag(&self, body: &[u8]) -> Vec<u8> {
        self.0
            .clone()
            .chain_update(body)
            .finalize()
            .into_bytes()
            .to_vec()
    }

    /// Constant-time comparison of the tag over `body` with `tag`.
    fn verify(&self, body: &[u8], tag: &[u8]) -> bool {
        self.0.clone().chain_update(body).verify_slice(tag).is_ok()
    }
}

fn keyed(key: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length (longer keys are hashed first), so this cannot fail.
    <HmacSha256 as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"))
}

/// A codec whose messages carry a signature: `:` and the hex HMAC-SHA256 of the inner codec's
/// bytes. With a signer, a message whose signature is missing or wrong does not decode
/// ([`DecodeError::Signature`]); without one, a trailer is dropped unchecked, so a queue can
/// move to signing one process at a time. Values are never signed (see the module docs).
#[derive(Debug, Clone)]
pub struct Signed<C> {
    inner: C,
    signer: Option<Signer>,
}

impl<C: Codec> Signed<C> {
    /// `inner`, its messages signed with `secret` and `salt` (Huey's salt is `huey`).
    pub fn new(inner: C, secret: &[u8], salt: &[u8]) -> Signed<C> {
        Signed {
            inner,
            signer: Some(Signer::new(secret, salt)),
        }
    }

    /// `inner`, reading signed messages unchecked and writing unsigned ones.
    pub fn unsigned(inner: C) -> Signed<C> {
        Signed {
            inner,
            signer: None,
        }
    }

    /// The bytes of a stored message without its trailer, the signature checked when this
    /// codec has a signer.
    fn open<'a>(&self, bytes: &'a [u8]) -> Result<&'a [u8], DecodeError> {
        match &self.signer {
            Some(signer) => {
                let (body, tag) =
                    split_trailer(bytes).ok_or(DecodeError::Signature(SignatureError::Missing))?;
                if !signer.verify(body, &tag) {
                    return Err(DecodeError::Signature(SignatureError::Mismatch));
                }
                Ok(body)
            }
            None => Ok(split_trailer(bytes).map_or(bytes, |(body, _)| body)),
        }
    }
}

impl<C: Codec> Codec for Signed<C> {
    fn encode_message(&self, message: &Message) -> Vec<u8> {
        let mut body = self.inner.encode_message(message);
        if let Some(signer) = &self.signer {
            let tag = signer.tag(&body);
            body.reserve(TRAILER);
            body.push(b':');
            push_hex(&mut body, &tag);
        }
        body
    }

    fn decode_message(&self, bytes: &[u8]) -> Result<Message, DecodeError> {
        self.inner.decode_message(self.open(bytes)?)
    }

    fn encode_value(&self, json: Vec<u8>) -> Vec<u8> {
        self.inner.encode_value(json)
    }

    fn decode_value<'a>(&self, bytes: &'a [u8]) -> Result<Cow<'a, [u8]>, DecodeError> {
        self.inner.decode_value(bytes)
    }

    fn describe(&self) -> String {
        let inner = self.inner.describe();
        match self.signer {
            Some(_) => format!("{inner}, signed with HMAC-SHA256; unsigned messages are refused"),
            None => format!("{inner}, unsigned"),
        }
    }
}

/// Splits `body:hex64` into the body and the 32-byte tag; `None` when there is no trailer.
fn split_trailer(bytes: &[u8]) -> Option<(&[u8], Vec<u8>)> {
    let at = bytes.len().checked_sub(TRAILER)?;
    let (body, trailer) = bytes.split_at(at);
    let hex = trailer.strip_prefix(b":")?;
    let tag = hex
        .chunks_exact(2)
        .map(|pair| Some((nibble(pair[0])? << 4) | nibble(pair[1])?))
        .collect::<Option<Vec<u8>>>()?;
    Some((body, tag))
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 0x0f)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{Compressed, Compression, JsonCodec};

    fn message() -> Message {
        Message::decode(br#"{"v":1,"id":"abc","name":"app::add","args":[1,2]}"#).unwrap()
    }

    fn signed(compression: Compression) -> Signed<Compressed<JsonCodec>> {
        Signed::new(Compressed::new(JsonCodec, compression), b"secret", b"huey")
    }

    #[test]
    fn trailer_is_colon_and_64_hex_digits() {
        let json = message().encode();
        let sealed = signed(Compression::None).encode_message(&message());
        assert_eq!(sealed.len(), json.len() + TRAILER);
        assert!(sealed.starts_with(&json));
        assert_eq!(sealed[json.len()], b':');
        assert!(sealed[json.len() + 1..].iter().all(u8::is_ascii_hexdigit));
    }

    #[test]
    fn hmac_matches_a_known_vector() {
        // RFC 4231 test case 2 pins the HMAC-SHA256 construction.
        let mac = keyed(b"Jefe")
            .chain_update(b"what do ya want for nothing?")
            .finalize()
            .into_bytes();
        let mut hex = Vec::new();
        push_hex(&mut hex, &mac);
        assert_eq!(
            hex,
            b"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn signature_is_over_the_compressed_body() {
        let codec = signed(Compression::Gzip { level: 6 });
        let sealed = codec.encode_message(&message());
        assert_eq!(&sealed[..2], &[0x1f, 0x8b]);
        let body = &sealed[..sealed.len() - TRAILER];
        let tag = split_trailer(&sealed).unwrap().1;
        assert!(Signer::new(b"secret", b"huey").verify(body, &tag));
        assert_eq!(codec.decode_message(&sealed).unwrap().id, "abc");
    }

    #[test]
    fn salt_changes_the_key() {
        let a = Signer::new(b"secret", b"huey");
        let b = Signer::new(b"secret", b"other");
        let json = message().encode();
        assert_ne!(a.tag(&json), b.tag(&json));
    }

    #[test]
    fn truncated_or_non_hex_trailers_are_missing_signatures() {
        assert!(split_trailer(b"short").is_none());
        let mut bad = message().encode();
        bad.push(b':');
        bad.extend(std::iter::repeat_n(b'z', 64));
        assert!(split_trailer(&bad).is_none());
    }

    #[test]
    fn values_are_not_signed() {
        let codec = signed(Compression::None);
        assert_eq!(codec.encode_value(b"[1]".to_vec()), b"[1]");
    }
}
