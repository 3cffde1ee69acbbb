//! Mail delivery for one-time codes: SMTP through `lettre` when
//! `mail.smtp_url` is set, otherwise a local outbox that writes each message
//! as an `.eml` file (development and tests read codes there).
//!
//! In fixture mode the mailer also keeps what it sent, for
//! `GET /fixture/outbox`: tests with an in-memory store read codes there.
//!
//! Messages are handed to a delivery thread, so a request never waits on a
//! mail server: a journey answers in the same time whether or not it sent
//! anything, which keeps account existence out of response times. The log
//! records what kind of message went out, never its subject or body, which
//! carry codes.

use crate::clock::Clock;
use crate::config::Settings;
use crate::secret::random_id;
use lettre::message::Mailbox;
use lettre::{SmtpTransport, Transport};
use serde::Serialize;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// A plain mail address (`local@domain`), checked by lettre's parser. Display
/// names, angle brackets and lists are refused, so the address stored is the
/// address mailed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address(lettre::Address);

impl Address {
    /// Parses a bare address; `None` for anything else.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        let plain = !raw.is_empty()
            && raw.len() <= 254
            && !raw
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>\",;()[]\\".contains(c));
        let address: lettre::Address = raw.parse().ok().filter(|_| plain)?;
        address.domain().contains('.').then_some(Self(address))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_ref()
    }
}

/// A message to one recipient. `kind` names it in the log.
#[derive(Debug)]
pub struct Message {
    pub kind: &'static str,
    pub to: Address,
    pub subject: String,
    pub body: String,
}

/// Why the mailer cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid mail address `{0}`")]
    Address(String),
    #[error("mail.smtp_url is not a usable SMTP URL: {0}")]
    Url(String),
}

/// Where messages go.
enum Delivery {
    Outbox(Option<PathBuf>),
    /// Nowhere but the fixture outbox, which keeps them before queueing.
    Kept,
    Smtp(Box<SmtpTransport>),
}

/// A message as the fixture outbox shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Sent {
    pub to: String,
    pub subject: String,
    pub body: String,
    #[serde(with = "time::serde::rfc3339")]
    pub sent_at: time::OffsetDateTime,
}

/// How many sent messages the fixture outbox keeps: the newest.
const KEPT: usize = 1000;

/// Whether the mail settings can be used: what [`Mailer::from_settings`]
/// would refuse, without starting a delivery thread.
pub fn check(settings: &Settings) -> Result<(), MailError> {
    configured(settings).map(drop)
}

/// The sender and the delivery the settings describe.
fn configured(settings: &Settings) -> Result<(Mailbox, Delivery), MailError> {
    let from: Mailbox = settings
        .mail
        .from
        .parse()
        .map_err(|_| MailError::Address(settings.mail.from.clone()))?;
    let delivery = match &settings.mail.smtp_url {
        Some(url) => Delivery::Smtp(Box::new(
            SmtpTransport::from_url(url.expose())
                .map_err(|err| MailError::Url(err.to_string()))?
                .build(),
        )),
        None => match settings.outbox_dir() {
            None if settings.fixture.enabled => Delivery::Kept,
            dir => Delivery::Outbox(dir),
        },
    };
    Ok((from, delivery))
}

/// Queues messages for the delivery thread.
pub struct Mailer {
    queue: Mutex<Option<Sender<lettre::Message>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
    from: Mailbox,
    /// What was sent, oldest first, in fixture mode only.
    sent: Option<Mutex<VecDeque<Sent>>>,
    clock: Arc<dyn Clock>,
}

impl Mailer {
    /// The configured mailer, with its delivery thread; `clock` dates what
    /// the fixture outbox keeps.
    pub fn from_settings(settings: &Settings, clock: Arc<dyn Clock>) -> Result<Self, MailError> {
        let (from, delivery) = configured(settings)?;
        let (queue, messages) = channel::<lettre::Message>();
        let worker = std::thread::Builder::new()
            .name("tessera-mail".into())
            .spawn(move || {
                for message in messages {
                    delivery.deliver(&message);
                }
            })
            .map_err(|err| MailError::Url(format!("cannot start the mail thread: {err}")))?;
        Ok(Self {
            queue: Mutex::new(Some(queue)),
            worker: Mutex::new(Some(worker)),
            from,
            sent: settings
                .fixture
                .enabled
                .then(|| Mutex::new(VecDeque::new())),
            clock,
        })
    }

    /// What was sent, oldest first; `None` outside fixture mode.
    pub fn sent(&self) -> Option<Vec<Sent>> {
        let sent = self.sent.as_ref()?;
        Some(lock(sent).iter().cloned().collect())
    }

    /// Queues a message; delivery failures are logged by the thread.
    pub fn send(&self, message: Message) {
        // Kept before queueing, so a test that reads the outbox as soon
        // as its request is answered finds the message.
        if let Some(sent) = &self.sent {
            let mut sent = lock(sent);
            if sent.len() == KEPT {
                sent.pop_front();
            }
            sent.push_back(Sent {
                to: message.to.as_str().to_owned(),
                subject: message.subject.clone(),
                body: message.body.clone(),
                sent_at: self.clock.now(),
            });
        }
        let built = lettre::Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, message.to.0.clone()))
            .subject(message.subject)
            .body(message.body);
        let built = match built {
            Ok(built) => built,
            Err(err) => {
                tracing::error!(kind = message.kind, error = %err, "mail could not be built");
                return;
            }
        };
        let queue = lock(&self.queue);
        if let Some(queue) = queue.as_ref()
            && queue.send(built).is_ok()
        {
            tracing::info!(kind = message.kind, "mail queued");
        }
    }
}

impl Drop for Mailer {
    /// Delivers what is queued before the process goes.
    fn drop(&mut self) {
        lock(&self.queue).take();
        if let Some(worker) = lock(&self.worker).take() {
            let _ = worker.join();
        }
    }
}

/// A lock that a panicked holder did not poison: what it guards stays
/// consistent (a queue handle, a list of copies).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Delivery {
    fn deliver(&self, message: &lettre::Message) {
        match self {
            Delivery::Smtp(transport) => match transport.send(message) {
                Ok(_) => tracing::info!("mail sent by SMTP"),
                Err(err) => tracing::error!(error = %err, "SMTP delivery failed"),
            },
            Delivery::Outbox(Some(dir)) => {
                let stamp = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
                let path = dir.join(format!("{stamp}-{}.eml", &random_id()[..8]));
                let written = std::fs::create_dir_all(dir)
                    .and_then(|()| std::fs::write(&path, message.formatted()));
                match written {
                    Ok(()) => tracing::info!(path = %path.display(), "mail written to the outbox"),
                    Err(err) => {
                        tracing::error!(dir = %dir.display(), error = %err, "cannot write to the outbox")
                    }
                }
            }
            Delivery::Kept => tracing::info!("mail kept for GET /fixture/outbox"),
            Delivery::Outbox(None) => tracing::warn!(
                "mail not delivered: set mail.smtp_url, or mail.outbox_dir to read it from a folder"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Address;

    #[test]
    fn only_bare_addresses_are_accepted() {
        assert_eq!(
            Address::parse(" Alice@Example.com ").map(|a| a.as_str().to_owned()),
            Some("Alice@Example.com".into())
        );
        for bad in [
            "",
            "alice",
            "alice@example",
            "\"victim@corp.com\"<attacker@evil.com>",
            "Alice <alice@example.com>",
            "a@example.com, b@example.com",
            "a b@example.com",
        ] {
            assert!(Address::parse(bad).is_none(), "{bad}");
        }
    }
}
