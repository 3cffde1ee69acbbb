//! The token lifecycle of a native app, against one tessera: sign-in (the
//! code flow with PKCE through the system browser, the embedded REST
//! journey plus the session exchange, or the device authorization grant
//! with the browser of another device), tokens kept fresh, sent as bearer
//! tokens, revoked at sign-out.

use super::Error;
use super::loopback::{self, CALLBACK_PATH};
use super::token_file::{self, Tokens};
use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An access token this close to its expiry is renewed before use, so that
/// it does not expire on its way to the API.
pub const RENEW_MARGIN_SECS: u64 = 60;
/// How long the browser gets to come back.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(300);
/// RFC 8693 token types of the session exchange (README "Native apps").
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const SESSION_TOKEN_TYPE: &str = "urn:tessera:params:oauth:token-type:session";
/// RFC 8628 §3.4.
const DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// RFC 8628 §3.5: what each `slow_down` adds to the polling interval.
const SLOW_DOWN_SECS: u64 = 5;

/// The endpoints this client uses, from tessera's metadata (RFC 8414).
#[derive(Deserialize)]
struct Metadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    revocation_endpoint: String,
    /// RFC 8628: absent from servers without the device grant.
    device_authorization_endpoint: Option<String>,
}

/// The device authorization response (RFC 8628 §3.2): what to show the
/// user, and how to poll.
#[derive(Deserialize)]
pub struct DeviceCodes {
    device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    expires_in: u64,
    interval: Option<u64>,
}

/// A field a journey step asks for (README "Sign in with curl").
#[derive(Deserialize)]
pub struct Field {
    pub name: String,
    pub kind: String,
    pub label: String,
}

/// A public client (no secret: RFC 8252 §8.4) and its token file.
pub struct NativeClient {
    http: reqwest::Client,
    metadata: Metadata,
    client_id: String,
    scope: String,
    token_file: PathBuf,
}

