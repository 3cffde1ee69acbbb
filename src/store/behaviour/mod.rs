//! What every backend must do, written once against [`Store`] and the
//! traits of [`super::tx`], and run against each backend by
//! [`behaviours!`]: a new backend adds one module at the bottom.

mod audit;
mod grants;
mod races;
pub(in crate::store) mod records;

use super::*;
use audit::*;
use grants::*;
use races::*;
use records::*;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

fn write<T>(store: &Store, f: impl FnOnce(&dyn WriteTx) -> Result<T, StoreError>) -> T {
    store.write(f).expect("write")
}

fn read<T>(store: &Store, f: impl FnOnce(&dyn ReadTx) -> Result<T, StoreError>) -> T {
    store.read(f).expect("read")
}

fn a_failed_write_changes_nothing(store: &Store) {
    let failed = store.write(|tx| {
        tx.put_user(&user("u1", "alice", None))?;
        tx.put_session(&hash(1), &session("s1", "u1"))?;
        Err::<(), _>(StoreError::NewerSchema { found: 9, known: 1 })
    });
    assert!(failed.is_err());
    assert_eq!(read(store, |tx| tx.user("u1")), None);
    assert_eq!(read(store, |tx| tx.session(&hash(1))), None);
    assert!(!read(store, |tx| tx.any_user()));
}

fn a_write_sees_its_own_changes_and_commits_them_together(store: &Store) {
    let seen = write(store, |tx| {
        tx.put_user(&user("u1", "alice", None))?;
        tx.put_session(&hash(1), &session("s1", "u1"))?;
        Ok(tx.user_by_username("alice")?.is_some() && tx.session(&hash(1))?.is_some())
    });
    assert!(seen);
    assert!(read(store, |tx| tx.any_user()));
    assert_eq!(read(store, |tx| tx.sessions_of("u1")).len(), 1);
}

/// A snapshot is taken by the read's first look (PostgreSQL's), or before
/// (redb's): what is committed after that look stays unseen.
fn a_read_sees_the_store_as_it_was_when_it_first_looked(store: &Store) {
    let seen = read(store, |tx| {
        assert_eq!(tx.user("u1")?, None);
        write(store, |tx| tx.put_user(&user("u1", "alice", None)));
        tx.user("u1")
    });
    assert_eq!(seen, None);
    assert!(read(store, |tx| tx.user("u1")).is_some());
}

/// A backend may keep sessions and users it read (PostgreSQL's cache):
/// a write of the same process is still seen by every read after it.
fn a_session_or_user_just_read_is_read_anew_once_a_write_changes_it(store: &Store) {
    write(store, |tx| {
        tx.put_user(&user("u1", "alice", None))?;
        tx.put_session(&hash(1), &session("s1", "u1"))
    });
    assert!(read(store, |tx| tx.session(&hash(1))).is_some());
    assert_eq!(
        read(store, |tx| tx.user("u1"))
            .map(|u| u.username)
            .as_deref(),
        Some("alice")
    );
    write(store, |tx| {
        tx.delete_session(&hash(1))?;
        tx.put_user(&user("u1", "bob", None))
    });
    assert_eq!(read(store, |tx| tx.session(&hash(1))), None);
    assert_eq!(
        read(store, |tx| tx.user("u1"))
            .map(|u| u.username)
            .as_deref(),
        Some("bob")
    );
    write(store, |tx| tx.delete_user(&user("u1", "bob", None)));
    assert_eq!(read(store, |tx| tx.user("u1")), None);
}

/// What a read found in a snapshot older than a write is not kept for
/// reads that begin after that write.
fn a_read_begun_before_a_write_leaves_nothing_stale_behind(store: &Store) {
    write(store, |tx| tx.put_session(&hash(1), &session("s1", "u1")));
    let in_snapshot = read(store, |tx| {
        assert_eq!(tx.user("u0")?, None);
        write(store, |tx| tx.delete_session(&hash(1)));
        tx.session(&hash(1))
    });
    assert!(in_snapshot.is_some(), "the snapshot predates the delete");
    assert_eq!(read(store, |tx| tx.session(&hash(1))), None);
}

