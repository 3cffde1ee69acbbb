//! Writers racing: the invariants that rest on transactions being
//! serialisable, with threads started at once.

use super::records::*;
use super::{read, write};
use crate::store::*;
use std::sync::Arc;

/// Runs `change` on `threads` threads at once, each in its own write
/// transaction; returns what each returned.
pub(super) fn at_once<T: Send + 'static>(
    store: &Arc<Store>,
    threads: usize,
    change: impl Fn(&dyn WriteTx) -> Result<T, StoreError> + Send + Sync + 'static,
) -> Vec<T> {
    let change = Arc::new(change);
    let barrier = Arc::new(std::sync::Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (store, change, barrier) = (store.clone(), change.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                store.write(|tx| change(tx)).expect("write")
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|handle| handle.join().expect("thread"))
        .collect()
}

/// Between a read and the write that depends on it: long enough for the
/// other writers of [`at_once`] to read too, if the backend lets them.
pub(super) fn pause() {
    std::thread::sleep(std::time::Duration::from_millis(5));
}

pub(super) fn concurrent_writers_take_a_journey_once(store: Arc<Store>) {
    write(&store, |tx| tx.put_journey(&hash(1), &journey(now())));
    let taken = at_once(&store, 8, |tx| {
        let seen = tx.journey(&hash(1))?;
        pause();
        Ok(seen.and(tx.take_journey(&hash(1))?))
    });
    assert_eq!(taken.iter().flatten().count(), 1);
}

pub(super) fn concurrent_writers_redeem_a_code_once(store: Arc<Store>) {
    write(&store, |tx| tx.put_code(&hash(1), &code(now())));
    let redeemed = at_once(&store, 8, |tx| {
        let Some(mut code) = tx.code(&hash(1))? else {
            return Ok(false);
        };
        if code.redeemed.is_some() {
            return Ok(false);
        }
        pause();
        code.redeemed = Some(Issued {
            jti: "jti".into(),
            access_expires_at: now(),
            family: None,
        });
        tx.put_code(&hash(1), &code)?;
        Ok(true)
    });
    assert_eq!(redeemed.iter().filter(|won| **won).count(), 1);
}

pub(super) fn concurrent_failures_are_all_counted(store: Arc<Store>) {
    at_once(&store, 8, |tx| {
        let failures = tx.throttle("alice")?.map_or(0, |t| t.failures);
        pause();
        tx.put_throttle("alice", &throttle(failures + 1))
    });
    assert_eq!(read(&store, |tx| tx.throttle("alice")), Some(throttle(8)));
}
