//! The binary record codec for stored state: a two-byte header (record
//! kind, schema version) and then fields in a fixed order, each either
//! fixed-width big-endian or length-prefixed. There are no field tags: a
//! record's layout is fixed by its kind and version, so a reader branches
//! on the version [`Decoder::new`] returns, and a new version only appends
//! fields or changes the layout under a new number.
//!
//! Wire form of each field:
//!
//! | writer | bytes |
//! |---|---|
//! | `u8`, `u16`, `u32`, `u64`, `i64` | big-endian, fixed width (`i64` two's complement) |
//! | `bool` | one byte, `0` or `1` |
//! | `str`, `bytes` | `u32` length, then the bytes (UTF-8 for `str`), at most [`MAX_LEN`] |
//! | `opt_str`, `opt_u64` | `0` for none, or `1` then the value |
//! | `list_str` | `u32` count, at most [`MAX_ITEMS`], then each `str` |
//!
//! Decoding is total: any byte string yields values or a [`CodecError`]
//! with the byte offset, never a panic, and never allocates more than the
//! input's size. This codec does not checksum: the file store verifies
//! its pages itself.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

#[cfg(test)]
mod tests;

/// Why a record could not be encoded or decoded. `offset` is the byte
/// position of the field in the record; `field` names the reader or writer
/// (`"str"`, `"u64"`, …).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// A `bool` or option marker byte that is neither `0` nor `1`.
    #[error("record: {field} at byte {offset}: invalid marker byte {tag}")]
    InvalidTag {
        /// The reader.
        field: &'static str,
        /// Where the marker is.
        offset: usize,
        /// The byte found.
        tag: u8,
    },
    /// A `str` whose bytes are not UTF-8.
    #[error("record: {field} at byte {offset}: not utf-8")]
    InvalidUtf8 {
        /// The reader.
        field: &'static str,
        /// Where the length prefix is.
        offset: usize,
    },
    /// A string, byte string or list over its limit ([`MAX_LEN`],
    /// [`MAX_ITEMS`]), refused on both encode and decode.
    #[error("record: {field} at byte {offset}: length {len} over the limit of {max}")]
    TooLong {
        /// The reader or writer.
        field: &'static str,
        /// Where the length prefix is (or would be).
        offset: usize,
        /// The length found or asked for.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// Bytes left after the last field ([`Decoder::end`]).
    #[error("record: {count} trailing bytes at byte {offset}")]
    TrailingBytes {
        /// Where the trailing bytes start.
        offset: usize,
        /// How many there are.
        count: usize,
    },
    /// The record ends inside a field (or inside the header).
    #[error("record: {field} at byte {offset}: truncated")]
    Truncated {
        /// The reader.
        field: &'static str,
        /// Where the field starts.
        offset: usize,
    },
    /// The header names another kind of record.
    #[error("record: kind {found}, expected {expected}")]
    WrongKind {
        /// The kind the caller asked for.
        expected: u8,
        /// The kind in the header.
        found: u8,
    },
}

