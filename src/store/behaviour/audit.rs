//! The audit log: order, filters, pages and retention.

use super::records::*;
use super::{read, write};
use crate::store::*;
use time::Duration;

fn kinds(entries: &[AuditEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.event.kind.as_str()).collect()
}

pub(super) fn audit_events_come_back_newest_first_in_order_of_recording(store: &Store) {
    let earlier = now() - Duration::minutes(1);
    write(store, |tx| {
        tx.append_audit_event(&audit_event(now(), "login", "user:alice"))?;
        // Same instant: recorded later, so newer.
        tx.append_audit_event(&audit_event(now(), "logout", "user:alice"))?;
        // An earlier time recorded later still sorts by its time.
        tx.append_audit_event(&audit_event(earlier, "registration", "user:alice"))
    });
    let all = read(store, |tx| tx.audit_events(&AuditFilter::default(), 10));
    assert_eq!(kinds(&all), ["logout", "login", "registration"]);
    assert_eq!(all[0].position.at, now());
    assert!(all[0].position.seq > all[1].position.seq);
    assert_eq!(all[0].event, audit_event(now(), "logout", "user:alice"));
    assert_eq!(all[2].position.at, earlier);
}

pub(super) fn audit_events_are_filtered_and_paged_by_position(store: &Store) {
    write(store, |tx| {
        for minute in 0..5 {
            let at = now() + Duration::minutes(minute);
            tx.append_audit_event(&audit_event(at, "admin.user.create", "user:root"))?;
            tx.append_audit_event(&audit_event(at, "login", "client:notes"))?;
        }
        tx.append_audit_event(&audit_event(now(), "administrator", "user:root"))?;
        Ok(())
    });
    let query = |filter: AuditFilter, limit| read(store, |tx| tx.audit_events(&filter, limit));
    // A dotted prefix, never a bare one.
    let admin = query(
        AuditFilter {
            kind: Some("admin".into()),
            ..AuditFilter::default()
        },
        100,
    );
    assert_eq!(admin.len(), 5);
    // The actor whole or by name.
    for actor in ["client:notes", "notes"] {
        let found = query(
            AuditFilter {
                actor: Some(actor.into()),
                ..AuditFilter::default()
            },
            100,
        );
        assert_eq!(found.len(), 5, "{actor}");
    }
    let since = query(
        AuditFilter {
            since: Some(now() + Duration::minutes(3)),
            kind: Some("login".into()),
            ..AuditFilter::default()
        },
        100,
    );
    assert_eq!(since.len(), 2);

    // Pages of two, each before the last one's position, cover everything once.
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = query(
            AuditFilter {
                before,
                ..AuditFilter::default()
            },
            2,
        );
        let Some(last) = page.last() else { break };
        before = Some(last.position);
        seen.extend(page.iter().map(|entry| entry.position));
    }
    assert_eq!(seen.len(), 11);
    assert!(seen.windows(2).all(|pair| pair[0] > pair[1]));
}

pub(super) fn audit_events_before_a_time_are_purged_and_no_later_one(store: &Store) {
    write(store, |tx| {
        tx.append_audit_event(&audit_event(
            now() - Duration::days(91),
            "login",
            "anonymous",
        ))?;
        tx.append_audit_event(&audit_event(
            now() - Duration::days(90),
            "logout",
            "anonymous",
        ))?;
        tx.append_audit_event(&audit_event(now(), "lockout", "anonymous"))
    });
    let cutoff = now() - Duration::days(90);
    assert_eq!(write(store, |tx| tx.delete_audit_events_before(cutoff)), 1);
    let left = read(store, |tx| tx.audit_events(&AuditFilter::default(), 10));
    assert_eq!(kinds(&left), ["lockout", "logout"]);
    // Sequence numbers are never given twice, even after a purge.
    let next = write(store, |tx| {
        tx.append_audit_event(&audit_event(now(), "login", "anonymous"))
    });
    assert!(left.iter().all(|entry| entry.position.seq < next.seq));
}
