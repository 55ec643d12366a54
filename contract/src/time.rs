//! Stored instants (UTC, RFC 3339, as SQLite writes them) as people read them: in the
//! computer's own time zone and in the chosen language's format. Storage stays UTC;
//! only what is shown, printed or exported is local.

use crate::Language;
use cardiorisk_i18n::{format as word, text};

/// A time zone: its offset from UTC at an instant, and its name. The backend reads
/// the system's zone (with its rules), the UI asks the webview's `Date`.
pub trait Zone {
    /// Seconds east of UTC at `unix` seconds.
    fn offset_at(&self, unix: i64) -> i32;
    /// The IANA name ("America/Argentina/Buenos_Aires") where known.
    fn name(&self) -> Option<String>;
}

/// A zone at a fixed offset (seconds east of UTC): UTC itself, and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedZone(pub i32);

impl Zone for FixedZone {
    fn offset_at(&self, _unix: i64) -> i32 {
        self.0
    }
    fn name(&self) -> Option<String> {
        (self.0 == 0).then(|| "UTC".to_string())
    }
}

/// Wall-clock time somewhere, with its offset from UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// Seconds east of UTC.
    pub offset: i32,
}

impl LocalTime {
    /// The stored instant `rfc3339` in `zone`; `None` when it is not RFC 3339.
    pub fn of(rfc3339: &str, zone: &dyn Zone) -> Option<LocalTime> {
        let unix = unix_seconds(rfc3339)?;
        Some(Self::at(unix, zone.offset_at(unix)))
    }

    fn at(unix: i64, offset: i32) -> LocalTime {
        let local = unix + i64::from(offset);
        let (year, month, day) = civil_from_days(local.div_euclid(86_400));
        let secs = local.rem_euclid(86_400) as u32;
        LocalTime {
            year,
            month,
            day,
            hour: secs / 3600,
            minute: secs / 60 % 60,
            second: secs % 60,
            offset,
        }
    }

    /// "2026-11-30 09:15" in English, "30/11/2026 09:15" in Spanish.
    pub fn date_time(&self, language: Language) -> String {
        format!(
            "{} {:02}:{:02}",
            self.date(language),
            self.hour,
            self.minute
        )
    }

    /// "2026-11-30" in English, "30/11/2026" in Spanish.
    pub fn date(&self, language: Language) -> String {
        word(
            language,
            "format-date",
            &[
                ("year", &format!("{:04}", self.year)),
                ("month", &format!("{:02}", self.month)),
                ("day", &format!("{:02}", self.day)),
            ],
        )
    }

    /// "11-30" in English, "30/11" in Spanish: short labels.
    pub fn day_month(&self, language: Language) -> String {
        word(
            language,
            "format-day-month",
            &[
                ("month", &format!("{:02}", self.month)),
                ("day", &format!("{:02}", self.day)),
            ],
        )
    }

    /// The offset as "UTC-03:00" ("UTC" at zero).
    pub fn offset_text(&self) -> String {
        if self.offset == 0 {
            return "UTC".into();
        }
        let sign = if self.offset < 0 { '-' } else { '+' };
        let minutes = self.offset.unsigned_abs() / 60;
        format!("UTC{sign}{:02}:{:02}", minutes / 60, minutes % 60)
    }

