//! The binlog values most tables are made of, read straight into the values polling mode reads:
//! integers, DOUBLE/FLOAT, VARCHAR/VARBINARY/TEXT/BLOB, DECIMAL, DATETIME and TIMESTAMP.
//! mysql_common's general decoder (`BinlogValue`) allocates for each string and twice for each
//! DECIMAL (its digit groups, then its text); here a string is copied, and a DECIMAL's text
//! written, into a shared buffer ([`ValueArena`]), so a value costs a copy and a reference count. Every other column type,
//! and every column whose conversion needs the table's own facts (ENUM/SET members, BINARY
//! padding, MEDIUMINT, BIT), still goes through `BinlogValue` and `TableInfo::convert`.

use bytes::BytesMut;
use mysql_async::Value as MyValue;
use mysql_async::consts::ColumnType;
use mysql_common::binlog::misc::{
    datetime_from_packed, my_datetime_packed_from_binary, my_timestamp_from_binary,
};
use mysql_common::io::ParseBuf;

use crate::db::DbZone;
use crate::db::time::micros_from_datetime;
use crate::model::Value;
use crate::model::arena::ValueArena;
use crate::source::schema::ColumnKind;

/// A column read without mysql_common's general decoder, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FastColumn {
    /// TINYINT/SMALLINT/INT/BIGINT of `width` bytes, little-endian, into a Connect int (an
    /// unsigned value zero-extended, a BIGINT UNSIGNED wrapping, as polling mode reads it).
    Int {
        width: u8,
        unsigned: bool,
    },
    /// DOUBLE (8 bytes) or FLOAT (4 bytes), into a Connect double or float.
    Double,
    Float,
    /// VARCHAR/VARBINARY/TEXT/BLOB: a little-endian length of `len_bytes` bytes, then the bytes.
    Text {
        len_bytes: u8,
    },
    Bytes {
        len_bytes: u8,
    },
    /// DECIMAL(precision, scale) in MySQL's binary format, into its text.
    Decimal {
        precision: u8,
        scale: u8,
    },
    /// DATETIME(fsp) (`DATETIME2`: packed fields, then the fraction), a wall-clock time in
    /// `db.timezone`, into an instant.
    DateTime {
        fsp: u8,
    },
    /// TIMESTAMP(fsp) (`TIMESTAMP2`: big-endian epoch seconds, then the fraction), an instant.
    Timestamp {
        fsp: u8,
    },
}

/// Why [`FastColumn::read`] gave no value.
#[derive(Debug, PartialEq)]
pub(super) enum Unread {
    /// The row ends inside the value.
    Short,
    /// A zero date (`0000-00-00`, or a zero month or day), as mysql_common reads it: the
    /// general conversion decides (NULL, or an error for a NOT NULL column).
    ZeroDate(MyValue),
}

impl From<std::io::Error> for Unread {
    fn from(_: std::io::Error) -> Unread {
        Unread::Short
    }
}

/// Digits per group of MySQL's binary DECIMAL, and the bytes a group of n digits takes.
const DIGITS_PER_GROUP: usize = 9;
const GROUP_BYTES: [usize; DIGITS_PER_GROUP + 1] = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];
/// MySQL's largest DECIMAL precision and scale.
const MAX_PRECISION: u8 = 65;
const MAX_SCALE: u8 = 30;

