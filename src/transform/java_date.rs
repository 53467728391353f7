//! The part of `java.text.SimpleDateFormat` the transformations need, always in UTC (as Kafka's
//! `TimestampConverter` and `TimestampRouter` set it, and as Sluice runs `Values`' formats):
//! patterns are compiled as Java does (quotes, `''`, runs of one letter, `Illegal pattern
//! character`), formatted like `format(Date)` and parsed like the lenient `parse(String)`: only a
//! prefix of the text has to match, numbers may overflow their field (`2024-13-45` is
//! 2025-02-14), spaces before a field are skipped, and abutting numeric fields (`yyyyMMdd`) take
//! exactly their width.
//!
//! Supported letters: `y` `M`/`L` `d` `E` `a` `H` `k` `K` `h` `m` `s` `S` `z` `Z` `X`. Java's
//! other letters (`G` `Y` `w` `W` `D` `F` `u`) are refused as unsupported. The calendar is the
//! proleptic Gregorian one (Java switches to the Julian calendar before 1582-10-15).

use std::sync::LazyLock;

use crate::config::ConfigError;
use crate::model::Value;
use crate::model::calendar;

const MILLIS_PER_DAY: i64 = 86_400_000;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Why a pattern cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PatternError {
    /// Java refuses it too (`IllegalArgumentException`): the message is Java's.
    Java(String),
    /// A letter Java accepts but this subset does not implement.
    Unsupported(char),
}

/// The config error for a pattern letter Sluice's `SimpleDateFormat` does not implement.
pub(crate) fn unsupported_letter(key: &str, pattern: &str, letter: char) -> ConfigError {
    ConfigError::invalid(
        key,
        pattern,
        format!(
            "Pattern letter '{letter}' is not supported by Sluice (supported: y M L d E a H k K h \
             m s S z Z X and quoted text)"
        ),
    )
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Literal(String),
    Field(char, usize),
}

/// A compiled `SimpleDateFormat` pattern.
#[derive(Debug, Clone)]
pub(crate) struct DatePattern {
    pattern: String,
    tokens: Vec<Token>,
}

fn is_numeric(letter: char, count: usize) -> bool {
    match letter {
        'M' | 'L' => count <= 2,
        'y' | 'd' | 'H' | 'k' | 'K' | 'h' | 'm' | 's' | 'S' => true,
        _ => false,
    }
}

