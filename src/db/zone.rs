//! `db.timezone`: the zone whose wall clock a DATETIME column holds. Sessions always run at
//! `time_zone='+00:00'`, so TIMESTAMP columns (instants) need no zone; DATETIME values are
//! read as wall-clock times in this zone and bound back the same way, as Connect does through
//! `ResultSet.getTimestamp(column, calendar)`.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// A time zone as Java's `ZoneId.of` accepts it: a region (`Asia/Seoul`), `UTC`/`GMT`/`Z`, or
/// a fixed offset (`+09:00`, `-0530`, `UTC+9`, `GMT-03:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DbZone {
    Region(Tz),
    Fixed(FixedOffset),
}

impl DbZone {
    pub(crate) const UTC: DbZone = DbZone::Region(Tz::UTC);

    /// Whether wall-clock times equal UTC times at every instant.
    pub(crate) fn is_utc(&self) -> bool {
        match self {
            DbZone::Region(tz) => matches!(
                tz,
                Tz::UTC | Tz::Etc__UTC | Tz::Etc__UCT | Tz::Etc__GMT | Tz::GMT | Tz::Etc__Zulu
            ),
            DbZone::Fixed(offset) => offset.local_minus_utc() == 0,
        }
    }

    /// Epoch microseconds of a wall-clock time (given as epoch microseconds of the same
    /// wall-clock time in UTC). In a DST gap the time moves forward by the gap's length; in an
    /// overlap the earlier instant wins, as `java.time.ZonedDateTime.of` resolves them.
    pub(crate) fn wall_to_instant(&self, wall_micros: i64) -> i64 {
        let offset_secs = match self {
            DbZone::Fixed(offset) => offset.local_minus_utc(),
            DbZone::Region(_) if self.is_utc() => 0,
            DbZone::Region(tz) => {
                let Some(naive) = naive(wall_micros) else {
                    return wall_micros;
                };
                match tz.from_local_datetime(&naive) {
                    LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                        t.offset().fix().local_minus_utc()
                    }
                    // A gap: use the offset in force before it.
                    LocalResult::None => tz
                        .offset_from_utc_datetime(&(naive - chrono::Duration::days(1)))
                        .fix()
                        .local_minus_utc(),
                }
            }
        };
        wall_micros - i64::from(offset_secs) * 1_000_000
    }

    /// The wall-clock time in this zone of an instant, as epoch microseconds of the same
    /// wall-clock time in UTC.
    pub(crate) fn instant_to_wall(&self, micros: i64) -> i64 {
        micros + i64::from(self.offset_at(micros)) * 1_000_000
    }

    /// The zone's UTC offset in seconds at an instant.
    pub(crate) fn offset_at(&self, micros: i64) -> i32 {
        match self {
            DbZone::Fixed(offset) => offset.local_minus_utc(),
            DbZone::Region(tz) => match naive(micros) {
                Some(utc) => tz.offset_from_utc_datetime(&utc).fix().local_minus_utc(),
                None => 0,
            },
        }
    }
}

fn naive(micros: i64) -> Option<NaiveDateTime> {
    DateTime::<Utc>::from_timestamp_micros(micros).map(|t| t.naive_utc())
}

impl fmt::Display for DbZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbZone::Region(tz) => f.write_str(tz.name()),
            DbZone::Fixed(offset) => write!(f, "{offset}"),
        }
    }
}

impl FromStr for DbZone {
    type Err = String;

    fn from_str(text: &str) -> Result<DbZone, String> {
        let invalid = || "Invalid time zone identifier".to_string();
        if text == "Z" {
            return Ok(DbZone::UTC);
        }
        if let Ok(tz) = text.parse::<Tz>() {
            return Ok(DbZone::Region(tz));
        }
        // `+hh`, `+hh:mm`, `+hhmm`, optionally after `UTC`, `GMT` or `UT`.
        let offset = ["UTC", "GMT", "UT"]
            .iter()
            .find_map(|prefix| text.strip_prefix(prefix))
            .unwrap_or(text);
        let (sign, rest) = match offset.as_bytes().first() {
            Some(b'+') => (1, &offset[1..]),
            Some(b'-') => (-1, &offset[1..]),
            _ => return Err(invalid()),
        };
        let digits: String = rest.chars().filter(|c| *c != ':').collect();
        if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        let (h, m, s) = match digits.len() {
            1 | 2 => (digits.parse::<i32>().ok(), Some(0), Some(0)),
            4 => (digits[..2].parse().ok(), digits[2..].parse().ok(), Some(0)),
            6 => (
                digits[..2].parse().ok(),
                digits[2..4].parse().ok(),
                digits[4..].parse().ok(),
            ),
            _ => (None, None, None),
        };
        let (Some(h), Some(m), Some(s)) = (h, m, s) else {
            return Err(invalid());
        };
        if h > 18 || m > 59 || s > 59 {
            return Err(invalid());
        }
        FixedOffset::east_opt(sign * (h * 3600 + m * 60 + s))
            .map(DbZone::Fixed)
            .ok_or_else(invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::time::micros_from_datetime;

    fn wall(y: u16, mo: u8, d: u8, h: u8, mi: u8) -> i64 {
        micros_from_datetime(y, mo, d, h, mi, 0, 0)
    }

    #[test]
    fn parses_what_zone_id_of_accepts() {
        for utc in ["UTC", "Z", "GMT", "Etc/UTC", "+00:00", "UTC+0"] {
            assert!(utc.parse::<DbZone>().unwrap().is_utc(), "{utc}");
        }
        assert_eq!(
            "Asia/Seoul".parse::<DbZone>().unwrap(),
            DbZone::Region(Tz::Asia__Seoul)
        );
        assert_eq!("+09:00".parse::<DbZone>().unwrap().offset_at(0), 9 * 3600);
        assert_eq!("-0530".parse::<DbZone>().unwrap().offset_at(0), -19_800);
        assert_eq!("GMT-3".parse::<DbZone>().unwrap().offset_at(0), -3 * 3600);
        for bad in ["Mars/Olympus", "+25:00", "9", "", "UTC+x"] {
            assert_eq!(
                bad.parse::<DbZone>().unwrap_err(),
                "Invalid time zone identifier"
            );
        }
    }

    #[test]
    fn converts_wall_clock_both_ways() {
        let seoul: DbZone = "Asia/Seoul".parse().unwrap();
        let local = wall(2021, 12, 5, 15, 57);
        let instant = seoul.wall_to_instant(local);
        assert_eq!(instant, wall(2021, 12, 5, 6, 57));
        assert_eq!(seoul.instant_to_wall(instant), local);
        assert_eq!(DbZone::UTC.wall_to_instant(local), local);
    }

    #[test]
    fn resolves_dst_gaps_and_overlaps_like_java_time() {
        let ny: DbZone = "America/New_York".parse().unwrap();
        // 2021-03-14 02:30 does not exist: Java moves it to 03:30 EDT (07:30Z).
        assert_eq!(
            ny.wall_to_instant(wall(2021, 3, 14, 2, 30)),
            wall(2021, 3, 14, 7, 30)
        );
        // 2021-11-07 01:30 happens twice: the earlier (EDT, 05:30Z) wins.
        assert_eq!(
            ny.wall_to_instant(wall(2021, 11, 7, 1, 30)),
            wall(2021, 11, 7, 5, 30)
        );
    }
}
