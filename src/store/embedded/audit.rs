//! The audit log, keyed by (time, sequence number) so that it reads in
//! time order and its oldest events go as one range.

use super::tables::{AUDIT_EVENTS, AUDIT_SEQUENCE, META};
use super::{Tables, Write, decode, encode};
use crate::store::tx::{AuditReads, AuditWrites};
use crate::store::{AuditEntry, AuditEvent, AuditFilter, AuditPosition, StoreError};
use redb::ReadableTable;
use time::OffsetDateTime;

/// Unix nanoseconds, within what an `i64` holds (years 1677 to 2262).
fn nanos(at: OffsetDateTime) -> i64 {
    let nanos = at.unix_timestamp_nanos();
    i64::try_from(nanos).unwrap_or(if nanos < 0 { i64::MIN } else { i64::MAX })
}

fn position((at, seq): (i64, u64)) -> AuditPosition {
    AuditPosition {
        at: OffsetDateTime::from_unix_timestamp_nanos(at.into())
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        seq,
    }
}

impl<T: Tables> AuditReads for T {
    fn audit_events(
        &self,
        filter: &AuditFilter,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let events = self.table(AUDIT_EVENTS)?;
        let lowest = (filter.since.map_or(i64::MIN, nanos), 0);
        let range = match filter.before {
            Some(before) => events.range(lowest..(nanos(before.at), before.seq))?,
            None => events.range(lowest..)?,
        };
        let mut found = Vec::new();
        for entry in range.rev() {
            if found.len() == limit {
                break;
            }
            let (key, bytes) = entry?;
            let event: AuditEvent = decode("audit event", bytes.value())?;
            if filter.matches(&event) {
                found.push(AuditEntry {
                    position: position(key.value()),
                    event,
                });
            }
        }
        Ok(found)
    }
}

impl AuditWrites for Write {
    fn append_audit_event(&self, event: &AuditEvent) -> Result<AuditPosition, StoreError> {
        let mut meta = self.0.open_table(META)?;
        let seq = meta.get(AUDIT_SEQUENCE)?.map_or(0, |last| last.value()) + 1;
        meta.insert(AUDIT_SEQUENCE, seq)?;
        let key = (nanos(event.at), seq);
        self.0
            .open_table(AUDIT_EVENTS)?
            .insert(key, encode(event).as_slice())?;
        Ok(position(key))
    }

    fn delete_audit_events_before(&self, before: OffsetDateTime) -> Result<usize, StoreError> {
        let mut events = self.0.open_table(AUDIT_EVENTS)?;
        let mut removed = 0;
        for entry in events.extract_from_if(..(nanos(before), 0), |_, _| true)? {
            entry?;
            removed += 1;
        }
        Ok(removed)
    }
}