impl DatePattern {
    /// Compiles `pattern` (`SimpleDateFormat.compile`).
    pub(crate) fn new(pattern: &str) -> Result<DatePattern, PatternError> {
        let mut tokens: Vec<Token> = Vec::new();
        let mut literal = String::new();
        let mut chars = pattern.chars().peekable();
        let mut quoted = false;
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    literal.push('\'');
                } else {
                    quoted = !quoted;
                }
                continue;
            }
            if quoted || !c.is_ascii_alphabetic() {
                literal.push(c);
                continue;
            }
            if !"GyMdkHmsSEDFwWahKzZYuXL".contains(c) {
                return Err(PatternError::Java(format!(
                    "Illegal pattern character '{c}'"
                )));
            }
            if !"yMLdEaHkKhmsSzZX".contains(c) {
                return Err(PatternError::Unsupported(c));
            }
            let mut count = 1;
            while chars.peek() == Some(&c) {
                chars.next();
                count += 1;
            }
            if c == 'X' && count > 3 {
                return Err(PatternError::Java(format!(
                    "invalid ISO 8601 format: length={count}"
                )));
            }
            if !literal.is_empty() {
                tokens.push(Token::Literal(std::mem::take(&mut literal)));
            }
            tokens.push(Token::Field(c, count));
        }
        if quoted {
            return Err(PatternError::Java("Unterminated quote".to_string()));
        }
        if !literal.is_empty() {
            tokens.push(Token::Literal(literal));
        }
        Ok(DatePattern {
            pattern: pattern.to_string(),
            tokens,
        })
    }

    /// The pattern as given (`toPattern()`).
    pub(crate) fn pattern(&self) -> &str {
        &self.pattern
    }

    /// `format(new Date(millis))` in UTC.
    pub(crate) fn format(&self, millis: i64) -> String {
        let days = millis.div_euclid(MILLIS_PER_DAY);
        let ms_of_day = millis.rem_euclid(MILLIS_PER_DAY);
        let (year, month, day) = calendar::civil_from_days(days);
        let hour = ms_of_day / 3_600_000;
        let minute = ms_of_day / 60_000 % 60;
        let second = ms_of_day / 1000 % 60;
        let milli = ms_of_day % 1000;
        let weekday = (days + 4).rem_euclid(7) as usize; // 1970-01-01 was a Thursday
        let mut out = String::new();
        for token in &self.tokens {
            let (letter, count) = match token {
                Token::Literal(text) => {
                    out.push_str(text);
                    continue;
                }
                Token::Field(letter, count) => (*letter, *count),
            };
            match letter {
                'y' => {
                    let year_of_era = if year <= 0 { 1 - year } else { year };
                    if count == 2 {
                        pad(&mut out, year_of_era % 100, 2);
                    } else {
                        pad(&mut out, year_of_era, count);
                    }
                }
                'M' | 'L' => match count {
                    1 | 2 => pad(&mut out, i64::from(month), count),
                    3 => out.push_str(&MONTHS[month as usize - 1][..3]),
                    _ => out.push_str(MONTHS[month as usize - 1]),
                },
                'd' => pad(&mut out, i64::from(day), count),
                'E' if count >= 4 => out.push_str(DAYS[weekday]),
                'E' => out.push_str(&DAYS[weekday][..3]),
                'a' => out.push_str(if hour < 12 { "AM" } else { "PM" }),
                'H' => pad(&mut out, hour, count),
                'k' => pad(&mut out, if hour == 0 { 24 } else { hour }, count),
                'K' => pad(&mut out, hour % 12, count),
                'h' => pad(&mut out, if hour % 12 == 0 { 12 } else { hour % 12 }, count),
                'm' => pad(&mut out, minute, count),
                's' => pad(&mut out, second, count),
                'S' => pad(&mut out, milli, count),
                'z' if count >= 4 => out.push_str("Coordinated Universal Time"),
                'z' => out.push_str("UTC"),
                'Z' => out.push_str("+0000"),
                'X' => out.push('Z'),
                _ => {}
            }
        }
        out
    }

    /// The lenient `parse(text)` in UTC: epoch milliseconds, `None` where Java throws
    /// `ParseException`.
    pub(crate) fn parse(&self, text: &str) -> Option<i64> {
        let text: Vec<char> = text.chars().collect();
        let mut pos = 0;
        let mut fields = Fields::default();
        for (i, token) in self.tokens.iter().enumerate() {
            let (letter, count) = match token {
                Token::Literal(literal) => {
                    for c in literal.chars() {
                        if text.get(pos) != Some(&c) {
                            return None;
                        }
                        pos += 1;
                    }
                    continue;
                }
                Token::Field(letter, count) => (*letter, *count),
            };
            while matches!(text.get(pos), Some(' ' | '\t')) {
                pos += 1;
            }
            if pos >= text.len() {
                return None;
            }
            let abutting =
                matches!(self.tokens.get(i + 1), Some(Token::Field(l, c)) if is_numeric(*l, *c));
            if is_numeric(letter, count) {
                let limit = if abutting {
                    (pos + count).min(text.len())
                } else {
                    text.len()
                };
                let start = pos;
                let value = parse_number(&text[..limit], &mut pos)?;
                match letter {
                    'y' => {
                        let two_digits = count <= 2
                            && pos - start == 2
                            && text[start].is_ascii_digit()
                            && text[start + 1].is_ascii_digit();
                        fields.year = if two_digits {
                            Some(two_digit_year(value))
                        } else {
                            Some(value)
                        };
                    }
                    'M' | 'L' => fields.month = Some(value - 1),
                    'd' => fields.day = Some(value),
                    'H' => fields.hour_of_day = Some(value),
                    'k' => fields.hour_of_day = Some(if value == 24 { 0 } else { value }),
                    'K' => fields.hour = Some(value),
                    'h' => fields.hour = Some(if value == 12 { 0 } else { value }),
                    'm' => fields.minute = Some(value),
                    's' => fields.second = Some(value),
                    _ => fields.milli = Some(value),
                }
                continue;
            }
            match letter {
                'M' | 'L' => {
                    let long = MONTHS.iter().map(|m| m.to_string());
                    let short = MONTHS.iter().map(|m| m[..3].to_string());
                    let (index, len) = match_name(&text[pos..], long)
                        .or_else(|| match_name(&text[pos..], short))?;
                    fields.month = Some(index as i64);
                    pos += len;
                }
                'E' => {
                    let long = DAYS.iter().map(|m| m.to_string());
                    let short = DAYS.iter().map(|m| m[..3].to_string());
                    let (_, len) = match_name(&text[pos..], long)
                        .or_else(|| match_name(&text[pos..], short))?;
                    pos += len;
                }
                'a' => {
                    let (index, len) =
                        match_name(&text[pos..], ["AM", "PM"].iter().map(|s| s.to_string()))?;
                    fields.pm = Some(index == 1);
                    pos += len;
                }
                'X' => fields.offset = Some(parse_iso_zone(&text, &mut pos)?),
                _ => fields.offset = Some(parse_zone(&text, &mut pos)?),
            }
        }
        fields.millis()
    }
}