/// Writes one record. Fixed-width writers cannot fail; writers of
/// variable-length values refuse values over the limits.
#[derive(Clone, Debug)]
pub struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    /// Starts a record of `record_kind` in schema `version`.
    pub fn new(record_kind: u8, version: u8) -> Self {
        Self {
            buf: vec![record_kind, version],
        }
    }

    /// Writes a `u8`.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    /// Writes a big-endian `u16`.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Writes a big-endian `u32`.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Writes a big-endian `u64`.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Writes a big-endian two's-complement `i64`.
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Writes a `bool` as `0` or `1`.
    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.buf.push(u8::from(v));
        self
    }

    /// Writes a length-prefixed UTF-8 string.
    ///
    /// # Errors
    /// [`CodecError::TooLong`] over [`MAX_LEN`] bytes; nothing is written.
    pub fn str(&mut self, v: &str) -> Result<&mut Self, CodecError> {
        self.prefixed("str", v.as_bytes())
    }

    /// Writes a length-prefixed byte string.
    ///
    /// # Errors
    /// [`CodecError::TooLong`] over [`MAX_LEN`] bytes; nothing is written.
    pub fn bytes(&mut self, v: &[u8]) -> Result<&mut Self, CodecError> {
        self.prefixed("bytes", v)
    }

    /// Writes an optional string.
    ///
    /// # Errors
    /// [`CodecError::TooLong`] over [`MAX_LEN`] bytes; nothing is written.
    pub fn opt_str(&mut self, v: Option<&str>) -> Result<&mut Self, CodecError> {
        match v {
            None => Ok(self.u8(0)),
            Some(s) => {
                check_len("opt_str", self.buf.len(), s.len(), MAX_LEN)?;
                self.u8(1).str(s)
            }
        }
    }

    /// Writes an optional `u64`.
    pub fn opt_u64(&mut self, v: Option<u64>) -> &mut Self {
        match v {
            None => self.u8(0),
            Some(n) => self.u8(1).u64(n),
        }
    }

    /// Writes a counted list of strings.
    ///
    /// # Errors
    /// [`CodecError::TooLong`] for more than [`MAX_ITEMS`] items or an item
    /// over [`MAX_LEN`] bytes; nothing is written.
    pub fn list_str<S: AsRef<str>>(&mut self, items: &[S]) -> Result<&mut Self, CodecError> {
        let at = self.buf.len();
        check_len("list_str", at, items.len(), MAX_ITEMS)?;
        for item in items {
            check_len("list_str", at, item.as_ref().len(), MAX_LEN)?;
        }
        self.len_prefix(items.len());
        for item in items {
            self.len_prefix(item.as_ref().len());
            self.buf.extend_from_slice(item.as_ref().as_bytes());
        }
        Ok(self)
    }

    /// The encoded record.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }

    fn prefixed(&mut self, field: &'static str, v: &[u8]) -> Result<&mut Self, CodecError> {
        check_len(field, self.buf.len(), v.len(), MAX_LEN)?;
        self.len_prefix(v.len());
        self.buf.extend_from_slice(v);
        Ok(self)
    }

    /// Writes a length the caller has checked against a limit (both limits
    /// fit a `u32`).
    fn len_prefix(&mut self, len: usize) {
        self.u32(u32::try_from(len).unwrap_or(u32::MAX));
    }
}

/// Reads one record, field by field, in the order it was written.
#[derive(Clone, Debug)]
pub struct Decoder<'a> {
    rest: &'a [u8],
    offset: usize,
}

impl<'a> Decoder<'a> {
    /// Reads the header of `bytes`, which must be a record of
    /// `expected_kind`; returns the decoder and the record's version.
    ///
    /// # Errors
    /// [`CodecError::Truncated`] without a full header,
    /// [`CodecError::WrongKind`] for another kind.
    pub fn new(bytes: &'a [u8], expected_kind: u8) -> Result<(Self, u8), CodecError> {
        let mut dec = Self {
            rest: bytes,
            offset: 0,
        };
        let [kind, version] = dec.array::<2>("header")?;
        if kind != expected_kind {
            return Err(CodecError::WrongKind {
                expected: expected_kind,
                found: kind,
            });
        }
        Ok((dec, version))
    }

    /// Reads a `u8`.
    ///
    /// # Errors
    /// [`CodecError::Truncated`].
    pub fn u8(&mut self) -> Result<u8, CodecError> {
        let [b] = self.array::<1>("u8")?;
        Ok(b)
    }

    /// Reads a big-endian `u16`.
    ///
    /// # Errors
    /// [`CodecError::Truncated`].
    pub fn u16(&mut self) -> Result<u16, CodecError> {
        self.array("u16").map(u16::from_be_bytes)
    }

    /// Reads a big-endian `u32`.
    ///
    /// # Errors
    /// [`CodecError::Truncated`].
    pub fn u32(&mut self) -> Result<u32, CodecError> {
        self.array("u32").map(u32::from_be_bytes)
    }

    /// Reads a big-endian `u64`.
    ///
    /// # Errors
    /// [`CodecError::Truncated`].
    pub fn u64(&mut self) -> Result<u64, CodecError> {
        self.array("u64").map(u64::from_be_bytes)
    }

    /// Reads a big-endian two's-complement `i64`.
    ///
    /// # Errors
    /// [`CodecError::Truncated`].
    pub fn i64(&mut self) -> Result<i64, CodecError> {
        self.array("i64").map(i64::from_be_bytes)
    }

    /// Reads a `bool`.
    ///
    /// # Errors
    /// [`CodecError::Truncated`], [`CodecError::InvalidTag`] for a byte
    /// other than `0` or `1`.
    pub fn bool(&mut self) -> Result<bool, CodecError> {
        self.marker("bool")
    }

