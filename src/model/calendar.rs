//! Calendar arithmetic on Connect's day counts: the proleptic Gregorian calendar, days since
//! 1970-01-01 (Hinnant's `days_from_civil` and `civil_from_days`). The MySQL readers and writer
//! and the `SimpleDateFormat` port all count days this way.

/// Years whose day count these functions compute without overflow: far beyond any year a
/// `java.util.Date` (epoch milliseconds in an `i64`, about ±292 million years) can hold.
pub(crate) const MAX_YEAR: i64 = 1_000_000_000_000;

/// Days since 1970-01-01 of a civil date; `month` is 1–12. `|year|` must not exceed
/// [`MAX_YEAR`].
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01: year, month (1–12), day (1–31).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_at_the_edges() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2000, 2, 29), 11_016);
        assert_eq!(civil_from_days(-719_468), (0, 3, 1));
        for year in [-MAX_YEAR, -1, 0, 1582, 9999, MAX_YEAR] {
            for (month, day) in [(1, 1), (2, 28), (12, 31)] {
                let days = days_from_civil(year, month, day);
                assert_eq!(civil_from_days(days), (year, month, day));
            }
        }
    }
}
