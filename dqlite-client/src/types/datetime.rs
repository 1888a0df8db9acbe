//! Date-times of the `time` crate (feature `time`), in go-dqlite's ISO8601 layouts.
//!
//! Parameters are formatted like Go's `2006-01-02 15:04:05.999999999-07:00`: fractional
//! seconds without trailing zeros (no dot when zero) and a numeric offset such as
//! `+00:00`. Row text is parsed like go-dqlite: a trailing `Z` is stripped, then the
//! layouts of [`LAYOUTS`] are tried in order, in UTC when the text has no offset.

use dqlite_proto::Value;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use super::{mismatch, FromValue, ToValue};
use crate::{Error, Result};

/// What follows the date in one of Go's layouts.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Clock {
    /// `2006-01-02`.
    None,
    /// `15:04`.
    Minutes,
    /// `15:04:05`, optionally with a fraction (as Go accepts even without `.999999999`).
    Seconds,
    /// `15:04:05.999999999-07:00`.
    SecondsOffset,
}

/// go-dqlite's `iso8601Formats`, in order: (separator between date and clock, clock).
const LAYOUTS: [(u8, Clock); 9] = [
    (b' ', Clock::SecondsOffset), // 2006-01-02 15:04:05.999999999-07:00
    (b'T', Clock::SecondsOffset), // 2006-01-02T15:04:05.999999999-07:00
    (b' ', Clock::Seconds),       // 2006-01-02 15:04:05.999999999
    (b'T', Clock::Seconds),       // 2006-01-02T15:04:05.999999999
    (b' ', Clock::Seconds),       // 2006-01-02 15:04:05
    (b'T', Clock::Seconds),       // 2006-01-02T15:04:05
    (b' ', Clock::Minutes),       // 2006-01-02 15:04
    (b'T', Clock::Minutes),       // 2006-01-02T15:04
    (b' ', Clock::None),          // 2006-01-02
];