#[derive(Default)]
struct Fields {
    year: Option<i64>,
    month: Option<i64>,
    day: Option<i64>,
    hour_of_day: Option<i64>,
    hour: Option<i64>,
    pm: Option<bool>,
    minute: Option<i64>,
    second: Option<i64>,
    milli: Option<i64>,
    offset: Option<i64>,
}

impl Fields {
    /// The lenient `Calendar` computation: every field may overflow into the next.
    fn millis(&self) -> Option<i64> {
        let months = self
            .year
            .unwrap_or(1970)
            .checked_mul(12)?
            .checked_add(self.month.unwrap_or(0))?;
        let year = months.div_euclid(12);
        if year.abs() > calendar::MAX_YEAR {
            return None;
        }
        let month = months.rem_euclid(12) as u32 + 1;
        let days =
            calendar::days_from_civil(year, month, 1).checked_add(self.day.unwrap_or(1) - 1)?;
        let hour = match self.hour_of_day {
            Some(h) => h,
            None => self.hour.unwrap_or(0) + if self.pm == Some(true) { 12 } else { 0 },
        };
        let millis = days
            .checked_mul(MILLIS_PER_DAY)?
            .checked_add(hour.checked_mul(3_600_000)?)?
            .checked_add(self.minute.unwrap_or(0).checked_mul(60_000)?)?
            .checked_add(self.second.unwrap_or(0).checked_mul(1000)?)?
            .checked_add(self.milli.unwrap_or(0))?;
        millis.checked_sub(self.offset.unwrap_or(0))
    }
}

fn pad(out: &mut String, value: i64, width: usize) {
    use std::fmt::Write;
    let _ = write!(out, "{value:0width$}");
}

/// `DecimalFormat.parse` of an integer: an optional `-` and ASCII digits.
fn parse_number(text: &[char], pos: &mut usize) -> Option<i64> {
    let mut i = *pos;
    let negative = text.get(i) == Some(&'-');
    if negative {
        i += 1;
    }
    let start = i;
    let mut value: i64 = 0;
    while let Some(d) = text.get(i).and_then(|c| c.to_digit(10)) {
        value = value.checked_mul(10)?.checked_add(i64::from(d))?;
        i += 1;
    }
    if i == start {
        return None;
    }
    *pos = i;
    Some(if negative { -value } else { value })
}

/// A two-digit year within the 100 years starting 80 years ago (`defaultCenturyStart`).
fn two_digit_year(value: i64) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let start = calendar::civil_from_days(now.div_euclid(MILLIS_PER_DAY)).0 - 80;
    let century = start.div_euclid(100) * 100;
    let year = century + value;
    if year < start { year + 100 } else { year }
}

