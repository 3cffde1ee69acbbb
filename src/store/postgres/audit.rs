//! The audit log, keyed by (time, sequence number) so that it reads in
//! time order and its oldest events go as one range. The sequence is an
//! identity column: as writers hold the write lock, a later commit gets a
//! higher number.

use super::{Tx, count, decode, encode, nanos};
use crate::store::tx::{AuditReads, AuditWrites};
use crate::store::{AuditEntry, AuditEvent, AuditFilter, AuditPosition, StoreError};
use time::OffsetDateTime;

/// Rows read at a time while filtering newest first.
const PAGE: i64 = 256;

fn position(at: i64, seq: i64) -> AuditPosition {
    AuditPosition {
        at: OffsetDateTime::from_unix_timestamp_nanos(at.into())
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        seq: u64::try_from(seq).unwrap_or(0),
    }
}

impl AuditReads for Tx {
    /// Pages of rows newest first, each after the last row of the one
    /// before, until `limit` events pass the filter or none are left.
    fn audit_events(
        &self,
        filter: &AuditFilter,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let since = filter.since.map_or(i64::MIN, nanos);
        let mut below = filter.before.map_or((i64::MAX, i64::MAX), |before| {
            (
                nanos(before.at),
                i64::try_from(before.seq).unwrap_or(i64::MAX),
            )
        });
        let mut found = Vec::new();
        while found.len() < limit {
            let rows = self.query(
                "SELECT at, seq, record FROM audit_events \
                 WHERE (at, seq) >= ($1, 0) AND (at, seq) < ($2, $3) \
                 ORDER BY at DESC, seq DESC LIMIT $4",
                &[&since, &below.0, &below.1, &PAGE],
            )?;
            for row in &rows {
                below = (row.get(0), row.get(1));
                let event: AuditEvent = decode("audit event", row.get(2))?;
                if found.len() < limit && filter.matches(&event) {
                    found.push(AuditEntry {
                        position: position(below.0, below.1),
                        event,
                    });
                }
            }
            if rows.len() < usize::try_from(PAGE).unwrap_or(usize::MAX) {
                break;
            }
        }
        Ok(found)
    }
}

impl AuditWrites for Tx {
    fn append_audit_event(&self, event: &AuditEvent) -> Result<AuditPosition, StoreError> {
        let at = nanos(event.at);
        let seq: i64 = self
            .one(
                "INSERT INTO audit_events (at, record) VALUES ($1, $2) RETURNING seq",
                &[&at, &encode(event)],
            )?
            .get(0);
        Ok(position(at, seq))
    }

    fn delete_audit_events_before(&self, before: OffsetDateTime) -> Result<usize, StoreError> {
        count(self.execute("DELETE FROM audit_events WHERE at < $1", &[&nanos(before)])?)
    }
}
