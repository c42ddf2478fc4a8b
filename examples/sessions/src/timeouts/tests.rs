//! Unit tests for the module beside this folder: kept out of its file so
//! that the chapters, which include the whole file, stay light.

use super::*;

const MINUTE: Duration = Duration::from_secs(60);

fn logged_in_at(start: SystemTime) -> SessionRecord {
    SessionRecord {
        user: "alice".to_owned(),
        created_at: start,
        last_seen: start,
        login_id: "alice-login".to_owned(),
        device: sessions::Device::default(),
    }
}

#[test]
fn a_session_is_active_until_the_idle_timeout() {
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let record = logged_in_at(start);
    let timeouts = Timeouts::default();
    assert_eq!(
        timeouts.judge(&record, start + 29 * MINUTE),
        Verdict::Active
    );
    assert_eq!(
        timeouts.judge(&record, start + 30 * MINUTE),
        Verdict::IdleExpired
    );
}

#[test]
fn activity_cannot_extend_a_session_past_the_absolute_timeout() {
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let mut record = logged_in_at(start);
    let timeouts = Timeouts::default();
    record.last_seen = start + 8 * 60 * MINUTE - MINUTE;
    assert_eq!(
        timeouts.judge(&record, start + 8 * 60 * MINUTE),
        Verdict::AbsoluteExpired
    );
}

#[test]
fn a_clock_that_goes_backwards_extends_nothing() {
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let record = logged_in_at(start);
    assert_eq!(
        Timeouts::default().judge(&record, start - MINUTE),
        Verdict::Active
    );
}