    /// Reads a length-prefixed UTF-8 string.
    ///
    /// # Errors
    /// [`CodecError::Truncated`], [`CodecError::TooLong`],
    /// [`CodecError::InvalidUtf8`].
    pub fn str(&mut self) -> Result<&'a str, CodecError> {
        self.text("str")
    }

    /// Reads a length-prefixed byte string.
    ///
    /// # Errors
    /// [`CodecError::Truncated`], [`CodecError::TooLong`].
    pub fn bytes(&mut self) -> Result<&'a [u8], CodecError> {
        self.prefixed("bytes")
    }

    /// Reads an optional string.
    ///
    /// # Errors
    /// As [`Decoder::str`], and [`CodecError::InvalidTag`] for a bad
    /// marker.
    pub fn opt_str(&mut self) -> Result<Option<&'a str>, CodecError> {
        if self.marker("opt_str")? {
            self.text("opt_str").map(Some)
        } else {
            Ok(None)
        }
    }

    /// Reads an optional `u64`.
    ///
    /// # Errors
    /// [`CodecError::Truncated`], [`CodecError::InvalidTag`] for a bad
    /// marker.
    pub fn opt_u64(&mut self) -> Result<Option<u64>, CodecError> {
        if self.marker("opt_u64")? {
            self.array("opt_u64").map(u64::from_be_bytes).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Reads a counted list of strings.
    ///
    /// # Errors
    /// As [`Decoder::str`], and [`CodecError::TooLong`] for more than
    /// [`MAX_ITEMS`] items.
    pub fn list_str(&mut self) -> Result<Vec<&'a str>, CodecError> {
        let count = self.len("list_str", MAX_ITEMS)?;
        // Each item takes at least its 4-byte prefix, so a count the
        // input cannot hold fails on the way instead of allocating.
        let mut items = Vec::with_capacity(count.min(self.rest.len()));
        for _ in 0..count {
            items.push(self.text("list_str")?);
        }
        Ok(items)
    }

    /// Checks that every byte was read.
    ///
    /// # Errors
    /// [`CodecError::TrailingBytes`].
    pub fn end(self) -> Result<(), CodecError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(CodecError::TrailingBytes {
                offset: self.offset,
                count: self.rest.len(),
            })
        }
    }

    fn take(&mut self, field: &'static str, at: usize, n: usize) -> Result<&'a [u8], CodecError> {
        let (head, tail) = self
            .rest
            .split_at_checked(n)
            .ok_or(CodecError::Truncated { field, offset: at })?;
        self.rest = tail;
        self.offset = self.offset.saturating_add(n);
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], CodecError> {
        let at = self.offset;
        let bytes = self.take(field, at, N)?;
        <[u8; N]>::try_from(bytes).map_err(|_| CodecError::Truncated { field, offset: at })
    }

    fn marker(&mut self, field: &'static str) -> Result<bool, CodecError> {
        let at = self.offset;
        match self.array::<1>(field)? {
            [0] => Ok(false),
            [1] => Ok(true),
            [tag] => Err(CodecError::InvalidTag {
                field,
                offset: at,
                tag,
            }),
        }
    }

    /// Reads a `u32` length prefix and checks it against `max`.
    fn len(&mut self, field: &'static str, max: usize) -> Result<usize, CodecError> {
        let at = self.offset;
        let len = u32::from_be_bytes(self.array(field)?);
        match usize::try_from(len) {
            Ok(n) if n <= max => Ok(n),
            _ => Err(CodecError::TooLong {
                field,
                offset: at,
                len: u64::from(len),
                max,
            }),
        }
    }

    fn prefixed(&mut self, field: &'static str) -> Result<&'a [u8], CodecError> {
        let at = self.offset;
        let n = self.len(field, MAX_LEN)?;
        self.take(field, at, n)
    }

    fn text(&mut self, field: &'static str) -> Result<&'a str, CodecError> {
        let at = self.offset;
        let bytes = self.prefixed(field)?;
        std::str::from_utf8(bytes).map_err(|_| CodecError::InvalidUtf8 { field, offset: at })
    }
}

fn check_len(field: &'static str, at: usize, len: usize, max: usize) -> Result<(), CodecError> {
    if len <= max {
        Ok(())
    } else {
        Err(CodecError::TooLong {
            field,
            offset: at,
            len: u64::try_from(len).unwrap_or(u64::MAX),
            max,
        })
    }
}

/// The longest `str` or `bytes` value, in bytes (64 KiB).
pub const MAX_LEN: usize = 64 * 1024;

/// The most items in a `list_str`.
pub const MAX_ITEMS: usize = 4096;
