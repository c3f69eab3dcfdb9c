//! Compression over any codec (Huey's `compression=True`, `use_zlib`): gzip or zlib streams
//! that any gzip or zlib tool reads. A reader accepts compressed and plain bytes alike.

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::Read;

use flate2::{Compress, FlushCompress, Status};

use super::Codec;
use crate::task::message::{DecodeError, Message};

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

/// A codec whose messages and values are compressed as `compression` says. Whatever its own
/// setting, it reads compressed and plain bytes alike, by their magic bytes (gzip `1f 8b`;
/// zlib `78` with a valid header checksum), so producers and consumers can switch one at a
/// time; with compression on it logs a warning for each plain value it meets.
///
/// ```
/// use huey_core::codec::{Codec, Compressed, Compression, JsonCodec};
///
/// let gzip = Compressed::new(JsonCodec, Compression::Gzip { level: 6 });
/// let stored = gzip.encode_value(b"[1,2,3]".to_vec());
/// assert_eq!(&stored[..2], &[0x1f, 0x8b]);
/// assert_eq!(gzip.decode_value(&stored)?.as_ref(), b"[1,2,3]");
/// # Ok::<(), huey_core::message::DecodeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Compressed<C> {
    inner: C,
    compression: Compression,
}

impl<C: Codec> Compressed<C> {
    /// `inner`, compressed as `compression` says.
    pub fn new(inner: C, compression: Compression) -> Compressed<C> {
        Compressed { inner, compression }
    }

    fn decompress<'a>(&self, body: &'a [u8]) -> Result<Cow<'a, [u8]>, DecodeError> {
        // The `bufread` decoders read the slice in place (no 32 KiB copy buffer per call). The
        // output is sized only once the bytes are known to be compressed: a plain 50 MB message
        // must not cost a 200 MB buffer.
        let inflated = || Vec::with_capacity(body.len() * 4);
        let mut out;
        let read = match body {
            [0x1f, 0x8b, ..] => {
                out = inflated();
                flate2::bufread::GzDecoder::new(body).read_to_end(&mut out)
            }
            [cmf, flg, ..]
                if *cmf == 0x78 && ((u16::from(*cmf) << 8) | u16::from(*flg)) % 31 == 0 =>
            {
                out = inflated();
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

impl<C: Codec> Codec for Compressed<C> {
    fn encode_message(&self, message: &Message) -> Vec<u8> {
        compress(self.compression, self.inner.encode_message(message))
    }

    fn decode_message(&self, bytes: &[u8]) -> Result<Message, DecodeError> {
        self.inner.decode_message(&self.decompress(bytes)?)
    }

    fn encode_value(&self, json: Vec<u8>) -> Vec<u8> {
        compress(self.compression, self.inner.encode_value(json))
    }

    fn decode_value<'a>(&self, bytes: &'a [u8]) -> Result<Cow<'a, [u8]>, DecodeError> {
        match self.decompress(bytes)? {
            Cow::Borrowed(plain) => self.inner.decode_value(plain),
            Cow::Owned(inflated) => {
                Ok(Cow::Owned(self.inner.decode_value(&inflated)?.into_owned()))
            }
        }
    }

    fn describe(&self) -> String {
        let inner = self.inner.describe();
        match self.compression {
            Compression::None => inner,
            Compression::Gzip { level } => format!("gzip-compressed {inner} (level {level})"),
            Compression::Zlib { level } => format!("zlib-compressed {inner} (level {level})"),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &[u8] = br#"{"v":1,"id":"abc","name":"app::add","args":[1,2]}"#;

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
}