impl NativeClient {
    /// Reads tessera's metadata.
    pub async fn discover(
        issuer: &str,
        client_id: &str,
        scope: &str,
        token_file: PathBuf,
    ) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        let issuer = issuer.trim_end_matches('/');
        let metadata: Metadata = http
            .get(format!("{issuer}/.well-known/oauth-authorization-server"))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        if metadata.issuer != issuer {
            return Err(format!("the metadata names issuer {}", metadata.issuer).into());
        }
        Ok(Self {
            http,
            metadata,
            client_id: client_id.to_owned(),
            scope: scope.to_owned(),
            token_file,
        })
    }

    /// The code flow with PKCE through the browser (RFC 8252): `open_browser`
    /// is given the authorization URL; the browser comes back to a loopback
    /// listener on a port chosen now (RFC 8252 §7.3).
    pub async fn login_in_browser(&self, open_browser: impl FnOnce(&str)) -> Result<(), Error> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let redirect_uri = format!(
            "http://127.0.0.1:{}{CALLBACK_PATH}",
            listener.local_addr()?.port()
        );
        let verifier = random_string();
        let state = random_string();
        let url = url::Url::parse_with_params(
            &self.metadata.authorization_endpoint,
            [
                ("response_type", "code"),
                ("client_id", &self.client_id),
                ("redirect_uri", &redirect_uri),
                ("scope", &self.scope),
                ("state", &state),
                // RFC 7636: S256, never plain.
                (
                    "code_challenge",
                    &URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes())),
                ),
                ("code_challenge_method", "S256"),
            ],
        )?;
        open_browser(url.as_str());
        let wait = loopback::wait_for_code(&listener, &state, &self.metadata.issuer);
        let code = tokio::time::timeout(LOGIN_TIMEOUT, wait)
            .await
            .map_err(|_| "the browser did not come back in time")??;
        let tokens = self
            .token_request(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &redirect_uri),
                ("client_id", &self.client_id),
                ("code_verifier", &verifier),
            ])
            .await?;
        self.save(tokens, None)
    }

    /// The embedded sign-in: the app shows tessera's journey in its own UI
    /// (`answer` asks the user for each field), then exchanges the session
    /// for OAuth tokens. Needs `first_party` and `token_exchange` on the
    /// client.
    pub async fn login_embedded(
        &self,
        mut answer: impl FnMut(&Field) -> Result<String, Error>,
    ) -> Result<(), Error> {
        let url = self.metadata.issuer.clone() + "/api/authenticate?journey=login";
        let mut body = json!({});
        let session_token = loop {
            let response = self.http.post(&url).json(&body).send().await?;
            let step: Value = response.json().await?;
            if let Some(token) = step["session_token"].as_str() {
                break token.to_owned();
            }
            let fields: Vec<Field> = serde_json::from_value(step["fields"].clone())
                .map_err(|_| format!("sign-in failed: {}", step["message"]))?;
            let mut input = serde_json::Map::new();
            for field in &fields {
                input.insert(field.name.clone(), Value::String(answer(field)?));
            }
            body = json!({"auth_id": step["auth_id"], "input": input});
        };
        let tokens = self.exchange(&session_token).await?;
        self.save(tokens, Some(session_token))
    }

    /// The device authorization grant (RFC 8628): for a terminal where no
    /// browser can open (a server over SSH, a TV). `show` tells the user
    /// where to go, on any device, and which code to enter; the client
    /// polls the token endpoint meanwhile, no faster than it is told.
    pub async fn login_on_device(&self, show: impl FnOnce(&DeviceCodes)) -> Result<(), Error> {
        let endpoint = self
            .metadata
            .device_authorization_endpoint
            .as_deref()
            .ok_or("this server offers no device authorization")?;
        let response = self
            .http
            .post(endpoint)
            .form(&[("client_id", &self.client_id), ("scope", &self.scope)])
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(refused(&response.json().await?).into());
        }
        let codes: DeviceCodes = response.json().await?;
        show(&codes);
        // RFC 8628 §3.2: 5 seconds when the server names no interval.
        let mut interval = codes.interval.unwrap_or(5);
        let deadline = now() + codes.expires_in;
        let poll = [
            ("grant_type", DEVICE_CODE),
            ("device_code", &codes.device_code),
            ("client_id", &self.client_id),
        ];
        loop {
            let error = match self.token_answer(&poll).await? {
                Ok(tokens) => return self.save(tokens, None),
                Err(error) => error,
            };
            match error["error"].as_str() {
                Some("authorization_pending") => {}
                Some("slow_down") => interval += SLOW_DOWN_SECS,
                _ => return Err(refused(&error).into()),
            }
            if now() + interval > deadline {
                return Err(
                    "the code expired before it was entered: run `login --device` again".into(),
                );
            }
            tokio::time::sleep(Duration::from_secs(interval)).await;
        }
    }

    /// An access token valid for at least [`RENEW_MARGIN_SECS`]: the saved
    /// one, or a renewed one (refreshed, or the session exchanged again),
    /// saved before it is used.
    pub async fn access_token(&self) -> Result<String, Error> {
        let tokens = token_file::load(&self.token_file)?.ok_or("not signed in: run `login`")?;
        if tokens.expires_at > now() + RENEW_MARGIN_SECS {
            return Ok(tokens.access_token);
        }
        let renewed = match (&tokens.refresh_token, &tokens.session_token) {
            (Some(refresh), _) => {
                self.token_request(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh),
                    ("client_id", &self.client_id),
                ])
                .await?
            }
            (None, Some(session)) => self.exchange(session).await?,
            (None, None) => return Err("the access token expired: run `login`".into()),
        };
        let access_token = renewed.access_token.clone();
        self.save(renewed, tokens.session_token)?;
        Ok(access_token)
    }

    /// `GET url` with the access token as a bearer token (RFC 6750 §2.1).
    pub async fn get(&self, url: &str) -> Result<reqwest::Response, Error> {
        let token = self.access_token().await?;
        Ok(self.http.get(url).bearer_auth(token).send().await?)
    }

    /// Revokes the tokens (RFC 7009), ends an embedded login's session, and
    /// deletes the token file.
    pub async fn logout(&self) -> Result<(), Error> {
        let Some(tokens) = token_file::load(&self.token_file)? else {
            return Ok(());
        };
        // The refresh token first: it could mint new access tokens.
        let revocable = [
            (tokens.refresh_token.as_deref(), "refresh_token"),
            (Some(tokens.access_token.as_str()), "access_token"),
        ];
        for (token, hint) in revocable {
            let Some(token) = token else { continue };
            self.http
                .post(&self.metadata.revocation_endpoint)
                .form(&[
                    ("token", token),
                    ("token_type_hint", hint),
                    ("client_id", &self.client_id),
                ])
                .send()
                .await?
                .error_for_status()?;
        }
        if let Some(session) = &tokens.session_token {
            self.http
                .post(self.metadata.issuer.clone() + "/api/logout")
                .header("X-Session-Token", session)
                .send()
                .await?
                .error_for_status()?;
        }
        token_file::delete(&self.token_file)?;
        Ok(())
    }

    /// RFC 8693: the session token for this client's tokens.
    async fn exchange(&self, session_token: &str) -> Result<TokenResponse, Error> {
        self.token_request(&[
            ("grant_type", TOKEN_EXCHANGE),
            ("client_id", &self.client_id),
            ("subject_token", session_token),
            ("subject_token_type", SESSION_TOKEN_TYPE),
            ("scope", &self.scope),
        ])
        .await
    }

    async fn token_request(&self, form: &[(&str, &str)]) -> Result<TokenResponse, Error> {
        self.token_answer(form)
            .await?
            .map_err(|error| refused(&error).into())
    }

    /// The tokens, or the error the token endpoint answered (RFC 6749 §5.2:
    /// `{"error", "error_description"}`).
    async fn token_answer(
        &self,
        form: &[(&str, &str)],
    ) -> Result<Result<TokenResponse, Value>, Error> {
        let response = self
            .http
            .post(&self.metadata.token_endpoint)
            .form(form)
            .send()
            .await?;
        if response.status().is_success() {
            Ok(Ok(response.json().await?))
        } else {
            Ok(Err(response.json().await?))
        }
    }

    fn save(&self, tokens: TokenResponse, session_token: Option<String>) -> Result<(), Error> {
        let saved = Tokens {
            access_token: tokens.access_token,
            expires_at: now() + tokens.expires_in,
            refresh_token: tokens.refresh_token,
            session_token,
        };
        Ok(token_file::save(&self.token_file, &saved)?)
    }
}

/// RFC 6749 §5.1.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
    refresh_token: Option<String>,
}

/// An RFC 6749 §5.2 error as a message.
fn refused(error: &Value) -> String {
    format!(
        "request refused: {} {}",
        error["error"], error["error_description"]
    )
}

/// 256 bits from the CSPRNG, base64url: a PKCE verifier or a state.
fn random_string() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default()
}