impl FastColumn {
    /// How a column of binlog type `ty` (with its table-map metadata) is read into a column
    /// of `kind`, when that needs nothing but the binlog; `None`: the general decoder.
    pub(super) fn choose(
        ty: ColumnType,
        meta: &[u8],
        unsigned: bool,
        kind: ColumnKind,
    ) -> Option<FastColumn> {
        use ColumnType::*;
        let string = |len_bytes: u8| match kind {
            ColumnKind::Text => Some(FastColumn::Text { len_bytes }),
            ColumnKind::Bytes => Some(FastColumn::Bytes { len_bytes }),
            _ => None,
        };
        match (ty, kind) {
            (MYSQL_TYPE_TINY, ColumnKind::Int) => Some(FastColumn::Int { width: 1, unsigned }),
            (MYSQL_TYPE_SHORT, ColumnKind::Int) => Some(FastColumn::Int { width: 2, unsigned }),
            (MYSQL_TYPE_LONG, ColumnKind::Int) => Some(FastColumn::Int { width: 4, unsigned }),
            (MYSQL_TYPE_LONGLONG, ColumnKind::Int) => Some(FastColumn::Int { width: 8, unsigned }),
            (MYSQL_TYPE_DOUBLE, ColumnKind::Double | ColumnKind::Float) => Some(FastColumn::Double),
            (MYSQL_TYPE_FLOAT, ColumnKind::Double | ColumnKind::Float) => Some(FastColumn::Float),
            (MYSQL_TYPE_VARCHAR | MYSQL_TYPE_VAR_STRING, _) => {
                let max = u16::from_le_bytes([*meta.first()?, *meta.get(1)?]);
                string(if max < 256 { 1 } else { 2 })
            }
            (
                MYSQL_TYPE_TINY_BLOB
                | MYSQL_TYPE_BLOB
                | MYSQL_TYPE_MEDIUM_BLOB
                | MYSQL_TYPE_LONG_BLOB,
                _,
            ) => match *meta.first()? {
                len_bytes @ 1..=4 => string(len_bytes),
                _ => None,
            },
            // At most 6 fractional digits; other metadata is left to the general decoder.
            (MYSQL_TYPE_DATETIME2, ColumnKind::DateTime) => meta
                .first()
                .filter(|&&fsp| fsp <= 6)
                .map(|&fsp| FastColumn::DateTime { fsp }),
            (MYSQL_TYPE_TIMESTAMP2, ColumnKind::Timestamp) => meta
                .first()
                .filter(|&&fsp| fsp <= 6)
                .map(|&fsp| FastColumn::Timestamp { fsp }),
            (MYSQL_TYPE_NEWDECIMAL, ColumnKind::Decimal) => {
                let (precision, scale) = (*meta.first()?, *meta.get(1)?);
                ((1..=MAX_PRECISION).contains(&precision)
                    && scale <= MAX_SCALE
                    && scale <= precision)
                    .then_some(FastColumn::Decimal { precision, scale })
            }
            _ => None,
        }
    }

    /// Reads one value (a DATETIME in `zone`).
    pub(super) fn read(
        self,
        buf: &mut ParseBuf<'_>,
        arena: &mut ValueArena,
        zone: DbZone,
    ) -> Result<Value, Unread> {
        let mut eat = |n: usize| buf.checked_eat(n).ok_or(Unread::Short);
        Ok(match self {
            FastColumn::Int { width, unsigned } => {
                let bytes = eat(usize::from(width))?;
                let mut le = [0u8; 8];
                le[..bytes.len()].copy_from_slice(bytes);
                let raw = u64::from_le_bytes(le);
                let bits = 64 - 8 * u32::from(width);
                Value::Int(match unsigned {
                    true => raw as i64,
                    // Sign-extend from the value's width.
                    false => ((raw << bits) as i64) >> bits,
                })
            }
            FastColumn::Double => Value::Float(f64::from_le_bytes(fixed(eat(8)?))),
            FastColumn::Float => Value::Float(f64::from(f32::from_le_bytes(fixed(eat(4)?)))),
            FastColumn::Text { len_bytes } => {
                let bytes = string(buf, len_bytes).ok_or(Unread::Short)?;
                Value::Text(match std::str::from_utf8(bytes) {
                    Ok(_) => arena.put(bytes),
                    // As polling mode's conversion: invalid sequences become U+FFFD.
                    Err(_) => arena.put(String::from_utf8_lossy(bytes).as_bytes()),
                })
            }
            FastColumn::Bytes { len_bytes } => {
                Value::Bytes(arena.put(string(buf, len_bytes).ok_or(Unread::Short)?))
            }
            FastColumn::Decimal { precision, scale } => {
                let (precision, scale) = (usize::from(precision), usize::from(scale));
                let text = arena.write(MAX_DECIMAL_TEXT, |out| {
                    read_decimal(buf, precision, scale, out)
                });
                Value::Decimal(text.ok_or(Unread::Short)?)
            }
            FastColumn::DateTime { fsp } => {
                let bytes = eat(datetime_bytes(fsp))?;
                let packed = my_datetime_packed_from_binary(bytes, u32::from(fsp))?;
                match datetime_from_packed(packed) {
                    MyValue::Date(y, m, d, h, mi, s, us) if y != 0 && m != 0 && d != 0 => {
                        Value::Timestamp(
                            zone.wall_to_instant(micros_from_datetime(y, m, d, h, mi, s, us)),
                        )
                    }
                    zero => return Err(Unread::ZeroDate(zero)),
                }
            }
            FastColumn::Timestamp { fsp } => {
                let bytes = eat(4 + fraction_bytes(fsp))?;
                let (seconds, micros) = my_timestamp_from_binary(bytes, fsp)?;
                // Seconds are unsigned (to 2106); mysql_common reads them as i32.
                let micros = i64::from(seconds as u32) * 1_000_000 + i64::from(micros);
                if micros == 0 {
                    // MySQL's zero TIMESTAMP.
                    return Err(Unread::ZeroDate(MyValue::Date(0, 0, 0, 0, 0, 0, 0)));
                }
                Value::Timestamp(micros)
            }
        })
    }