    /// ISO 8601 with the offset, for files read by programs: "2026-11-30T09:15:03-03:00".
    pub fn iso(&self) -> String {
        let offset = if self.offset == 0 {
            "Z".to_string()
        } else {
            self.offset_text()[3..].to_string()
        };
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{offset}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// A stored time as shown on screen and in reports: local date and time, or the
/// text itself when it is not a time.
pub fn time_text(language: Language, zone: &dyn Zone, rfc3339: &str) -> String {
    LocalTime::of(rfc3339, zone)
        .map(|t| t.date_time(language))
        .unwrap_or_else(|| rfc3339.to_string())
}

/// The zone as a reader should see it where times must be unambiguous (reports,
/// exports): "America/Argentina/Buenos_Aires, UTC-03:00" at the instant `rfc3339`.
pub fn zone_text(zone: &dyn Zone, rfc3339: &str) -> String {
    let offset = LocalTime::of(rfc3339, zone)
        .map(|t| t.offset_text())
        .unwrap_or_default();
    match zone.name() {
        Some(name) if name != offset => format!("{name}, {offset}"),
        _ => offset,
    }
}

/// Seconds since 1970 of an RFC 3339 time ("2026-11-29T10:15:03.123Z",
/// "2026-11-29T07:15:03-03:00"); fractions of a second are dropped.
pub fn unix_seconds(rfc3339: &str) -> Option<i64> {
    let b = rfc3339.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        digits.iter().try_fold(0i64, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0'))
        })
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month as u32) as i64 {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &b[19..];
    if rest.first() == Some(&b'.') {
        let digits = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        rest = &rest[1 + digits..];
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let part = |x: u8, y: u8| -> Option<i64> {
                (x.is_ascii_digit() && y.is_ascii_digit())
                    .then(|| i64::from(x - b'0') * 10 + i64::from(y - b'0'))
            };
            let (h, m) = (part(*h1, *h2)?, part(*m1, *m2)?);
            if h > 23 || m > 59 {
                return None;
            }
            let seconds = h * 3600 + m * 60;
            if *sign == b'-' {
                -seconds
            } else {
                seconds
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month as u32, day as u32);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second.min(59) - offset)
}

/// The RFC 3339 UTC text of `unix` seconds, as stored: "2026-11-30T12:15:00Z".
pub fn rfc3339_utc(unix: i64) -> String {
    LocalTime::at(unix, 0).iso()
}

/// The instant (RFC 3339 UTC) at which the local day `date` ("2026-11-30") begins in
/// `zone`: date filters pick local days. `None` when `date` is not such a date.
pub fn start_of_local_day(date: &str, zone: &dyn Zone) -> Option<String> {
    let unix_midnight = unix_seconds(&format!("{date}T00:00:00Z"))?;
    if date.len() != 10 {
        return None;
    }
    // The offset at the instant itself: guess with the offset at UTC midnight, then
    // once more with the offset found there (enough for one transition).
    let mut guess = unix_midnight - i64::from(zone.offset_at(unix_midnight));
    guess = unix_midnight - i64::from(zone.offset_at(guess));
    Some(rfc3339_utc(guess))
}

/// Where the local day after `date` begins: the end (exclusive) of a date filter.
pub fn start_of_next_local_day(date: &str, zone: &dyn Zone) -> Option<String> {
    let next = rfc3339_utc(unix_seconds(&format!("{date}T00:00:00Z"))? + 86_400);
    start_of_local_day(&next[..10], zone)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A number as written in `language`: "2.4" in English, "2,4" in Spanish.
pub fn localised_number(language: Language, plain: String) -> String {
    let separator = text(language, "decimal-separator");
    if separator == "." {
        plain
    } else {
        plain.replace('.', &separator)
    }
}

/// A number typed in `language`, as the plain decimal the parsers take: the
/// language's decimal separator as well as the point. Only one separator may appear.
pub fn delocalised_number(language: Language, typed: &str) -> String {
    let separator = text(language, "decimal-separator");
    if separator == "." || typed.contains('.') {
        typed.to_string()
    } else {
        typed.replacen(&separator, ".", 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Buenos Aires: UTC-3 all year (no summer time since 2009).
    const BUENOS_AIRES: FixedZone = FixedZone(-3 * 3600);

    #[test]
    fn stored_times_read_as_local_wall_clock() {
        let t = LocalTime::of("2026-11-30T12:15:03.123Z", &BUENOS_AIRES).unwrap();
        assert_eq!(t.date_time(Language::English), "2026-11-30 09:15");
        assert_eq!(t.date_time(Language::Spanish), "30/11/2026 09:15");
        assert_eq!(t.iso(), "2026-11-30T09:15:03-03:00");
        assert_eq!(t.offset_text(), "UTC-03:00");
        assert_eq!(t.day_month(Language::English), "11-30");
        assert_eq!(t.day_month(Language::Spanish), "30/11");
        // Across midnight and the year's end.
        let t = LocalTime::of("2027-01-01T01:00:00Z", &BUENOS_AIRES).unwrap();
        assert_eq!(t.date_time(Language::Spanish), "31/12/2026 22:00");
        let t = LocalTime::of("2026-11-30T20:00:00Z", &FixedZone(5 * 3600 + 1800)).unwrap();
        assert_eq!(t.iso(), "2026-12-01T01:30:00+05:30");
        assert_eq!(
            LocalTime::of("2026-11-30T12:00:00Z", &FixedZone(0))
                .unwrap()
                .iso(),
            "2026-11-30T12:00:00Z"
        );
    }

    #[test]
    fn rfc3339_offsets_and_fractions_are_read_and_nonsense_is_refused() {
        let z = unix_seconds("2026-11-30T12:15:03Z").unwrap();
        assert_eq!(unix_seconds("2026-11-30T09:15:03-03:00"), Some(z));
        assert_eq!(unix_seconds("2026-11-30T12:15:03.999999Z"), Some(z));
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_seconds("2000-02-29T00:00:00Z"), Some(951_782_400));
        for bad in [
            "",
            "2026-11-30",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-11-30T24:00:00Z",
            "2026-11-30T12:15:03",
            "2026-11-30T12:15:03.Z",
            "2026-11-30T12:15:03+3:00",
            "2026-1x-30T12:15:03Z",
            "2026-11-30T12:15:03Zjunk",
        ] {
            assert_eq!(unix_seconds(bad), None, "{bad:?}");
        }
        assert_eq!(time_text(Language::English, &BUENOS_AIRES, "soon"), "soon");
    }

    #[test]
    fn every_day_round_trips_through_the_calendar() {
        for days in (-800_000..800_000).step_by(7) {
            let (y, m, d) = civil_from_days(days);
            assert!(d >= 1 && d <= days_in_month(y, m));
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(rfc3339_utc(1_796_126_400), "2026-12-01T12:00:00Z");
    }

    #[test]
    fn a_local_day_starts_at_local_midnight() {
        assert_eq!(
            start_of_local_day("2026-11-30", &BUENOS_AIRES).as_deref(),
            Some("2026-11-30T03:00:00Z")
        );
        assert_eq!(
            start_of_next_local_day("2026-12-31", &BUENOS_AIRES).as_deref(),
            Some("2027-01-01T03:00:00Z")
        );
        assert_eq!(
            start_of_local_day("2026-11-30", &FixedZone(9 * 3600)).as_deref(),
            Some("2026-11-29T15:00:00Z")
        );
        assert_eq!(start_of_local_day("30/11/2026", &BUENOS_AIRES), None);
        assert_eq!(start_of_local_day("2026-11-30T00", &BUENOS_AIRES), None);
    }

    #[test]
    fn the_zone_is_named_with_its_offset() {
        assert_eq!(zone_text(&FixedZone(0), "2026-11-30T12:00:00Z"), "UTC");
        assert_eq!(
            zone_text(&BUENOS_AIRES, "2026-11-30T12:00:00Z"),
            "UTC-03:00"
        );
    }

    #[test]
    fn numbers_follow_the_language_both_ways() {
        assert_eq!(localised_number(Language::Spanish, "2.4".into()), "2,4");
        assert_eq!(localised_number(Language::English, "2.4".into()), "2.4");
        assert_eq!(delocalised_number(Language::Spanish, "2,4"), "2.4");
        assert_eq!(delocalised_number(Language::Spanish, "2.4"), "2.4");
        assert_eq!(delocalised_number(Language::English, "2,4"), "2,4");
        // Two separators stay as typed and fail to parse as a number.
        assert_eq!(delocalised_number(Language::Spanish, "1.2,4"), "1.2,4");
    }
}
