//! MySQL's DATETIME/TIMESTAMP values as epoch microseconds and back (proleptic Gregorian, on
//! [`crate::model::calendar`]), shared by the source readers and the sink writer.

use mysql_async::Value as MyValue;

use crate::model::calendar::{civil_from_days, days_from_civil};

/// Microseconds since the epoch (UTC) of a DATETIME/TIMESTAMP wire value.
pub(crate) fn micros_from_datetime(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8, us: u32) -> i64 {
    let days = days_from_civil(i64::from(y), u32::from(mo), u32::from(d));
    ((days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s)) * 1_000_000)
        + i64::from(us)
}

/// A MySQL DATE literal `yyyy-mm-dd` (month and day from 1): year, month, day.
pub(crate) fn parse_date(text: &str) -> Option<(i64, u32, u32)> {
    let mut parts = text.splitn(3, '-');
    let y = parts.next()?.parse().ok()?;
    let m = parts.next()?.parse().ok()?;
    let d = parts.next()?.parse().ok()?;
    (m >= 1 && d >= 1).then_some((y, m, d))
}

/// A MySQL DATETIME literal `yyyy-mm-dd[ hh:mm:ss[.ffffff]]` (a date alone is its midnight) as
/// microseconds since the epoch of its wall clock; more than six fraction digits are refused.
pub(crate) fn parse_datetime(text: &str) -> Option<i64> {
    let (day, time) = text.split_once(' ').unwrap_or((text, "00:00:00"));
    let (y, m, d) = parse_date(day)?;
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut hms = hms.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (h, mi, s) = (hms.next()??, hms.next()??, hms.next()??);
    if frac.len() > 6 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let micros: i64 = format!("{frac:0<6}").parse().ok()?;
    let days = days_from_civil(y, m, d);
    Some(((days * 24 + h) * 60 + mi) * 60_000_000 + s * 1_000_000 + micros)
}

/// `yyyy-MM-ddTHH:mm:ss`, then the first `digits` (at most 6) digits of the microseconds after
/// a `.`, of a wall-clock time given as microseconds since 1970-01-01T00:00.
pub(crate) fn iso_datetime(micros: i64, digits: usize) -> String {
    let secs = micros.div_euclid(1_000_000);
    let us = micros.rem_euclid(1_000_000);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let mut text = format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    );
    let digits = digits.min(6);
    if digits > 0 {
        let fraction = format!("{us:06}");
        text.push('.');
        text.push_str(&fraction[..digits]);
    }
    text
}

/// The mysql_async DATETIME value of epoch microseconds, for binding.
pub(crate) fn datetime_from_micros(micros: i64) -> MyValue {
    let secs = micros.div_euclid(1_000_000);
    let us = micros.rem_euclid(1_000_000) as u32;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    MyValue::Date(
        y.clamp(0, 9999) as u16,
        m as u8,
        d as u8,
        (sod / 3600) as u8,
        (sod % 3600 / 60) as u8,
        (sod % 60) as u8,
        us,
    )
}
