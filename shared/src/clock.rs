//! Wall-clock helpers. Records store times as RFC 3339 strings for people and
//! as epoch seconds where DynamoDB needs a number (TTL attributes).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

pub fn epoch_seconds(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

pub fn rfc3339(t: OffsetDateTime) -> String {
    // Formatting a valid UTC OffsetDateTime as RFC 3339 cannot fail for years 0..=9999.
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Sortable to the nanosecond, for keys that order events.
pub fn rfc3339_nanos(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z"
    );
    t.format(&f)
        .unwrap_or_else(|_| t.unix_timestamp_nanos().to_string())
}

pub fn parse_rfc3339(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(|t| t.to_offset(time::UtcOffset::UTC))
}

/// An epoch time from outside (a provider's timestamp); out-of-range
/// values clamp to the epoch rather than fail.
pub fn from_epoch(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}
