//! A resource server that accepts tessera access tokens: a small notes API
//! that validates each bearer token OFFLINE, against tessera's JWKS, without
//! asking tessera anything per request (`verifier.rs`, the part to copy).
//! `GET /notes` needs the scope `notes:read`, `POST /notes` `notes:write`.
//! Refusals follow RFC 6750 §3: 401 with `WWW-Authenticate: Bearer
//! error="invalid_token"` for a missing, malformed, expired, foreign or
//! forged token; 403 with `error="insufficient_scope", scope="..."`.
//!
//! DPoP-bound tokens (RFC 9449, `cnf.jkt`) come with `Authorization: DPoP`
//! and a `DPoP` proof for the request and the token (`dpop.rs`); such a
//! token sent as a bearer token is refused, and a bad proof is a 401 with
//! `WWW-Authenticate: DPoP error="invalid_dpop_proof"`.
//!
//! Run it against a running tessera. tessera's config needs a client whose
//! tokens are meant for this API (`audience`), for example a service using
//! `client_credentials`, as in `examples/examples.toml`:
//!
//! ```toml
//! [oauth.scopes]
//! "notes:read" = "Read your notes"
//! "notes:write" = "Write notes"
//!
//! [[clients]]
//! client_id = "notes-writer"
//! client_secret = "notes-writer-secret-0123456789abcdef"
//! scopes = ["notes:read", "notes:write"]
//! grant_types = ["client_credentials"]
//! audience = ["notes-api"]
//! ```
//!
//! ```sh
//! cargo run -- --config examples/examples.toml        # terminal 1: tessera on :8080
//! cargo run --example resource_server                 # terminal 2: the API on :9100
//! # terminal 3:
//! TOKEN=$(curl -s -u notes-writer:notes-writer-secret-0123456789abcdef \
//!   -d grant_type=client_credentials -d 'scope=notes:read notes:write' \
//!   http://127.0.0.1:8080/oauth2/token | jq -r .access_token)
//! curl -i -X POST http://127.0.0.1:9100/notes -H "Authorization: Bearer $TOKEN" \
//!   -H 'Content-Type: application/json' -d '{"text": "buy tea"}'
//! curl -i http://127.0.0.1:9100/notes -H "Authorization: Bearer $TOKEN"
//! ```
//!
//! Things to try: no token, a token with one character changed, a token
//! asked for with `scope=notes:read` only on `POST`, a token after its
//! `expires_in`; stop tessera and see that valid tokens still work (that is
//! the point of offline validation), while a revoked token works too until
//! it expires (the price of it: keep access tokens short-lived). Options:
//! `--issuer` (default `http://127.0.0.1:8080`), `--audience` (`notes-api`),
//! `--bind` (`127.0.0.1:9100`); `RUST_LOG=info` logs each JWKS fetch.

mod dpop;
mod verifier;

#[cfg(test)]
mod tests;

use actix_web::dev::Server;
use actix_web::error::InternalError;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, ResponseError, web};
use clap::Parser;
use dpop::Proofs;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Mutex;
use verifier::{Claims, Rejection, Verifier};

/// The realm named in every challenge.
const REALM: &str = "notes";

#[derive(Parser)]
struct Args {
    /// tessera's issuer URL; its metadata names the JWKS.
    #[arg(long, env = "TESSERA_ISSUER", default_value = "http://127.0.0.1:8080")]
    issuer: String,
    /// The `aud` this API accepts: the `audience` of the clients it serves.
    #[arg(long, default_value = "notes-api")]
    audience: String,
    #[arg(long, default_value = "127.0.0.1:9100")]
    bind: String,
    /// This API's URL as clients call it, which their DPoP proofs name
    /// (`htu`); defaults to `http://` and `--bind`.
    #[arg(long)]
    public_url: Option<String>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let verifier = Verifier::discover(&args.issuer, &args.audience).await?;
    let listener = TcpListener::bind(&args.bind)?;
    println!("notes API listening on http://{}", listener.local_addr()?);
    let public_url = args
        .public_url
        .unwrap_or_else(|| format!("http://{}", args.bind));
    serve(listener, verifier, Proofs::new(&public_url))?.await?;
    Ok(())
}

/// The notes API on `listener`, checking DPoP proofs with `proofs`.
fn serve(listener: TcpListener, verifier: Verifier, proofs: Proofs) -> std::io::Result<Server> {
    let verifier = web::Data::new(verifier);
    let proofs = web::Data::new(proofs);
    let notes = web::Data::new(Notes::default());
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(verifier.clone())
            .app_data(proofs.clone())
            .app_data(notes.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(4096)
                    .error_handler(|err, _| {
                        let body = ErrorBody {
                            error: "invalid_request",
                            error_description: r#"the body must be {"text": "..."}, at most 4 KiB"#,
                        };
                        InternalError::from_response(err, HttpResponse::BadRequest().json(body))
                            .into()
                    }),
            )
            .route("/notes", web::get().to(get_notes))
            .route("/notes", web::post().to(post_notes))
    })
    .listen(listener)?
    .run())
}

/// Each subject's notes, in memory.
#[derive(Default)]
struct Notes(Mutex<HashMap<String, Vec<Note>>>);

#[derive(Clone, Serialize, Deserialize)]
struct Note {
    text: String,
}

/// `GET /notes` (scope `notes:read`): the caller's notes.
async fn get_notes(
    req: HttpRequest,
    verifier: web::Data<Verifier>,
    proofs: web::Data<Proofs>,
    notes: web::Data<Notes>,
) -> Result<HttpResponse, Denied> {
    let claims = authorize(&req, &verifier, &proofs, "notes:read").await?;
    let notes = notes
        .0
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mine = notes.get(&claims.sub).cloned().unwrap_or_default();
    Ok(HttpResponse::Ok().json(mine))
}