fn a_volatile_write_is_seen_by_the_next_read(store: &Store) {
    store
        .write_volatile(|tx| tx.put_journey(&hash(1), &journey(now())))
        .expect("write");
    assert_eq!(read(store, |tx| tx.journey(&hash(1))), Some(journey(now())));
}

fn users_are_found_by_id_username_and_any_case_of_email(store: &Store) {
    let alice = user("u1", "alice", Some("Émilie.Alice@Example.com"));
    write(store, |tx| tx.put_user(&alice));
    assert_eq!(read(store, |tx| tx.user("u1")).as_ref(), Some(&alice));
    assert_eq!(
        read(store, |tx| tx.user_by_username("alice")).as_ref(),
        Some(&alice)
    );
    assert_eq!(
        read(store, |tx| tx.user_by_email(" émilie.alice@EXAMPLE.com")).as_ref(),
        Some(&alice)
    );
    assert_eq!(read(store, |tx| tx.user_by_username("bob")), None);
    assert_eq!(read(store, |tx| tx.user_by_email("bob@example.com")), None);
}

fn renaming_a_user_or_changing_the_email_moves_the_indexes(store: &Store) {
    write(store, |tx| {
        tx.put_user(&user("u1", "alice", Some("a@example.com")))
    });
    write(store, |tx| {
        tx.put_user(&user("u1", "alicia", Some("b@example.com")))
    });
    assert_eq!(read(store, |tx| tx.user_by_username("alice")), None);
    assert_eq!(read(store, |tx| tx.user_by_email("a@example.com")), None);
    let found = read(store, |tx| tx.user_by_username("alicia")).expect("renamed");
    assert_eq!(found.email.as_deref(), Some("b@example.com"));
    assert_eq!(read(store, |tx| tx.users()).len(), 1);
}

fn deleting_a_user_frees_the_name_but_not_an_email_another_holds(store: &Store) {
    write(store, |tx| {
        tx.put_user(&user("u1", "alice", Some("shared@example.com")))?;
        // The index now points at bob, who took the address over.
        tx.put_user(&user("u2", "bob", Some("shared@example.com")))
    });
    let alice = read(store, |tx| tx.user("u1")).expect("alice");
    write(store, |tx| tx.delete_user(&alice));
    assert_eq!(read(store, |tx| tx.user("u1")), None);
    assert_eq!(read(store, |tx| tx.user_by_username("alice")), None);
    let holder = read(store, |tx| tx.user_by_email("shared@example.com")).expect("bob");
    assert_eq!(holder.id, "u2");
}

fn users_are_listed_in_username_order(store: &Store) {
    write(store, |tx| {
        tx.put_user(&user("u1", "carol", None))?;
        tx.put_user(&user("u2", "alice", None))?;
        tx.put_user(&user("u3", "bob", None))
    });
    let names: Vec<String> = read(store, |tx| tx.users())
        .into_iter()
        .map(|user| user.username)
        .collect();
    assert_eq!(names, ["alice", "bob", "carol"]);
}

fn users_are_paged_in_username_order(store: &Store) {
    write(store, |tx| {
        for (id, name) in [
            ("u1", "dave"),
            ("u2", "alice"),
            ("u3", "carol"),
            ("u4", "bob"),
        ] {
            tx.put_user(&user(id, name, None))?;
        }
        Ok(())
    });
    let names = |after, limit| -> Vec<String> {
        read(store, |tx| tx.users_after(after, limit))
            .into_iter()
            .map(|user| user.username)
            .collect()
    };
    assert_eq!(names(None, 2), ["alice", "bob"]);
    assert_eq!(names(Some("bob"), 2), ["carol", "dave"]);
    // A cursor that names no user still starts after it.
    assert_eq!(names(Some("bz"), 10), ["carol", "dave"]);
    assert!(names(Some("dave"), 10).is_empty());
}