/// The longest name matching the start of `text`, ignoring case: its index and length.
fn match_name(text: &[char], names: impl Iterator<Item = String>) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    for (index, name) in names.enumerate() {
        let len = name.chars().count();
        if text.len() >= len
            && text[..len]
                .iter()
                .zip(name.chars())
                .all(|(a, b)| a.eq_ignore_ascii_case(&b))
            && best.is_none_or(|(_, l)| len > l)
        {
            best = Some((index, len));
        }
    }
    best
}

/// `hh`, `hhmm` or `hh:mm` after a sign: the offset in milliseconds.
fn parse_offset(text: &[char], pos: &mut usize, sign: i64) -> Option<i64> {
    let digit = |i: usize| text.get(i).and_then(|c| c.to_digit(10)).map(i64::from);
    let mut i = *pos;
    let mut hours = digit(i)?;
    i += 1;
    if let Some(d) = digit(i) {
        hours = hours * 10 + d;
        i += 1;
    }
    let mut minutes = 0;
    let colon = text.get(i) == Some(&':');
    let m = if colon { i + 1 } else { i };
    if let (Some(a), Some(b)) = (digit(m), digit(m + 1)) {
        minutes = a * 10 + b;
        i = m + 2;
    }
    if hours > 23 || minutes > 59 {
        return None;
    }
    *pos = i;
    Some(sign * (hours * 3_600_000 + minutes * 60_000))
}

/// `±hh[[:]mm]` at `pos` (`pos` moves past it), or `None` when no sign stands there.
fn signed_offset(text: &[char], pos: &mut usize) -> Option<Option<i64>> {
    let sign = match text.get(*pos) {
        Some('+') => 1,
        Some('-') => -1,
        _ => return None,
    };
    *pos += 1;
    Some(parse_offset(text, pos, sign))
}

/// `z` and `Z` (lenient): `±hhmm`, `GMT[±hh[:mm]]`, or a UTC zone name.
fn parse_zone(text: &[char], pos: &mut usize) -> Option<i64> {
    if let Some(offset) = signed_offset(text, pos) {
        return offset;
    }
    let names = [
        "GMT",
        "UTC",
        "UT",
        "Coordinated Universal Time",
        "Greenwich Mean Time",
    ];
    let (index, len) = match_name(&text[*pos..], names.iter().map(|s| s.to_string()))?;
    *pos += len;
    if index == 0
        && let Some(offset) = signed_offset(text, pos)
    {
        return offset;
    }
    Some(0)
}

/// `X`: `Z` or `±hh[[:]mm]`.
fn parse_iso_zone(text: &[char], pos: &mut usize) -> Option<i64> {
    if text.get(*pos) == Some(&'Z') {
        *pos += 1;
        return Some(0);
    }
    signed_offset(text, pos).flatten()
}

static ISO_DATE: LazyLock<DatePattern> = LazyLock::new(|| compile("yyyy-MM-dd"));
static ISO_TIME: LazyLock<DatePattern> = LazyLock::new(|| compile("HH:mm:ss.SSS'Z'"));
static ISO_TIMESTAMP: LazyLock<DatePattern> =
    LazyLock::new(|| compile("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"));

fn compile(pattern: &str) -> DatePattern {
    DatePattern::new(pattern).unwrap_or_else(|_| unreachable!("a valid constant pattern"))
}

/// `Values`' ISO 8601 date format, `yyyy-MM-dd`.
pub(crate) fn iso_date() -> &'static DatePattern {
    &ISO_DATE
}

/// `Values`' ISO 8601 time format, `HH:mm:ss.SSS'Z'`.
pub(crate) fn iso_time() -> &'static DatePattern {
    &ISO_TIME
}

/// `Values`' ISO 8601 timestamp format, `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'`.
pub(crate) fn iso_timestamp() -> &'static DatePattern {
    &ISO_TIMESTAMP
}

/// `java.util.Date.getTime()` of a Date, Time or Timestamp value: epoch milliseconds (a Time's
/// are of 1970-01-01). `None` for other values.
pub(crate) fn epoch_millis(value: &Value) -> Option<i64> {
    match value {
        Value::Date(days) => Some(i64::from(*days) * MILLIS_PER_DAY),
        Value::Time(micros) | Value::Timestamp(micros) => Some(micros.div_euclid(1000)),
        _ => None,
    }
}

