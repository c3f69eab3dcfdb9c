//! Serializer options: compression of stored messages and results, and signed messages.
//!
//! Turned on with [`HueyBuilder::compression`](crate::HueyBuilder::compression) and
//! [`HueyBuilder::signing_secret`](crate::HueyBuilder::signing_secret); every path that stores
//! a message or reads one back (enqueue, bulk enqueue, the schedule, retries, periodic tasks,
//! the worker, [`Huey::pending`](crate::Huey::pending) and
//! [`Huey::scheduled`](crate::Huey::scheduled)) goes through
//! [`Huey::encode_message`](crate::Huey::encode_message) and
//! [`Huey::decode_message`](crate::Huey::decode_message), so none bypasses the signature.
//!
//! # Wire format
//!
//! A stored message is built in three layers, innermost first:
//!
//! 1. the JSON envelope ([`Message::encode`](crate::task::message::Message::encode));
//! 2. with compression, that JSON gzip- or zlib-compressed (RFC 1952 / RFC 1950 streams, so
//!    any gzip or zlib tool reads them);
//! 3. with a signing secret, a 65-byte trailer: `:` and the lowercase hex of
//!    HMAC-SHA256(*key*, bytes of layer 2), where *key* = HMAC-SHA256(key = salt,
//!    message = secret) (HKDF's extract step; the salt defaults to `huey`).
//!
//! ```text
//! stored = body [ ":" hex(HMAC-SHA256(key, body)) ]     body = json | gzip(json) | zlib(json)
//! ```
//!
//! Huey puts the signature *inside* the compression. Here it goes outside, over the compressed
//! bytes, deliberately: a consumer checks the signature before it runs a decompressor on the
//! bytes, so forged input never reaches zlib (no decompression bombs, no parser exposure), and
//! a forged message is rejected without the cost of inflating it. The two layouts are
//! equally strong for authenticity; huey-rs is not wire-compatible with Huey's pickle anyway.
//!
//! # Reading
//!
//! A reader accepts compressed and uncompressed bodies alike, whatever its own setting, by their
//! magic bytes (gzip `1f 8b`; zlib `78` with a valid header checksum): a JSON envelope starts
//! with `{`, so the test cannot mistake one for the other. Mixed traffic during a roll-out is
//! therefore read, as in Huey; a reader that compresses logs a warning for each uncompressed
//! message it meets. A reader with a signing secret rejects a message whose signature is
//! missing or wrong ([`DecodeError::Signature`]); the
//! worker moves such a message to the dead-letter list, and it never runs.
//!
//! A reader *without* a secret reads signed messages too, ignoring the trailer (as Huey's plain
//! serializer does: its unpickler stops before the signature). It runs unsigned messages
//! anyway, so checking nothing costs it nothing, and this is what lets a queue move to signing
//! one process at a time: first every producer signs, then every consumer gets the secret and
//! from then on requires it. (The trailer cannot be mistaken for data: a JSON envelope ends
//! with `}`.)
//!
//! # Results
//!
//! Task results (and values stored with [`Huey::put`](crate::Huey::put)) are compressed with
//! the same setting, as in Huey: they are often the larger half of what a queue stores, and they
//! wait in storage until read. They are not signed: a signature protects consumers from running
//! work that nobody with the secret enqueued, while a result is only data handed back to the
//! caller's own type; whoever can write the result store can already delete or replace any
//! result. Revocation flags, periodic-tick claims and other bookkeeping stay plain JSON.

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::Read;

use flate2::{Compress, FlushCompress, Status};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::task::message::DecodeError;
pub use crate::task::message::SignatureError;

type HmacSha256 = Hmac<Sha256>;

/// Length of the signature trailer: `:` and 64 hex digits.
const TRAILER: usize = 65;

/// How stored messages and results are compressed (Huey's `compression`/`use_zlib`).
///
/// `level` runs from 0 (store only) to 9 (smallest); larger values count as 9. Huey's default
/// level is 6.
///
/// ```
/// use huey_core::{Compression, Huey};
///
/// let huey = Huey::builder("docs")
///     .compression(Compression::Zlib { level: 6 })
///     .build(huey_core::MemoryStorage::new());
/// # let _ = huey;
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// Stored as plain JSON (the default).
    #[default]
    None,
    /// gzip (RFC 1952).
    Gzip {
        /// 0-9.
        level: u32,
    },
    /// zlib (RFC 1950; Huey's `use_zlib=True`).
    Zlib {
        /// 0-9.
        level: u32,
    },
}

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