fn sessions_are_listed_per_user_counted_and_deleted_one_by_one_or_once_ended(store: &Store) {
    assert_eq!(read(store, |tx| tx.session_count()), 0);
    write(store, |tx| {
        // Put twice: still one session, listed once.
        tx.put_session(&hash(1), &session("s1", "u1"))?;
        tx.put_session(&hash(1), &session("s1", "u1"))?;
        tx.put_session(&hash(2), &session("s2", "u1"))?;
        tx.put_session(&hash(3), &session("s3", "u2"))
    });
    let mut ids: Vec<String> = read(store, |tx| tx.sessions_of("u1"))
        .into_iter()
        .map(|(_, session)| session.id)
        .collect();
    ids.sort();
    assert_eq!(ids, ["s1", "s2"]);
    assert_eq!(read(store, |tx| tx.session_count()), 3);

    let removed = write(store, |tx| tx.delete_session(&hash(1)));
    assert_eq!(removed.map(|s| s.id).as_deref(), Some("s1"));
    assert_eq!(write(store, |tx| tx.delete_session(&hash(1))), None);
    assert_eq!(read(store, |tx| tx.sessions_of("u1")).len(), 1);
    assert_eq!(read(store, |tx| tx.session_count()), 2);

    // s2 is idle past the timeout, s4 past its absolute expiry (to the
    // second); s3 goes on.
    let idle = Duration::minutes(30);
    let mut s2 = session("s2", "u1");
    s2.last_used_at = now() - idle;
    let mut s3 = session("s3", "u2");
    s3.last_used_at = now() - idle + Duration::seconds(1);
    let mut s4 = session("s4", "u2");
    s4.absolute_expires_at = now();
    write(store, |tx| {
        tx.put_session(&hash(2), &s2)?;
        tx.put_session(&hash(3), &s3)?;
        tx.put_session(&hash(4), &s4)
    });
    let mut ended: Vec<String> = write(store, |tx| tx.delete_expired_sessions(now(), idle))
        .into_iter()
        .map(|session| session.id)
        .collect();
    ended.sort();
    assert_eq!(ended, ["s2", "s4"]);
    assert_eq!(read(store, |tx| tx.session(&hash(2))), None);
    assert!(read(store, |tx| tx.sessions_of("u1")).is_empty());
    let left: Vec<String> = read(store, |tx| tx.sessions_of("u2"))
        .into_iter()
        .map(|(_, session)| session.id)
        .collect();
    assert_eq!(left, ["s3"]);
    assert_eq!(read(store, |tx| tx.session_count()), 1);
}

fn a_session_keeps_the_clients_it_gave_id_tokens_to(store: &Store) {
    let mut stored = session("s1", "u1");
    stored.id_token_clients = vec!["app".into(), "wiki".into()];
    write(store, |tx| tx.put_session(&hash(1), &stored));
    assert_eq!(read(store, |tx| tx.session(&hash(1))), Some(stored.clone()));
    assert_eq!(write(store, |tx| tx.delete_session(&hash(1))), Some(stored));
}

fn logout_notices_come_due_in_order_and_go_once_delivered(store: &Store) {
    let later = now() + Duration::seconds(30);
    write(store, |tx| {
        tx.put_logout_notice("n1", &logout_notice("app", now()))?;
        tx.put_logout_notice("n2", &logout_notice("wiki", now() - Duration::seconds(5)))?;
        tx.put_logout_notice("n3", &logout_notice("mail", later))
    });
    let ids = |at, limit| -> Vec<String> {
        read(store, |tx| tx.logout_notices_due(at, limit))
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    };
    assert_eq!(ids(now(), 10), ["n2", "n1"]);
    assert_eq!(ids(now(), 1), ["n2"]);
    assert_eq!(ids(later, 10), ["n2", "n1", "n3"]);
    // Put again with a later attempt: replaced, not added.
    let mut retried = logout_notice("app", later + Duration::seconds(1));
    retried.attempts = 1;
    write(store, |tx| tx.put_logout_notice("n1", &retried));
    assert_eq!(ids(later, 10), ["n2", "n3"]);
    assert_eq!(read(store, |tx| tx.logout_notice("n1")), Some(retried));
    assert!(write(store, |tx| tx.delete_logout_notice("n2")));
    assert!(!write(store, |tx| tx.delete_logout_notice("n2")));
    assert_eq!(read(store, |tx| tx.logout_notice("n2")), None);
    assert_eq!(ids(later, 10), ["n3"]);
}