/// `Values.dateFormatFor(date).format(date)` (in UTC): a time before the first day ends, a date
/// at midnight, else a timestamp.
pub(crate) fn date_format_for(millis: i64) -> String {
    if millis < MILLIS_PER_DAY {
        iso_time().format(millis)
    } else if millis % MILLIS_PER_DAY == 0 {
        iso_date().format(millis)
    } else {
        iso_timestamp().format(millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pattern: &str) -> DatePattern {
        DatePattern::new(pattern).unwrap()
    }

    #[test]
    fn formats_like_simple_date_format_in_utc() {
        // TimestampConverterTest: 86 401 234 ms with "yyyy MM dd HH mm ss SSS z".
        assert_eq!(
            p("yyyy MM dd HH mm ss SSS z").format(86_401_234),
            "1970 01 02 00 00 01 234 UTC"
        );
        // TimestampRouterTest.defaultConfiguration.
        assert_eq!(p("yyyyMMdd").format(1_483_425_001_864), "20170103");
        assert_eq!(
            p("yyyy-MM-dd'T'HH").format(1_483_425_001_864),
            "2017-01-03T06"
        );
        assert_eq!(
            p("EEE, d MMM yy h:mm a Z X ''zzzz''").format(1_700_000_000_123),
            "Tue, 14 Nov 23 10:13 PM +0000 Z 'Coordinated Universal Time'"
        );
        assert_eq!(p("y M S").format(-1), "1969 12 999");
        assert_eq!(p("yyyy-MM-dd").format(-86_400_000 * 719_162), "0001-01-01");
        assert_eq!(p("yyyy-MM-dd").format(-86_400_000 * 719_163), "0001-12-31");
    }

    #[test]
    fn parses_leniently_and_by_prefix() {
        assert_eq!(
            p("yyyy MM dd HH mm ss SSS z").parse("1970 01 02 00 00 01 234 UTC"),
            Some(86_401_234)
        );
        let date = p("yyyy-MM-dd");
        assert_eq!(
            date.parse("2024-01-02T03:04:05 garbage"),
            date.parse("2024-01-02")
        );
        assert_eq!(
            date.parse("2024-13-45"),
            p("yyyy-MM-dd").parse("2025-02-14")
        );
        assert_eq!(date.parse("2025-02-14"), Some(1_739_491_200_000));
        assert_eq!(date.parse("2024/01/02"), None);
        assert_eq!(date.parse(""), None);
        assert_eq!(p("yyyyMMdd").parse("20170103"), Some(1_483_401_600_000));
        assert_eq!(
            p("yyyy-MM-dd HH:mm Z").parse("2017-01-03 07:00 +0100"),
            Some(1_483_423_200_000)
        );
        assert_eq!(
            p("yyyy-MM-dd'T'HH:mmXXX").parse("2017-01-03T07:00+01:00"),
            Some(1_483_423_200_000)
        );
        assert_eq!(
            p("dd MMM yyyy hh:mm a").parse("03 jan 2017 06:00 pm"),
            Some(1_483_466_400_000)
        );
        assert_eq!(p("HH:mm:ss.SSS'Z'").parse("00:00:01.234Z"), Some(1234));
    }

    #[test]
    fn compiles_like_java() {
        assert_eq!(
            DatePattern::new("bad-format").unwrap_err(),
            PatternError::Java("Illegal pattern character 'b'".into())
        );
        assert_eq!(
            DatePattern::new("yyyy'T").unwrap_err(),
            PatternError::Java("Unterminated quote".into())
        );
        assert_eq!(
            DatePattern::new("yyyy-ww").unwrap_err(),
            PatternError::Unsupported('w')
        );
        assert_eq!(p("'o''clock' H").format(3_600_000), "o'clock 1");
    }

    #[test]
    fn values_date_format_for() {
        assert_eq!(date_format_for(86_400_000), "1970-01-02");
        assert_eq!(date_format_for(3_600_000), "01:00:00.000Z");
        assert_eq!(date_format_for(86_400_001), "1970-01-02T00:00:00.001Z");
        assert_eq!(date_format_for(-1), "23:59:59.999Z");
    }
}
