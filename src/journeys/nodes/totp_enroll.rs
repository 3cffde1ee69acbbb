//! `totp_enroll`: sets up an authenticator app for the user identified so
//! far. Shows a fresh secret as a QR code (and as text to type in), and
//! saves it once the app's first code proves it holds it. Outcomes:
//! `success` (method `totp`) or `failure`.
//!
//! Until then the secret waits in the journey's state, sealed like a saved
//! one. A user who already has an app only replaces it in a journey that
//! has just checked a code from it (or a recovery code): a password alone
//! must not let someone swap in their own app. Option: `issuer` (the name
//! apps show, default "tessera").

use super::{
    Decision, Display, Field, FieldKind, Input, Node, OptionReader, Prompt, Turn, add_method, data,
    identified_user, set_data,
};
use crate::accounts::{
    self,
    totp::{Enrollment, TotpSecret},
};
use crate::journeys::Engine;
use crate::journeys::JourneyError;
use crate::store::JourneyState;
use serde::{Deserialize, Serialize};

/// The enrollment step.
pub struct TotpEnroll {
    issuer: String,
}

/// What the node keeps between requests.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Pending {
    /// A secret waiting for its first code, and the name apps list it under.
    Secret {
        sealed_secret: String,
        account: String,
    },
    /// The user has an app that this journey has not checked.
    AlreadyEnrolled,
}

const ALREADY_ENROLLED: &str =
    "This account already has an authenticator app. Sign in with it to replace it.";

fn field() -> Field {
    Field::new(
        "code",
        FieldKind::Code,
        "Code from the app",
        "one-time-code",
    )
}

impl TotpEnroll {
    /// Options: `issuer` (default "tessera"), the name authenticator apps
    /// show for the account; the otpauth label forbids a colon in it.
    pub fn from_options(options: &mut OptionReader<'_>) -> Result<Self, String> {
        let issuer: String = options.get("issuer", "tessera".to_owned())?;
        if issuer.trim().is_empty() || issuer.contains(':') {
            return Err("option `issuer` must be a non-empty name without `:`".into());
        }
        Ok(Self { issuer })
    }

    /// The QR code and the words around it, or why they cannot be shown.
    fn display(&self, engine: &Engine, sealed_secret: &str, account: &str) -> Vec<Display> {
        let secret = match TotpSecret::open(&engine.ctx.sealer, sealed_secret) {
            Ok(secret) => secret,
            Err(err) => {
                tracing::error!(error = %err, "enrollment secret cannot be opened");
                return vec![Display::Text {
                    text: "The new key cannot be shown. Please start again.".into(),
                }];
            }
        };
        let setup = secret.setup(&self.issuer, account);
        vec![
            Display::Text {
                text: format!(
                    "Scan this QR code with an authenticator app, then enter the {}-digit code it shows.",
                    accounts::totp::DIGITS
                ),
            },
            Display::QrCode {
                svg: setup.svg,
                uri: setup.uri,
                secret: setup.key,
            },
        ]
    }
}

impl Node for TotpEnroll {
    fn step(&self) -> &'static str {
        "totp_enroll"
    }

    fn outcomes(&self) -> &'static [&'static str] {
        &["success", "failure"]
    }

    fn enter(
        &self,
        engine: &Engine,
        state: &mut JourneyState,
        _turn: &Turn<'_>,
    ) -> Result<(), JourneyError> {
        let user = engine
            .accounts
            .get(&identified_user(state)?)?
            .ok_or(JourneyError::Expired)?;
        let pending = if user.totp.is_some() && !proved_app(state) {
            Pending::AlreadyEnrolled
        } else {
            Pending::Secret {
                sealed_secret: TotpSecret::generate().seal(&engine.ctx.sealer)?,
                account: user.username,
            }
        };
        set_data(state, &pending);
        Ok(())
    }

    fn prompt(&self, engine: &Engine, state: &JourneyState) -> Prompt {
        match data::<Pending>(state) {
            // No fields: the node runs at once and fails.
            Some(Pending::AlreadyEnrolled) | None => Prompt::default(),
            Some(Pending::Secret {
                sealed_secret,
                account,
            }) => Prompt {
                display: self.display(engine, &sealed_secret, &account),
                submit: Some("Turn on".into()),
                ..Prompt::fields(&[field()])
            },
        }
    }

    fn run(
        &self,
        engine: &Engine,
        state: &mut JourneyState,
        input: &Input,
        turn: &Turn<'_>,
    ) -> Result<Decision, JourneyError> {
        let sealed_secret = match data::<Pending>(state) {
            Some(Pending::Secret { sealed_secret, .. }) => sealed_secret,
            Some(Pending::AlreadyEnrolled) => {
                state.message = Some(ALREADY_ENROLLED.into());
                return Ok(Decision::Outcome("failure"));
            }
            // `enter` always leaves data; without it the state is not ours.
            None => return Err(JourneyError::Expired),
        };
        let user_id = identified_user(state)?;
        let code = input.require(&field())?;
        let secret = TotpSecret::open(&engine.ctx.sealer, &sealed_secret)?;
        let replace = proved_app(state);
        let address = turn.client.ip.as_deref();
        match engine
            .accounts
            .enroll(&user_id, &secret, code.expose(), replace, address)?
        {
            Enrollment::Saved => {
                add_method(state, "totp");
                Ok(Decision::Outcome("success"))
            }
            Enrollment::Wrong => Ok(Decision::Retry(
                "That code is not right. Check that the app shows this account, and enter its current code."
                    .into(),
            )),
            Enrollment::AlreadyEnrolled => {
                state.message = Some(ALREADY_ENROLLED.into());
                Ok(Decision::Outcome("failure"))
            }
        }
    }
}

/// Whether this journey has checked the user's second factor: a code from
/// their current app, or one of their recovery codes (the way back in
/// after losing the app).
fn proved_app(state: &JourneyState) -> bool {
    state
        .amr
        .iter()
        .any(|method| method == "totp" || method == accounts::recovery_codes::METHOD)
}