fn a_journey_is_taken_once(store: &Store) {
    write(store, |tx| tx.put_journey(&hash(1), &journey(now())));
    assert!(write(store, |tx| tx.take_journey(&hash(1))).is_some());
    assert_eq!(write(store, |tx| tx.take_journey(&hash(1))), None);
}

fn a_finished_journey_is_not_revived_and_attempts_never_go_down(store: &Store) {
    write(store, |tx| tx.put_journey(&hash(1), &journey(now())));
    let counts: Vec<_> = (0..3)
        .map(|_| write(store, |tx| tx.count_journey_attempt(&hash(1), "password")))
        .collect();
    assert_eq!(counts, [Some(1), Some(2), Some(3)]);

    // A step that read the state before those attempts writes it back.
    let mut stale = journey(now());
    stale.node = "totp".into();
    stale.attempts.insert("password".into(), 1);
    assert!(write(store, |tx| tx.replace_journey(&hash(1), &stale)));
    let stored = read(store, |tx| tx.journey(&hash(1))).expect("journey");
    assert_eq!(stored.node, "totp");
    assert_eq!(stored.attempts.get("password"), Some(&3));

    write(store, |tx| tx.take_journey(&hash(1)));
    assert!(!write(store, |tx| tx.replace_journey(&hash(1), &stale)));
    assert_eq!(
        write(store, |tx| tx.count_journey_attempt(&hash(1), "password")),
        None
    );
    assert_eq!(read(store, |tx| tx.journey(&hash(1))), None);
}

fn expired_journeys_are_purged(store: &Store) {
    write(store, |tx| {
        tx.put_journey(&hash(1), &journey(now() - Duration::seconds(1)))?;
        tx.put_journey(&hash(2), &journey(now() + Duration::minutes(5)))
    });
    assert_eq!(write(store, |tx| tx.delete_expired_journeys(now())), 1);
    assert_eq!(read(store, |tx| tx.journey(&hash(1))), None);
    assert!(read(store, |tx| tx.journey(&hash(2))).is_some());
}

fn failure_counters_are_kept_forgotten_and_purged_once_stale(store: &Store) {
    write(store, |tx| {
        tx.put_throttle("alice", &throttle(2))?;
        tx.put_throttle("alice", &throttle(3))
    });
    assert_eq!(read(store, |tx| tx.throttle("alice")), Some(throttle(3)));
    write(store, |tx| tx.delete_throttle("alice"));
    assert_eq!(read(store, |tx| tx.throttle("alice")), None);

    // All three windows are over; only the lock that has not ended keeps
    // its counter.
    let window = Duration::minutes(15);
    let later = now() + window;
    let mut ended = throttle(5);
    ended.locked_until = Some(later);
    let mut locked = throttle(5);
    locked.locked_until = Some(later + Duration::seconds(1));
    write(store, |tx| {
        tx.put_throttle("bob", &throttle(1))?;
        tx.put_throttle("carol", &ended)?;
        tx.put_throttle("dave", &locked)?;
        tx.put_throttle("erin", &throttle(1))
    });
    let mut fresh = throttle(1);
    fresh.window_started_at = later;
    write(store, |tx| tx.put_throttle("erin", &fresh));
    assert_eq!(
        write(store, |tx| tx.delete_stale_throttles(later, window)),
        2
    );
    assert_eq!(read(store, |tx| tx.throttle("bob")), None);
    assert_eq!(read(store, |tx| tx.throttle("carol")), None);
    assert_eq!(read(store, |tx| tx.throttle("dave")), Some(locked));
    assert_eq!(read(store, |tx| tx.throttle("erin")), Some(fresh));
}