/// Formats `dt` as `2006-01-02 15:04:05.999999999` (Go's 4-digit years only).
fn format_local(dt: PrimitiveDateTime) -> Result<String> {
    let year = dt.year();
    if !(0..=9999).contains(&year) {
        return Err(Error::conversion(
            format!("date-time in year {year}"),
            "ISO8601",
        ));
    }
    let mut out = format!(
        "{year:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    );
    let nanos = dt.nanosecond();
    if nanos != 0 {
        let digits = format!("{nanos:09}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    Ok(out)
}

/// Formats `dt` as `2006-01-02 15:04:05.999999999-07:00`. An offset with seconds, which
/// that layout cannot show, is replaced by UTC (the instant is kept).
fn format_offset(dt: OffsetDateTime) -> Result<String> {
    let dt = match dt.offset().seconds_past_minute() {
        0 => dt,
        _ => dt
            .checked_to_offset(UtcOffset::UTC)
            .ok_or_else(|| Error::conversion(format!("date-time {dt}"), "ISO8601"))?,
    };
    let offset = dt.offset();
    let sign = if offset.is_negative() { '-' } else { '+' };
    Ok(format!(
        "{}{sign}{:02}:{:02}",
        format_local(PrimitiveDateTime::new(dt.date(), dt.time()))?,
        offset.whole_hours().unsigned_abs(),
        offset.minutes_past_hour().unsigned_abs()
    ))
}

/// A position in the text being parsed.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl Cursor<'_> {
    fn byte(&mut self, want: u8) -> Option<()> {
        let (&first, rest) = self.rest.split_first()?;
        (first == want).then(|| self.rest = rest)
    }

    /// Between `min` and `max` ASCII digits, as many as there are.
    fn number(&mut self, min: usize, max: usize) -> Option<u32> {
        let len = self
            .rest
            .iter()
            .take(max)
            .take_while(|b| b.is_ascii_digit())
            .count();
        if len < min {
            return None;
        }
        let (digits, rest) = self.rest.split_at(len);
        self.rest = rest;
        Some(digits.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    }

    /// An optional `.123` or `,123` fraction of any length; digits past nanoseconds are
    /// ignored, as in Go.
    fn fraction(&mut self) -> u32 {
        match self.rest {
            [b'.' | b',', d, ..] if d.is_ascii_digit() => {}
            _ => return 0,
        }
        self.rest = &self.rest[1..];
        let len = self.rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let (digits, rest) = self.rest.split_at(len);
        self.rest = rest;
        (0..9).fold(0, |n, i| {
            n * 10 + digits.get(i).map_or(0, |d| u32::from(d - b'0'))
        })
    }

    /// `+07:00` or `-07:00`.
    fn offset(&mut self) -> Option<UtcOffset> {
        let negative = match self.rest.first()? {
            b'+' => false,
            b'-' => true,
            _ => return None,
        };
        self.rest = &self.rest[1..];
        let hours = i8::try_from(self.number(2, 2)?).ok()?;
        self.byte(b':')?;
        let minutes = i8::try_from(self.number(2, 2)?).ok()?;
        if hours > 24 {
            return None;
        }
        let sign = if negative { -1 } else { 1 };
        UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()
    }
}

/// Parses `text` with one layout, or `None` if it does not match exactly.
fn parse_layout(text: &str, separator: u8, clock: Clock) -> Option<OffsetDateTime> {
    let mut c = Cursor {
        rest: text.as_bytes(),
    };
    let year = c.number(4, 4)?;
    c.byte(b'-')?;
    let month = Month::try_from(u8::try_from(c.number(2, 2)?).ok()?).ok()?;
    c.byte(b'-')?;
    let day = u8::try_from(c.number(2, 2)?).ok()?;
    let date = Date::from_calendar_date(i32::try_from(year).ok()?, month, day).ok()?;
    let (mut time, mut offset) = (Time::MIDNIGHT, UtcOffset::UTC);
    if clock != Clock::None {
        c.byte(separator)?;
        let hour = u8::try_from(c.number(1, 2)?).ok()?;
        c.byte(b':')?;
        let minute = u8::try_from(c.number(2, 2)?).ok()?;
        let (mut second, mut nanos) = (0, 0);
        if clock >= Clock::Seconds {
            c.byte(b':')?;
            second = u8::try_from(c.number(2, 2)?).ok()?;
            nanos = c.fraction();
        }
        if clock == Clock::SecondsOffset {
            offset = c.offset()?;
        }
        time = Time::from_hms_nano(hour, minute, second, nanos).ok()?;
    }
    if !c.rest.is_empty() {
        return None;
    }
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

/// Parses ISO8601 text as go-dqlite does (see the module documentation).
fn parse_iso8601(text: &str) -> Option<OffsetDateTime> {
    let text = text.strip_suffix('Z').unwrap_or(text);
    LAYOUTS
        .iter()
        .find_map(|&(separator, clock)| parse_layout(text, separator, clock))
}

/// Sent as `Iso8601` text with the date-time's own offset.
impl ToValue for OffsetDateTime {
    fn to_value(&self) -> Result<Value> {
        format_offset(*self).map(Value::Iso8601)
    }
}

/// Sent as `Iso8601` text without offset (servers and Go read it as UTC).
impl ToValue for PrimitiveDateTime {
    fn to_value(&self) -> Result<Value> {
        format_local(*self).map(Value::Iso8601)
    }
}

/// Accepts `Iso8601` and `Text` in go-dqlite's layouts (keeping the text's offset, UTC
/// when it has none), and `UnixTime` or `Integer` as seconds since the epoch (UTC).
impl FromValue for OffsetDateTime {
    fn from_value(value: &Value) -> Result<Self> {
        let parsed = match value {
            Value::Iso8601(s) | Value::Text(s) => parse_iso8601(s),
            Value::UnixTime(secs) | Value::Integer(secs) => {
                OffsetDateTime::from_unix_timestamp(*secs).ok()
            }
            _ => None,
        };
        parsed.ok_or_else(|| mismatch(value, "OffsetDateTime"))
    }
}

/// Same as `OffsetDateTime`, converted to UTC, then the offset dropped.
impl FromValue for PrimitiveDateTime {
    fn from_value(value: &Value) -> Result<Self> {
        OffsetDateTime::from_value(value)
            .ok()
            .and_then(|dt| dt.checked_to_offset(UtcOffset::UTC))
            .map(|dt| PrimitiveDateTime::new(dt.date(), dt.time()))
            .ok_or_else(|| mismatch(value, "PrimitiveDateTime"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fraction_digits() {
        let frac = |s: &str| Cursor { rest: s.as_bytes() }.fraction();
        assert_eq!(frac(".5"), 500_000_000);
        assert_eq!(frac(",000000001"), 1);
        assert_eq!(frac(".1234567891"), 123_456_789);
        assert_eq!(frac("."), 0);
        assert_eq!(frac(""), 0);
    }

    #[test]
    fn offset_with_seconds_becomes_utc() {
        let off = UtcOffset::from_hms(1, 0, 30).unwrap();
        let dt = PrimitiveDateTime::new(Date::MIN.replace_year(2020).unwrap(), Time::MIDNIGHT)
            .assume_offset(off);
        assert_eq!(format_offset(dt).unwrap(), "2019-12-31 22:59:30+00:00");
    }
}