/// `POST /notes` (scope `notes:write`): adds a note for the caller.
async fn post_notes(
    req: HttpRequest,
    verifier: web::Data<Verifier>,
    proofs: web::Data<Proofs>,
    notes: web::Data<Notes>,
    note: web::Json<Note>,
) -> Result<HttpResponse, Denied> {
    let claims = authorize(&req, &verifier, &proofs, "notes:write").await?;
    let note = note.into_inner();
    notes
        .0
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .entry(claims.sub)
        .or_default()
        .push(note.clone());
    Ok(HttpResponse::Created().json(note))
}

/// The claims of the request's access token if it is valid, presented as
/// its binding asks (a bearer token, or a DPoP-bound one with its proof),
/// and carries `scope`.
async fn authorize(
    req: &HttpRequest,
    verifier: &Verifier,
    proofs: &Proofs,
    scope: &'static str,
) -> Result<Claims, Denied> {
    let (scheme, token) = access_token(req).ok_or(Denied::NoToken)?;
    let claims = verifier.verify(token).await.map_err(Denied::Token)?;
    let bound = claims.cnf.as_ref().map(|cnf| cnf.jkt.as_str());
    match (scheme, bound) {
        (Scheme::Bearer, None) => {}
        // RFC 9449 §7.2: a bound token is no bearer token.
        (Scheme::Bearer, Some(_)) => {
            return Err(Denied::Token(Rejection::InvalidToken(
                "the token is DPoP-bound: send it with the DPoP scheme and a proof",
            )));
        }
        (Scheme::Dpop, None) => {
            return Err(Denied::Token(Rejection::InvalidToken(
                "the token is not DPoP-bound: send it as a Bearer token",
            )));
        }
        (Scheme::Dpop, Some(jkt)) => {
            let mut headers = req.headers().get_all("dpop");
            let proof = match (headers.next(), headers.next()) {
                (Some(proof), None) => proof
                    .to_str()
                    .map_err(|_| Denied::Proof("the proof is not a JWT"))?,
                _ => return Err(Denied::Proof("send exactly one DPoP header")),
            };
            proofs
                .check(proof, req.method().as_str(), req.path(), token, jkt)
                .map_err(Denied::Proof)?;
        }
    }
    claims.require_scope(scope).map_err(Denied::Token)?;
    Ok(claims)
}

/// How the access token came.
enum Scheme {
    Bearer,
    Dpop,
}

/// RFC 6750 §2.1 `Authorization: Bearer TOKEN`, or RFC 9449 §7.1
/// `Authorization: DPoP TOKEN`; the scheme in any case.
fn access_token(req: &HttpRequest) -> Option<(Scheme, &str)> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        Some((Scheme::Bearer, token.trim()))
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Some((Scheme::Dpop, token.trim()))
    } else {
        None
    }
}

/// A refused request.
#[derive(Debug)]
enum Denied {
    /// No bearer token at all: RFC 6750 §3.1 says to name no error then.
    NoToken,
    Token(Rejection),
    /// RFC 9449 §7.1 `invalid_dpop_proof`, with the reason.
    Proof(&'static str),
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoToken => f.write_str("no bearer token"),
            Self::Token(rejection) => write!(f, "{rejection:?}"),
            Self::Proof(why) => f.write_str(why),
        }
    }
}

impl ResponseError for Denied {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NoToken | Self::Token(Rejection::InvalidToken(_)) | Self::Proof(_) => {
                StatusCode::UNAUTHORIZED
            }
            Self::Token(Rejection::InsufficientScope(_)) => StatusCode::FORBIDDEN,
            Self::Token(Rejection::KeysUnavailable) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (error, description, challenge) = match self {
            Self::NoToken => {
                return HttpResponse::Unauthorized()
                    .insert_header((
                        header::WWW_AUTHENTICATE,
                        format!(r#"Bearer realm="{REALM}""#),
                    ))
                    .append_header((header::WWW_AUTHENTICATE, dpop_challenge()))
                    .finish();
            }
            Self::Proof(why) => (
                "invalid_dpop_proof",
                *why,
                format!(
                    r#"{}, error="invalid_dpop_proof", error_description="{why}""#,
                    dpop_challenge()
                ),
            ),
            Self::Token(Rejection::InvalidToken(why)) => (
                "invalid_token",
                *why,
                format!(
                    r#"Bearer realm="{REALM}", error="invalid_token", error_description="{why}""#
                ),
            ),
            Self::Token(Rejection::InsufficientScope(scope)) => (
                "insufficient_scope",
                "the token lacks the scope this request needs",
                format!(r#"Bearer realm="{REALM}", error="insufficient_scope", scope="{scope}""#),
            ),
            Self::Token(Rejection::KeysUnavailable) => {
                return HttpResponse::ServiceUnavailable()
                    .insert_header((header::RETRY_AFTER, HeaderValue::from_static("10")))
                    .json(ErrorBody {
                        error: "temporarily_unavailable",
                        error_description: "the identity provider's keys cannot be fetched",
                    });
            }
        };
        HttpResponse::build(self.status_code())
            .insert_header((header::WWW_AUTHENTICATE, challenge))
            .json(ErrorBody {
                error,
                error_description: description,
            })
    }
}

/// The DPoP challenge (RFC 9449 §7.1): the algorithms proofs may use.
fn dpop_challenge() -> String {
    format!(r#"DPoP algs="{}""#, dpop::ALGS)
}

#[derive(Serialize)]
struct ErrorBody {
    error: &'static str,
    error_description: &'static str,
}
