//! A copy of the whole store into a new redb file, from one read
//! transaction: a snapshot, so writers keep going and the copy is the
//! store as it was at one instant, schema version included.

use super::tables::{self, CLIENTS, EachTable, USERS};
use crate::store::{BackupSummary, StoreError};
use redb::{
    Database, Key, MultimapTableDefinition, MultimapTableHandle, ReadableMultimapTable,
    ReadableTable, ReadableTableMetadata, TableDefinition, TableHandle, Value,
};
use std::collections::BTreeSet;
use std::path::Path;

/// Copies every table of `source` into a new store at `to`, an empty file,
/// in one write transaction that commits durably.
pub(super) fn copy(source: &redb::ReadTransaction, to: &Path) -> Result<BackupSummary, StoreError> {
    let target = Database::create(to)?;
    let tx = target.begin_write()?;
    let mut copy = Copy {
        source,
        target: &tx,
        copied: BTreeSet::new(),
    };
    tables::each(&mut copy)?;
    // A table this build does not list would be lost in the copy: refuse
    // rather than hand over a backup that silently lacks it.
    let present = source
        .list_tables()?
        .map(|table| table.name().to_owned())
        .chain(
            source
                .list_multimap_tables()?
                .map(|table| table.name().to_owned()),
        );
    for name in present {
        if !copy.copied.contains(&name) {
            return Err(StoreError::Backend(
                format!("the store has a table `{name}` that this build cannot copy").into(),
            ));
        }
    }
    tx.commit()?;
    drop(target);
    Ok(BackupSummary {
        bytes: std::fs::metadata(to)
            .map_err(|source| StoreError::BackupTarget {
                path: to.to_owned(),
                source,
            })?
            .len(),
        users: source.open_table(USERS)?.len()?,
        clients: source.open_table(CLIENTS)?.len()?,
    })
}

/// Copies each table it visits, entry by entry, and names it.
struct Copy<'a> {
    source: &'a redb::ReadTransaction,
    target: &'a redb::WriteTransaction,
    copied: BTreeSet<String>,
}

impl EachTable for Copy<'_> {
    fn table<K: Key + 'static, V: Value + 'static>(
        &mut self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<(), StoreError> {
        let mut to = self.target.open_table(def)?;
        self.copied.insert(def.name().to_owned());
        // A store of an older schema may lack a newer table: it copies as
        // an empty one.
        let from = match self.source.open_table(def) {
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
            from => from?,
        };
        for entry in from.iter()? {
            let (key, value) = entry?;
            to.insert(key.value(), value.value())?;
        }
        Ok(())
    }

    fn multimap<K: Key + 'static, V: Key + 'static>(
        &mut self,
        def: MultimapTableDefinition<'static, K, V>,
    ) -> Result<(), StoreError> {
        let mut to = self.target.open_multimap_table(def)?;
        self.copied.insert(def.name().to_owned());
        let from = match self.source.open_multimap_table(def) {
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
            from => from?,
        };
        for entry in from.iter()? {
            let (key, values) = entry?;
            for value in values {
                to.insert(key.value(), value?.value())?;
            }
        }
        Ok(())
    }
}
