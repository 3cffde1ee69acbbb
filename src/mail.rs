//! Mail delivery for one-time codes: SMTP through `lettre` when
//! `mail.smtp_url` is set, otherwise a local outbox that writes each message
//! as an `.eml` file (development and tests read codes there). The log
//! records that a message went out and where, never its body: codes are
//! secrets.

use crate::config::Settings;
use crate::secret::random_id;
use lettre::message::Mailbox;
use lettre::{SmtpTransport, Transport};
use std::path::PathBuf;

/// A message to one recipient.
#[derive(Debug)]
pub struct Message {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Why a message could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid mail address `{0}`")]
    Address(String),
    #[error("mail.smtp_url is not a usable SMTP URL: {0}")]
    Url(String),
    #[error("cannot write to the outbox {dir}: {source}")]
    Outbox {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("SMTP delivery failed: {0}")]
    Smtp(String),
}

/// Where messages go.
pub enum Mailer {
    Outbox {
        dir: Option<PathBuf>,
        from: Mailbox,
    },
    Smtp {
        transport: Box<SmtpTransport>,
        from: Mailbox,
    },
}

impl Mailer {
    /// The configured mailer.
    pub fn from_settings(settings: &Settings) -> Result<Self, MailError> {
        let from: Mailbox = settings
            .mail
            .from
            .parse()
            .map_err(|_| MailError::Address(settings.mail.from.clone()))?;
        Ok(match &settings.mail.smtp_url {
            Some(url) => Self::Smtp {
                transport: Box::new(
                    SmtpTransport::from_url(url.expose())
                        .map_err(|err| MailError::Url(err.to_string()))?
                        .build(),
                ),
                from,
            },
            None => Self::Outbox {
                dir: settings.outbox_dir(),
                from,
            },
        })
    }

    /// Sends a message (blocking: call from the blocking pool).
    pub fn send(&self, message: &Message) -> Result<(), MailError> {
        let to: Mailbox = message
            .to
            .parse()
            .map_err(|_| MailError::Address(message.to.clone()))?;
        match self {
            Self::Smtp { transport, from } => {
                let email = build(from, to, message)?;
                transport
                    .send(&email)
                    .map_err(|err| MailError::Smtp(err.to_string()))?;
                tracing::info!(to = %message.to, subject = %message.subject, "mail sent by SMTP");
            }
            Self::Outbox {
                dir: Some(dir),
                from,
            } => {
                let email = build(from, to, message)?;
                let outbox = |source| MailError::Outbox {
                    dir: dir.clone(),
                    source,
                };
                std::fs::create_dir_all(dir).map_err(outbox)?;
                let stamp = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
                let path = dir.join(format!("{stamp}-{}.eml", &random_id()[..8]));
                std::fs::write(&path, email.formatted()).map_err(outbox)?;
                tracing::info!(to = %message.to, subject = %message.subject, path = %path.display(), "mail written to the outbox");
            }
            Self::Outbox { dir: None, .. } => {
                tracing::warn!(
                    to = %message.to,
                    subject = %message.subject,
                    "mail not delivered: set mail.smtp_url, or mail.outbox_dir to read it from a folder"
                );
            }
        }
        Ok(())
    }
}

fn build(from: &Mailbox, to: Mailbox, message: &Message) -> Result<lettre::Message, MailError> {
    lettre::Message::builder()
        .from(from.clone())
        .to(to)
        .subject(message.subject.clone())
        .body(message.body.clone())
        .map_err(|err| MailError::Smtp(err.to_string()))
}
