//! The devices each user has remembered, as one JSON list per user: a user
//! has a handful, always read together.

use super::tables::DEVICES;
use super::{Tables, Write, decode, encode};
use crate::store::tx::{DeviceReads, DeviceWrites};
use crate::store::{KnownDevice, StoreError};
use redb::ReadableTable;

impl<T: Tables> DeviceReads for T {
    fn devices_of(&self, user_id: &str) -> Result<Vec<KnownDevice>, StoreError> {
        let devices = self.table(DEVICES)?;
        let found = devices.get(user_id)?;
        found
            .map(|bytes| decode("devices", bytes.value()))
            .transpose()
            .map(Option::unwrap_or_default)
    }
}

impl DeviceWrites for Write {
    fn put_devices(&self, user_id: &str, devices: &[KnownDevice]) -> Result<(), StoreError> {
        let mut table = self.0.open_table(DEVICES)?;
        if devices.is_empty() {
            table.remove(user_id)?;
        } else {
            table.insert(user_id, encode(&devices).as_slice())?;
        }
        Ok(())
    }
}