fn a_lease_is_held_by_one_holder_until_it_ends(store: &Store) {
    let (start, end) = (now(), now() + Duration::minutes(10));
    let take = |name: &str, holder: &str, at: OffsetDateTime, until: OffsetDateTime| {
        write(store, |tx| tx.take_lease(name, holder, at, until))
    };
    assert!(take("purge", "a", start, end), "a free lease is taken");
    assert!(
        !take("purge", "b", start, end),
        "not while another holds it"
    );
    assert!(take("purge", "a", start, end), "its holder renews it");
    assert!(!take("purge", "b", end - Duration::seconds(1), end));
    let next = end + Duration::minutes(10);
    assert!(take("purge", "b", end, next), "taken over once ended");
    assert!(!take("purge", "a", end, next), "and then the new holder's");
    assert!(take("other", "a", end, next), "leases are per name");
}

fn push_requests_are_listed_per_user_and_deleted(store: &Store) {
    let later = now() + Duration::minutes(2);
    write(store, |tx| {
        tx.put_push_request(&push_request("p1", "u1", later))?;
        tx.put_push_request(&push_request("p2", "u1", now()))?;
        tx.put_push_request(&push_request("p3", "u2", later))
    });
    assert_eq!(read(store, |tx| tx.push_requests_of("u1")).len(), 2);
    let removed = write(store, |tx| tx.delete_push_request("p1"));
    assert_eq!(removed.map(|r| r.id).as_deref(), Some("p1"));
    assert_eq!(read(store, |tx| tx.push_request("p1")), None);
    // p2 expires at `now` exactly.
    assert_eq!(write(store, |tx| tx.delete_expired_push_requests(now())), 1);
    assert!(read(store, |tx| tx.push_requests_of("u1")).is_empty());
    assert_eq!(read(store, |tx| tx.push_requests_of("u2")).len(), 1);
}

fn passkeys_are_found_by_user_and_handle_and_deleted_with_their_handle(store: &Store) {
    let ring = crate::store::PasskeyRing {
        user_id: "u1".into(),
        user_handle: "handle-1".into(),
        credentials: Vec::new(),
        pending: None,
    };
    write(store, |tx| tx.put_passkeys(&ring));
    write(store, |tx| tx.put_passkeys(&ring));
    assert_eq!(read(store, |tx| tx.passkeys_of("u1")), Some(ring.clone()));
    assert_eq!(
        read(store, |tx| tx.passkeys_by_handle("handle-1")),
        Some(ring)
    );
    assert_eq!(read(store, |tx| tx.passkeys_by_handle("u1")), None);
    write(store, |tx| tx.delete_passkeys("u1"));
    assert_eq!(read(store, |tx| tx.passkeys_of("u1")), None);
    assert_eq!(read(store, |tx| tx.passkeys_by_handle("handle-1")), None);
    write(store, |tx| tx.delete_passkeys("nobody"));
}

fn remembered_devices_are_replaced_as_a_list(store: &Store) {
    assert!(read(store, |tx| tx.devices_of("u1")).is_empty());
    write(store, |tx| {
        tx.put_devices("u1", &[device("d1"), device("d2")])
    });
    assert_eq!(
        read(store, |tx| tx.devices_of("u1")),
        [device("d1"), device("d2")]
    );
    write(store, |tx| tx.put_devices("u1", &[]));
    assert!(read(store, |tx| tx.devices_of("u1")).is_empty());
}