    /// Steps over one value (a row image that is not converted); `None` when the row is too
    /// short.
    pub(super) fn skip(self, buf: &mut ParseBuf<'_>) -> Option<()> {
        let n = match self {
            FastColumn::Int { width, .. } => usize::from(width),
            FastColumn::Double => 8,
            FastColumn::Float => 4,
            FastColumn::Text { len_bytes } | FastColumn::Bytes { len_bytes } => {
                return string(buf, len_bytes).map(drop);
            }
            FastColumn::Decimal { precision, scale } => {
                decimal_bytes(usize::from(precision), usize::from(scale))
            }
            FastColumn::DateTime { fsp } => datetime_bytes(fsp),
            FastColumn::Timestamp { fsp } => 4 + fraction_bytes(fsp),
        };
        buf.checked_eat(n).map(drop)
    }
}

/// The bytes of a DATETIME2 of `fsp` fractional digits: 5, then the fraction.
fn datetime_bytes(fsp: u8) -> usize {
    5 + fraction_bytes(fsp)
}

/// The bytes of a DATETIME2/TIMESTAMP2/TIME2 fraction of `fsp` digits.
fn fraction_bytes(fsp: u8) -> usize {
    usize::from(fsp).div_ceil(2)
}

/// A fixed-size value's bytes (`bytes` has the size: it came from `checked_eat(N)`).
fn fixed<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(bytes);
    out
}

/// A string's bytes after its little-endian length of `len_bytes` bytes.
fn string<'a>(buf: &mut ParseBuf<'a>, len_bytes: u8) -> Option<&'a [u8]> {
    let len = buf.checked_eat(usize::from(len_bytes))?;
    let mut le = [0u8; 8];
    le[..len.len()].copy_from_slice(len);
    buf.checked_eat(usize::try_from(u64::from_le_bytes(le)).ok()?)
}

/// The bytes of a DECIMAL(precision, scale) in MySQL's binary format.
fn decimal_bytes(precision: usize, scale: usize) -> usize {
    let side =
        |digits: usize| digits / DIGITS_PER_GROUP * 4 + GROUP_BYTES[digits % DIGITS_PER_GROUP];
    side(precision - scale) + side(scale)
}

/// The longest DECIMAL text: 65 digits, a sign, a point and a `0` before it.
const MAX_DECIMAL_TEXT: usize = 68;

/// `value` in decimal, left-padded with zeros to `width` digits (`width` 0: no padding).
fn push_digits(out: &mut BytesMut, value: u32, width: usize) {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(value).as_bytes();
    out.resize(out.len() + width.saturating_sub(digits.len()), b'0');
    out.extend_from_slice(digits);
}

