//! The outbox of back-channel logout notices, keyed by id. It holds what
//! is waiting for delivery only (a handful), so finding the due ones is a
//! scan.

use super::tables::LOGOUT_NOTICES;
use super::{Tables, Write, decode, encode};
use crate::store::tx::{LogoutReads, LogoutWrites};
use crate::store::{LogoutNotice, StoreError};
use redb::ReadableTable;
use time::OffsetDateTime;

impl<T: Tables> LogoutReads for T {
    fn logout_notice(&self, id: &str) -> Result<Option<LogoutNotice>, StoreError> {
        let notices = self.table(LOGOUT_NOTICES)?;
        let found = notices.get(id)?;
        found
            .map(|bytes| decode("logout notice", bytes.value()))
            .transpose()
    }

    fn logout_notices_due(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<(String, LogoutNotice)>, StoreError> {
        let mut due = Vec::new();
        for entry in self.table(LOGOUT_NOTICES)?.iter()? {
            let (id, bytes) = entry?;
            let notice: LogoutNotice = decode("logout notice", bytes.value())?;
            if notice.next_attempt_at <= now {
                due.push((id.value().to_owned(), notice));
            }
        }
        due.sort_by_key(|(_, notice)| notice.next_attempt_at);
        due.truncate(limit);
        Ok(due)
    }
}

impl LogoutWrites for Write {
    fn put_logout_notice(&self, id: &str, notice: &LogoutNotice) -> Result<(), StoreError> {
        self.0
            .open_table(LOGOUT_NOTICES)?
            .insert(id, encode(notice).as_slice())?;
        Ok(())
    }

    fn delete_logout_notice(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.0.open_table(LOGOUT_NOTICES)?.remove(id)?.is_some())
    }
}