fn clients_and_the_consents_of_exactly_one_user(store: &Store) {
    write(store, |tx| {
        tx.put_client(&client("web"))?;
        tx.put_client(&client("cli"))?;
        tx.put_consent(&consent("u1", "web"))?;
        tx.put_consent(&consent("u1", "cli"))?;
        // A user id that starts with the other one's.
        tx.put_consent(&consent("u10", "web"))
    });
    let ids: Vec<String> = read(store, |tx| tx.clients())
        .into_iter()
        .map(|client| client.client_id)
        .collect();
    assert_eq!(ids, ["cli", "web"]);
    assert_eq!(read(store, |tx| tx.consents_of("u1")).len(), 2);
    assert_eq!(
        read(store, |tx| tx.consent("u10", "web")),
        Some(consent("u10", "web"))
    );
    assert!(write(store, |tx| tx.delete_consent("u1", "web")));
    assert!(!write(store, |tx| tx.delete_consent("u1", "web")));
    assert_eq!(read(store, |tx| tx.consent("u1", "web")), None);
    assert!(write(store, |tx| tx.delete_client("web")));
    assert_eq!(read(store, |tx| tx.client("web")), None);
    assert!(!write(store, |tx| tx.delete_client("web")));
}

fn signing_keys_are_listed_replaced_and_removed(store: &Store) {
    let key = |kid: &str| SigningKey {
        kid: kid.into(),
        alg: crate::jwa::SigningAlg::EdDSA,
        sealed_private_pem: "sealed".into(),
        created_at: now(),
        retired_at: None,
    };
    write(store, |tx| {
        tx.put_signing_key(&key("k1"))?;
        tx.put_signing_key(&key("k2"))
    });
    let mut retired = key("k1");
    retired.retired_at = Some(now());
    write(store, |tx| tx.put_signing_key(&retired));
    write(store, |tx| tx.delete_signing_key("k2"));
    assert_eq!(read(store, |tx| tx.signing_keys()), [retired]);
}

fn a_backup_is_the_whole_store_at_one_instant_and_opens_as_a_store(store: &Store) {
    let later = now() + Duration::hours(1);
    write(store, |tx| {
        tx.put_user(&user("u1", "alice", Some("alice@example.com")))?;
        tx.put_session(&hash(1), &session("s1", "u1"))?;
        tx.put_client(&client("app"))?;
        tx.put_consent(&consent("u1", "app"))?;
        tx.put_refresh_token(&hash(2), &refresh("f1", "u1", later))?;
        tx.record_access("f1", "jti-1", later)?;
        tx.put_devices("u1", &[device("d1")])
    });
    let dir = tempfile::tempdir().expect("temporary folder");
    let to = dir.path().join("backup.redb");

    let summary = store.backup(&to, false).expect("backup");
    write(store, |tx| tx.put_user(&user("u2", "bob", None)));

    assert_eq!((summary.users, summary.clients), (1, 1));
    assert_eq!(summary.bytes, std::fs::metadata(&to).expect("file").len());
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("folder").count(),
        1,
        "no temporary file is left"
    );
    let copy = Store::open(&StoragePath::File(to.clone())).expect("the backup opens");
    assert_eq!(
        read(&copy, |tx| tx.users()),
        [user("u1", "alice", Some("alice@example.com"))],
        "the copy is the store as it was when the backup began"
    );
    assert!(read(&copy, |tx| tx.user_by_email("alice@example.com")).is_some());
    assert_eq!(read(&copy, |tx| tx.sessions_of("u1")).len(), 1);
    assert_eq!(read(&copy, |tx| tx.client("app")), Some(client("app")));
    assert!(read(&copy, |tx| tx.consent("u1", "app")).is_some());
    assert_eq!(read(&copy, |tx| tx.families_of("u1", "app")), ["f1"]);
    assert_eq!(read(&copy, |tx| tx.devices_of("u1")), [device("d1")]);
    write(&copy, |tx| tx.delete_family("f1").map(|_| ()));
    assert!(
        read(&copy, |tx| tx.is_jti_revoked("jti-1")),
        "the family's access tokens came along"
    );
    drop(copy);

    let refused = store.backup(&to, false);
    assert!(
        matches!(&refused, Err(StoreError::BackupTarget { source, .. })
            if source.kind() == std::io::ErrorKind::AlreadyExists),
        "{refused:?}"
    );
    assert_eq!(store.backup(&to, true).expect("overwrite").users, 2);
}

