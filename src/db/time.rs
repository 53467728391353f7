//! Calendar arithmetic for MySQL's DATE/DATETIME/TIMESTAMP values (proleptic Gregorian, epoch
//! based), shared by the source readers and the sink writer.

use mysql_async::Value as MyValue;

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Microseconds since the epoch (UTC) of a DATETIME/TIMESTAMP wire value.
pub(crate) fn micros_from_datetime(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8, us: u32) -> i64 {
    let days = days_from_civil(i64::from(y), u32::from(mo), u32::from(d));
    ((days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s)) * 1_000_000)
        + i64::from(us)
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