/// The codec every stored message and result goes through. See the module docs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Serializer {
    pub(crate) compression: Compression,
    pub(crate) signer: Option<Signer>,
}

impl Serializer {
    /// Compresses `json`, then signs it when `sign` and a secret is set.
    /// How messages are stored, for the consumer's banner (never the secret).
    pub(crate) fn describe(&self) -> String {
        let body = match self.compression {
            Compression::None => "JSON".to_owned(),
            Compression::Gzip { level } => format!("gzip-compressed JSON (level {level})"),
            Compression::Zlib { level } => format!("zlib-compressed JSON (level {level})"),
        };
        match self.signer {
            Some(_) => format!("{body}, signed with HMAC-SHA256; unsigned messages are refused"),
            None => format!("{body}, unsigned"),
        }
    }

    pub(crate) fn seal(&self, json: Vec<u8>, sign: bool) -> Vec<u8> {
        let mut body = compress(self.compression, json);
        if let Some(signer) = self.signer.as_ref().filter(|_| sign) {
            let tag = signer.tag(&body);
            body.reserve(TRAILER);
            body.push(b':');
            push_hex(&mut body, &tag);
        }
        body
    }

    /// Reads what [`seal`](Self::seal) wrote. For a `signed` kind of value (a message) the
    /// signature is checked when a secret is set, and a trailer is dropped unchecked when not
    /// (see the module docs); then the body is decompressed.
    pub(crate) fn open<'a>(
        &self,
        bytes: &'a [u8],
        signed: bool,
    ) -> Result<Cow<'a, [u8]>, DecodeError> {
        let body = match (&self.signer, signed) {
            (_, false) => bytes,
            (Some(signer), true) => {
                let (body, tag) =
                    split_trailer(bytes).ok_or(DecodeError::Signature(SignatureError::Missing))?;
                if !signer.verify(body, &tag) {
                    return Err(DecodeError::Signature(SignatureError::Mismatch));
                }
                body
            }
            (None, true) => split_trailer(bytes).map_or(bytes, |(body, _)| body),
        };
        self.decompress(body)
    }

    fn decompress<'a>(&self, body: &'a [u8]) -> Result<Cow<'a, [u8]>, DecodeError> {
        // The `bufread` decoders read the slice in place (no 32 KiB copy buffer per call).
        let mut out = Vec::with_capacity(body.len() * 4);
        let read = match body {
            [0x1f, 0x8b, ..] => flate2::bufread::GzDecoder::new(body).read_to_end(&mut out),
            [cmf, flg, ..]
                if *cmf == 0x78 && ((u16::from(*cmf) << 8) | u16::from(*flg)) % 31 == 0 =>
            {
                flate2::bufread::ZlibDecoder::new(body).read_to_end(&mut out)
            }
            _ => {
                if self.compression != Compression::None {
                    tracing::warn!(
                        "read an uncompressed value while compression is on (mixed traffic is accepted)"
                    );
                }
                return Ok(Cow::Borrowed(body));
            }
        };
        read.map_err(DecodeError::Decompress)?;
        Ok(Cow::Owned(out))
    }
}

fn compress(compression: Compression, json: Vec<u8>) -> Vec<u8> {
    let (level, zlib) = match compression {
        Compression::None => return json,
        Compression::Gzip { level } => (level.min(9), false),
        Compression::Zlib { level } => (level.min(9), true),
    };
    let mut out = Vec::with_capacity(json.len() / 2 + 64);
    if !zlib {
        // RFC 1952 header: deflate, no flags, no mtime, extra flags by level, OS unknown.
        let xfl = match level {
            9 => 2,
            0 | 1 => 4,
            _ => 0,
        };
        out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255]);
    }
    if deflate(level, zlib, &json, &mut out).is_err() {
        // Deflating into a Vec does not fail; should it ever, the plain JSON is still readable
        // by every reader (they accept uncompressed bodies), so fall back to it.
        return json;
    }
    if !zlib {
        let mut crc = flate2::Crc::new();
        crc.update(&json);
        out.extend_from_slice(&crc.sum().to_le_bytes());
        out.extend_from_slice(&crc.amount().to_le_bytes());
    }
    out
}