fn a_backup_to_send_leaves_no_file_behind_and_reads_as_a_store(store: &Store) {
    write(store, |tx| tx.put_user(&user("u1", "alice", None)));
    let dir = tempfile::tempdir().expect("temporary folder");

    let (mut file, summary) = store.backup_to_send(dir.path()).expect("backup");

    assert_eq!(std::fs::read_dir(dir.path()).expect("folder").count(), 0);
    let received = dir.path().join("received.redb");
    let copied = std::io::copy(
        &mut file,
        &mut std::fs::File::create(&received).expect("create"),
    );
    assert_eq!(copied.expect("copy"), summary.bytes);
    let copy = Store::open(&StoragePath::File(received)).expect("the backup opens");
    assert_eq!(read(&copy, |tx| tx.users()), [user("u1", "alice", None)]);
}

fn a_backup_of_a_database_points_to_its_own_tools(store: &Store) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let refused = store.backup(&dir.path().join("backup.redb"), false);
    let message = refused.expect_err("no backup file").to_string();
    assert!(message.contains("pg_dump"), "{message}");
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("folder").count(),
        0,
        "no file is left"
    );
}

/// One `#[test]` per behaviour and backend: `open` makes an empty store
/// (and whatever must outlive it, such as a temporary folder).
macro_rules! behaviours {
    ($backend:ident, $open:expr $(, also: $($extra:ident),* $(,)?)?) => {
        mod $backend {
            use super::*;

            $(behaviours!(@each $open; $($extra),*);)?

            behaviours!(@each $open;
                a_failed_write_changes_nothing,
                a_write_sees_its_own_changes_and_commits_them_together,
                a_read_sees_the_store_as_it_was_when_it_first_looked,
                a_volatile_write_is_seen_by_the_next_read,
                a_session_or_user_just_read_is_read_anew_once_a_write_changes_it,
                a_read_begun_before_a_write_leaves_nothing_stale_behind,
                users_are_found_by_id_username_and_any_case_of_email,
                renaming_a_user_or_changing_the_email_moves_the_indexes,
                deleting_a_user_frees_the_name_but_not_an_email_another_holds,
                users_are_listed_in_username_order,
                sessions_are_listed_per_user_counted_and_deleted_one_by_one_or_once_ended,
                a_session_keeps_the_clients_it_gave_id_tokens_to,
                logout_notices_come_due_in_order_and_go_once_delivered,
                a_journey_is_taken_once,
                a_finished_journey_is_not_revived_and_attempts_never_go_down,
                expired_journeys_are_purged,
                failure_counters_are_kept_forgotten_and_purged_once_stale,
                a_lease_is_held_by_one_holder_until_it_ends,
                push_requests_are_listed_per_user_and_deleted,
                remembered_devices_are_replaced_as_a_list,
                passkeys_are_found_by_user_and_handle_and_deleted_with_their_handle,
                users_are_paged_in_username_order,
                clients_and_the_consents_of_exactly_one_user,
                revoking_a_family_takes_its_refresh_and_access_tokens_and_no_other,
                expired_grants_are_purged_and_used_codes_kept_for_their_grace,
                a_rotated_token_expires_alone_and_its_family_with_the_last_token,
                device_authorizations_are_found_by_user_code_and_purged_with_it,
                a_pushed_request_is_taken_once_and_purged_when_expired,
                a_dpop_proof_is_new_once_and_purged_when_its_window_ends,
                signing_keys_are_listed_replaced_and_removed,
                audit_events_come_back_newest_first_in_order_of_recording,
                audit_events_are_filtered_and_paged_by_position,
                audit_events_before_a_time_are_purged_and_no_later_one,
            );
            behaviours!(@shared $open;
                concurrent_writers_take_a_journey_once,
                concurrent_writers_redeem_a_code_once,
                concurrent_failures_are_all_counted,
            );
        }
    };
    (@each $open:expr; $($behaviour:ident),* $(,)?) => {$(
        #[test]
        fn $behaviour() {
            let (_keep, store) = $open;
            super::$behaviour(&store);
        }
    )*};
    (@shared $open:expr; $($behaviour:ident),* $(,)?) => {$(
        #[test]
        fn $behaviour() {
            let (_keep, store) = $open;
            super::$behaviour(Arc::new(store));
        }
    )*};
}

