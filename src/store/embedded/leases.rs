//! Leases on periodic work, by name.

use super::tables::LEASES;
use super::{Write, decode, encode};
use crate::store::StoreError;
use crate::store::tx::LeaseWrites;
use redb::ReadableTable;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Who holds a lease, and until when.
#[derive(Serialize, Deserialize)]
struct Lease {
    holder: String,
    #[serde(with = "time::serde::rfc3339")]
    until: OffsetDateTime,
}

impl LeaseWrites for Write {
    fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut leases = self.0.open_table(LEASES)?;
        let current = leases
            .get(name)?
            .map(|bytes| decode::<Lease>("lease", bytes.value()))
            .transpose()?;
        if current.is_some_and(|lease| lease.holder != holder && lease.until > now) {
            return Ok(false);
        }
        let lease = Lease {
            holder: holder.to_owned(),
            until,
        };
        leases.insert(name, encode(&lease).as_slice())?;
        Ok(true)
    }
}