thread_local! {
    /// Deflate state by (level, zlib framing), reused: a fresh compressor allocates and clears
    /// a few hundred KiB, which costs far more than compressing a small message.
    static DEFLATERS: RefCell<Vec<((u32, bool), Compress)>> = const { RefCell::new(Vec::new()) };
}

/// Deflates `input` onto `out`, with zlib framing when `zlib`, raw otherwise.
fn deflate(
    level: u32,
    zlib: bool,
    input: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), flate2::CompressError> {
    DEFLATERS.with(|cell| {
        let mut cache = cell.borrow_mut();
        let at = match cache.iter().position(|(key, _)| *key == (level, zlib)) {
            Some(at) => at,
            None => {
                let fresh = Compress::new(flate2::Compression::new(level), zlib);
                cache.push(((level, zlib), fresh));
                cache.len() - 1
            }
        };
        let compressor = &mut cache[at].1;
        compressor.reset();
        loop {
            out.reserve(input.len() / 2 + 64);
            let consumed = usize::try_from(compressor.total_in()).unwrap_or(input.len());
            let rest = input.get(consumed..).unwrap_or_default();
            if compressor.compress_vec(rest, out, FlushCompress::Finish)? == Status::StreamEnd {
                return Ok(());
            }
        }
    })
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

    const JSON: &[u8] = br#"{"v":1,"id":"abc","name":"app::add","args":[1,2]}"#;

    fn signed(compression: Compression) -> Serializer {
        Serializer {
            compression,
            signer: Some(Signer::new(b"secret", b"huey")),
        }
    }

    #[test]
    fn trailer_is_colon_and_64_hex_digits() {
        let sealed = signed(Compression::None).seal(JSON.to_vec(), true);
        assert_eq!(sealed.len(), JSON.len() + TRAILER);
        assert!(sealed.starts_with(JSON));
        assert_eq!(sealed[JSON.len()], b':');
        assert!(sealed[JSON.len() + 1..].iter().all(u8::is_ascii_hexdigit));
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
        let s = signed(Compression::Gzip { level: 6 });
        let sealed = s.seal(JSON.to_vec(), true);
        assert_eq!(&sealed[..2], &[0x1f, 0x8b]);
        assert_eq!(s.open(&sealed, true).unwrap().as_ref(), JSON);
    }

    #[test]
    fn compressed_streams_are_standard_gzip_and_zlib() {
        // Small, compressible, and large incompressible inputs (the last takes several rounds
        // of the deflate loop); each compressed twice, so the reused state is exercised.
        let mut x: u32 = 1;
        let noise: Vec<u8> = (0..300_000)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (x >> 24) as u8
            })
            .collect();
        for input in [JSON.to_vec(), JSON.repeat(1000), noise] {
            for level in [0, 1, 6, 9] {
                for _ in 0..2 {
                    let gz = compress(Compression::Gzip { level }, input.clone());
                    let mut out = Vec::new();
                    flate2::read::GzDecoder::new(gz.as_slice())
                        .read_to_end(&mut out)
                        .unwrap();
                    assert_eq!(out, input);
                    let z = compress(Compression::Zlib { level }, input.clone());
                    out.clear();
                    flate2::read::ZlibDecoder::new(z.as_slice())
                        .read_to_end(&mut out)
                        .unwrap();
                    assert_eq!(out, input);
                }
            }
        }
    }

    #[test]
    fn salt_changes_the_key() {
        let a = Signer::new(b"secret", b"huey");
        let b = Signer::new(b"secret", b"other");
        assert_ne!(a.tag(JSON), b.tag(JSON));
    }

    #[test]
    fn truncated_or_non_hex_trailers_are_missing_signatures() {
        assert!(split_trailer(b"short").is_none());
        let mut bad = JSON.to_vec();
        bad.push(b':');
        bad.extend(std::iter::repeat_n(b'z', 64));
        assert!(split_trailer(&bad).is_none());
    }
}