/// What only a store that can copy itself into a file does.
macro_rules! embedded {
    ($backend:ident, $open:expr) => {
        behaviours!(
            $backend,
            $open,
            also: a_backup_is_the_whole_store_at_one_instant_and_opens_as_a_store,
            a_backup_to_send_leaves_no_file_behind_and_reads_as_a_store,
        );
    };
}

embedded!(
    embedded_in_memory,
    ((), Store::open(&StoragePath::Memory).expect("store"))
);

embedded!(embedded_file, {
    let dir = tempfile::tempdir().expect("temporary folder");
    let file = StoragePath::File(dir.path().join("tessera.redb"));
    (dir, Store::open(&file).expect("store"))
});

/// How long a PostgreSQL store of these tests uses what it read: the
/// default of `storage.cache_secs`.
const CACHE_FOR: std::time::Duration = std::time::Duration::from_secs(1);

fn postgres_at(url: crate::secret::SecretString) -> StoragePath {
    StoragePath::Postgres {
        url,
        cache_for: CACHE_FOR,
    }
}

// Each test on a database of its own, on the server `postgres::testing`
// starts once per test process.
behaviours!(
    postgres,
    {
        let url = crate::secret::SecretString::new(crate::store::postgres::testing::database());
        ((), Store::open(&postgres_at(url)).expect("store"))
    },
    also: a_backup_of_a_database_points_to_its_own_tools,
);

/// Two processes on one database: a change one of them commits is seen by
/// the other once it is notified of it, long before what it keeps would
/// be stale (a minute here).
#[test]
fn postgres_a_change_from_another_replica_is_seen_once_notified() {
    let url = crate::secret::SecretString::new(crate::store::postgres::testing::database());
    let open = || {
        let path = StoragePath::Postgres {
            url: url.clone(),
            cache_for: std::time::Duration::from_secs(60),
        };
        Store::open(&path).expect("store")
    };
    let (one, other) = (open(), open());
    // Both listening, and done with what they do once listening.
    let both_listening = "DO $$ BEGIN IF (SELECT count(*) FROM pg_stat_activity \
        WHERE datname = current_database() AND query LIKE 'LISTEN %') < 2 \
        THEN RAISE 'not yet'; END IF; END $$";
    let started = std::time::Instant::now();
    while crate::store::postgres::testing::run_sql(url.expose(), both_listening).is_err() {
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    write(&one, |tx| {
        tx.put_user(&user("u1", "alice", None))?;
        tx.put_session(&hash(1), &session("s1", "u1"))
    });
    assert!(read(&other, |tx| tx.session(&hash(1))).is_some());
    assert!(read(&other, |tx| tx.user("u1")).is_some());
    write(&one, |tx| {
        tx.delete_session(&hash(1))?;
        tx.delete_user(&user("u1", "alice", None))
    });
    let gone = |what: &str| {
        let changed = std::time::Instant::now();
        while read(&other, |tx| {
            Ok(tx.session(&hash(1))?.is_some() || tx.user("u1")?.is_some())
        }) {
            assert!(
                changed.elapsed() < std::time::Duration::from_secs(10),
                "still seen {:?} after {what}",
                changed.elapsed()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    gone("the delete");
    // A table emptied by hand names no row: everything kept goes.
    write(&one, |tx| tx.put_user(&user("u1", "alice", None)));
    assert!(read(&other, |tx| tx.user("u1")).is_some());
    crate::store::postgres::testing::run_sql(url.expose(), "TRUNCATE users").expect("truncate");
    gone("TRUNCATE");
}