/// Reads a DECIMAL(precision, scale) in MySQL's binary format (groups of nine digits, big-endian,
/// the sign in the top bit and every byte inverted for a negative value) and writes its text as
/// the server's text protocol and mysql_common give it: no leading zeros, `0` before the point
/// when there is no integer part, all `scale` digits after it, `-` for a negative value.
/// `precision` ≤ 65, `scale` ≤ 30 and ≤ `precision`.
fn read_decimal(
    buf: &mut ParseBuf<'_>,
    precision: usize,
    scale: usize,
    text: &mut BytesMut,
) -> Option<()> {
    let integer = precision - scale;
    let mut bytes = [0u8; 32];
    let size = decimal_bytes(precision, scale);
    let bytes = &mut bytes[..size];
    bytes.copy_from_slice(buf.checked_eat(size)?);
    bytes[0] ^= 0x80;
    let negative = bytes[0] & 0x80 != 0;
    let mask: i32 = if negative { -1 } else { 0 };
    // One group of `digits` digits, read as a signed big-endian number and un-inverted.
    let mut at = 0;
    let mut group = |digits: usize| -> u32 {
        let n = GROUP_BYTES[digits];
        let mut be = [0u8; 4];
        be[4 - n..].copy_from_slice(&bytes[at..at + n]);
        at += n;
        let shift = 32 - 8 * n as u32;
        let raw = (i32::from_be_bytes(be) << shift) >> shift;
        (raw ^ mask) as u32
    };
    let start = text.len();
    if negative {
        text.extend_from_slice(b"-");
    }
    let mut leading = true;
    let mut put_integer = |text: &mut BytesMut, value: u32| {
        if leading && value == 0 {
            return;
        }
        push_digits(text, value, if leading { 0 } else { DIGITS_PER_GROUP });
        leading = false;
    };
    let head = integer % DIGITS_PER_GROUP;
    if head > 0 {
        let value = group(head);
        put_integer(text, value);
    }
    for _ in 0..integer / DIGITS_PER_GROUP {
        let value = group(DIGITS_PER_GROUP);
        put_integer(text, value);
    }
    if leading {
        if scale == 0 {
            // Zero: mysql_common drops the sign of a zero without a fraction.
            text.truncate(start);
        }
        text.extend_from_slice(b"0");
    }
    if scale > 0 {
        text.extend_from_slice(b".");
        for _ in 0..scale / DIGITS_PER_GROUP {
            let value = group(DIGITS_PER_GROUP);
            push_digits(text, value, DIGITS_PER_GROUP);
        }
        let tail = scale % DIGITS_PER_GROUP;
        if tail > 0 {
            let value = group(tail);
            push_digits(text, value, tail);
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::arena::ARENA_CHUNK;
    use bytes::Bytes;
    use mysql_common::binlog::decimal::Decimal;

    /// The text mysql_common's decoder gives for `bin`.
    fn reference(bin: &[u8], precision: usize, scale: usize) -> String {
        Decimal::read_bin(bin, precision, scale, false)
            .unwrap()
            .to_string()
    }

    fn ours(bin: &[u8], precision: usize, scale: usize) -> String {
        let mut text = BytesMut::new();
        let mut buf = ParseBuf(bin);
        read_decimal(&mut buf, precision, scale, &mut text).unwrap();
        assert!(buf.is_empty(), "the whole value is read");
        String::from_utf8(text.to_vec()).unwrap()
    }

    /// `text` as DECIMAL(precision, scale), in binary, reads as mysql_common reads it.
    fn reads_as_mysql_common(text: &str, precision: usize, scale: usize) {
        let bin = binary(text, precision, scale);
        assert_eq!(bin.len(), decimal_bytes(precision, scale), "{text}");
        assert_eq!(
            ours(&bin, precision, scale),
            reference(&bin, precision, scale),
            "{text} as DECIMAL({precision},{scale})"
        );
    }

    /// The binary form of `text` as DECIMAL(precision, scale), written from MySQL's format
    /// description (groups of nine digits, big-endian, a short group first in the integer part
    /// and last in the fraction, every byte inverted when negative, the top bit flipped).
    fn binary(text: &str, precision: usize, scale: usize) -> Vec<u8> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let integer = precision - scale;
        let int = int.trim_start_matches('0');
        let int = format!("{int:0>integer$}");
        let frac = format!("{frac:0<scale$}");
        let mut out = Vec::new();
        let mut put = |digits: &str| {
            let n = GROUP_BYTES[digits.len()];
            let value: u32 = digits.parse().unwrap();
            out.extend_from_slice(&value.to_be_bytes()[4 - n..]);
        };
        let head = integer % DIGITS_PER_GROUP;
        put_groups(&int, head, &mut put);
        let whole = scale / DIGITS_PER_GROUP * DIGITS_PER_GROUP;
        for group in frac.as_bytes()[..whole].chunks(DIGITS_PER_GROUP) {
            put(std::str::from_utf8(group).unwrap());
        }
        if scale > whole {
            put(&frac[whole..]);
        }
        if negative {
            out.iter_mut().for_each(|b| *b = !*b);
        }
        out[0] ^= 0x80;
        out
    }

    /// Calls `put` on `digits` cut into a group of `head` digits (when not 0), then nines.
    fn put_groups(digits: &str, head: usize, put: &mut impl FnMut(&str)) {
        if head > 0 {
            put(&digits[..head]);
        }
        for group in digits.as_bytes()[head..].chunks(DIGITS_PER_GROUP) {
            put(std::str::from_utf8(group).unwrap());
        }
    }

    #[test]
    fn decimals_read_as_mysql_common_reads_them() {
        let cases: &[(&str, usize, usize)] = &[
            ("0.00", 12, 2),
            ("1.50", 12, 2),
            ("-1.50", 12, 2),
            ("0.05", 12, 2),
            ("-0.05", 12, 2),
            ("9999999999.99", 12, 2),
            ("-9999999999.99", 12, 2),
            ("1000000000.00", 12, 2),
            ("0", 5, 0),
            ("12345", 5, 0),
            ("-12345", 5, 0),
            ("123456789", 9, 0),
            ("-123456789", 9, 0),
            ("1234567890", 10, 0),
            ("0.123456789", 9, 9),
            ("-0.123456789", 9, 9),
            ("0.000000001", 10, 10),
            ("12345678901234567890.1234567890", 30, 10),
            ("-12345678901234567890.1234567890", 30, 10),
            (
                "12345678901234567890123456789012345.123456789012345678901234567890",
                65,
                30,
            ),
            (
                "-99999999999999999999999999999999999.999999999999999999999999999999",
                65,
                30,
            ),
            (
                "100000000000000000000000000000000000000000000000000000000000000",
                65,
                0,
            ),
            ("0.000000000000000000000000000001", 30, 30),
            ("7.1", 2, 1),
            ("-7.1", 2, 1),
            ("42", 2, 0),
        ];
        for &(text, precision, scale) in cases {
            reads_as_mysql_common(text, precision, scale);
        }
    }

    #[test]
    fn decimals_over_every_precision_and_scale() {
        // A spread of digit patterns at every precision and scale.
        for precision in 1..=65usize {
            for scale in 0..=precision.min(30) {
                let integer = precision - scale;
                for seed in [1u64, 7, 12345, 987654321, u64::MAX / 3] {
                    let digits = |n: usize, salt: u64| -> String {
                        (0..n)
                            .map(|i| {
                                let x = seed.wrapping_mul(6364136223846793005).wrapping_add(
                                    (i as u64 + salt).wrapping_mul(1442695040888963407),
                                );
                                char::from(b'0' + ((x >> 33) % 10) as u8)
                            })
                            .collect()
                    };
                    let int = digits(integer, 0);
                    let int = if int.is_empty() { "0".to_string() } else { int };
                    let text = match scale {
                        0 => int,
                        _ => format!("{int}.{}", digits(scale, 99)),
                    };
                    reads_as_mysql_common(&text, precision, scale);
                    reads_as_mysql_common(&format!("-{text}"), precision, scale);
                }
            }
        }
    }

    #[test]
    fn integers_sign_extend_or_not() {
        let mut arena = ValueArena::default();
        let read = |column: FastColumn, bytes: &[u8], arena: &mut ValueArena| {
            column
                .read(&mut ParseBuf(bytes), arena, DbZone::UTC)
                .unwrap()
        };
        let int = |width, unsigned| FastColumn::Int { width, unsigned };
        assert_eq!(read(int(1, false), &[0xff], &mut arena), Value::Int(-1));
        assert_eq!(read(int(1, true), &[0xff], &mut arena), Value::Int(255));
        assert_eq!(
            read(int(2, false), &[0x00, 0x80], &mut arena),
            Value::Int(-32768)
        );
        assert_eq!(
            read(int(4, false), &(-5i32).to_le_bytes(), &mut arena),
            Value::Int(-5)
        );
        assert_eq!(
            read(int(4, true), &u32::MAX.to_le_bytes(), &mut arena),
            Value::Int(i64::from(u32::MAX))
        );
        assert_eq!(
            read(int(8, true), &u64::MAX.to_le_bytes(), &mut arena),
            Value::Int(-1)
        );
    }

    #[test]
    fn datetimes_and_timestamps() {
        let mut arena = ValueArena::default();
        // 2024-02-29 12:34:56.789 as DATETIME(3): packed fields + 0x80_0000_0000, then
        // hundreds of microseconds in two bytes.
        let fields: u64 = ((2024 * 13 + 2) << 22) | (29 << 17) | (12 << 12) | (34 << 6) | 56;
        let mut bin = (fields + 0x80_0000_0000).to_be_bytes()[3..].to_vec();
        bin.extend_from_slice(&7890u16.to_be_bytes());
        let datetime = FastColumn::DateTime { fsp: 3 };
        let at = 1_709_210_096_789_000;
        let read = |column: FastColumn, bin: &[u8], zone, arena: &mut ValueArena| {
            let mut buf = ParseBuf(bin);
            let value = column.read(&mut buf, arena, zone);
            assert!(buf.is_empty(), "the whole value is read");
            value
        };
        assert_eq!(
            read(datetime, &bin, DbZone::UTC, &mut arena),
            Ok(Value::Timestamp(at))
        );
        let seoul: DbZone = "Asia/Seoul".parse().unwrap();
        assert_eq!(
            read(datetime, &bin, seoul, &mut arena),
            Ok(Value::Timestamp(at - 9 * 3_600_000_000))
        );
        let zero = [0x80, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            read(datetime, &zero, DbZone::UTC, &mut arena),
            Err(Unread::ZeroDate(MyValue::Date(0, 0, 0, 0, 0, 0, 0)))
        );
        // TIMESTAMP(6): epoch seconds, then microseconds in three bytes.
        let mut bin = 1_709_210_096u32.to_be_bytes().to_vec();
        bin.extend_from_slice(&789_000u32.to_be_bytes()[1..]);
        assert_eq!(
            read(
                FastColumn::Timestamp { fsp: 6 },
                &bin,
                DbZone::UTC,
                &mut arena
            ),
            Ok(Value::Timestamp(at))
        );
        assert_eq!(
            read(
                FastColumn::Timestamp { fsp: 0 },
                &[0; 4],
                DbZone::UTC,
                &mut arena
            ),
            Err(Unread::ZeroDate(MyValue::Date(0, 0, 0, 0, 0, 0, 0)))
        );
    }

    #[test]
    fn strings_share_chunks_and_big_ones_stand_alone() {
        let mut arena = ValueArena::default();
        let text = FastColumn::Text { len_bytes: 1 };
        let a = text
            .read(&mut ParseBuf(b"\x03abc"), &mut arena, DbZone::UTC)
            .unwrap();
        let b = text
            .read(&mut ParseBuf(b"\x02de"), &mut arena, DbZone::UTC)
            .unwrap();
        let (Value::Text(a), Value::Text(b)) = (a, b) else {
            panic!("text values")
        };
        assert_eq!((&a[..], &b[..]), (&b"abc"[..], &b"de"[..]));
        assert_eq!(a.as_ptr().wrapping_add(3), b.as_ptr(), "one chunk");
        let invalid = text
            .read(&mut ParseBuf(b"\x02\xff!"), &mut arena, DbZone::UTC)
            .unwrap();
        assert_eq!(invalid, Value::Text(Bytes::from("\u{fffd}!")));
        let big = vec![7u8; ARENA_CHUNK + 1];
        let mut row = (big.len() as u32).to_le_bytes()[..3].to_vec();
        row.extend_from_slice(&big);
        let Value::Bytes(value) = FastColumn::Bytes { len_bytes: 3 }
            .read(&mut ParseBuf(&row), &mut arena, DbZone::UTC)
            .unwrap()
        else {
            panic!("bytes")
        };
        assert_eq!(&value[..], &big[..]);
        assert!(
            text.read(&mut ParseBuf(b"\x05ab"), &mut arena, DbZone::UTC) == Err(Unread::Short),
            "a short row is an error"
        );
    }
}
