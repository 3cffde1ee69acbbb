//! Fixture mode's token minting (`POST /fixture/token`): access and ID
//! tokens for any subject, client, scopes, extra claims and lifetime,
//! without a flow, for other projects' tests. They are signed with the server's real
//! keys, so they verify at the JWKS, introspect and revoke like issued ones.
//! Only reachable when `fixture.enabled`, which the configuration allows
//! on a loopback bind alone.

use super::tokens::Subject;
use super::{Authentication, OAuthError, Provider, clients};
use crate::config::MAX_SECONDS;
use crate::keys::{ACCESS_TOKEN_TYP, ID_TOKEN_TYP};
use crate::oauth::id_token::user_claims;
use crate::oauth::params::{ClientId, ScopeSet};
use crate::store::User;
use crate::username::Username;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use time::Duration;

/// What a test asks for.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MintRequest {
    /// A user's id or username (their claims then follow the scopes), or
    /// any other subject, used as it is.
    pub sub: String,
    /// A registered client gives `aud`, the signing algorithm and the
    /// lifetime; any other client_id is `aud` itself, with the defaults.
    pub client_id: String,
    /// Space-separated scopes, declared or not; `openid` adds an ID token.
    #[serde(default)]
    pub scope: String,
    /// Claims added to both tokens, replacing tessera's own of the same
    /// name (`aud`, `iss`, `exp`…), so tests can mint wrong tokens too.
    #[serde(default)]
    pub claims: Map<String, Value>,
    /// Lifetime in seconds; negative mints an already expired token.
    /// Defaults to the client's access token lifetime.
    pub ttl_secs: Option<i64>,
}

/// The minted tokens.
#[derive(Debug)]
pub struct Minted {
    pub access_token: String,
    pub id_token: Option<String>,
    pub expires_in: i64,
}

impl Provider {
    /// Mints the tokens `request` describes.
    pub fn mint(&self, request: MintRequest) -> Result<Minted, OAuthError> {
        let scope: Vec<String> = request
            .scope
            .parse::<ScopeSet>()
            .map_err(|_| OAuthError::invalid_scope("`scope` must be space-separated scope tokens"))?
            .into_vec();
        let client_id = ClientId::parse(&request.client_id).ok_or_else(|| {
            OAuthError::invalid_request(
                "`client_id` must be 1 to 128 letters, digits, `-`, `_`, `.` or `:`",
            )
        })?;
        let client = clients::get(&self.ctx, client_id.as_str())?
            .unwrap_or_else(|| clients::unregistered(&self.ctx, &client_id));
        let ttl = match request.ttl_secs {
            None => self.access_ttl(&client),
            Some(secs) if secs.unsigned_abs() <= MAX_SECONDS => Duration::seconds(secs),
            Some(_) => {
                return Err(OAuthError::invalid_request(format!(
                    "`ttl_secs` must be between -{MAX_SECONDS} and {MAX_SECONDS}"
                )));
            }
        };
        let user = self.user_named(&request.sub)?;
        let now = self.ctx.now();
        let auth = Authentication {
            auth_time: now,
            amr: Vec::new(),
            acr: None,
            sid: None,
        };
        let subject = match &user {
            Some(user) => Subject::User(user, &auth),
            None => Subject::Named(&request.sub, &auth),
        };
        let mut access = self.claims_for(&client, &subject, &scope);
        access.exp = (now + ttl).unix_timestamp();
        let Ok(Value::Object(mut access)) = serde_json::to_value(&access) else {
            return Err(OAuthError::server(
                "access token claims are not a JSON object",
            ));
        };
        access.extend(request.claims.clone());
        let access_token = self.sign_as(&client, ACCESS_TOKEN_TYP, &access)?;

        let id_token = if scope.iter().any(|s| s == "openid") {
            let about = match &user {
                Some(user) => user_claims(user, &scope),
                None => Map::from_iter([("sub".to_owned(), json!(request.sub))]),
            };
            let mut claims = self.id_claims(&client, about, &auth, None, &access_token, now + ttl);
            claims.extend(request.claims);
            Some(self.sign_as(&client, ID_TOKEN_TYP, &claims)?)
        } else {
            None
        };
        Ok(Minted {
            access_token,
            id_token,
            expires_in: ttl.whole_seconds(),
        })
    }

    /// The user whose id or username is `sub`, if any.
    fn user_named(&self, sub: &str) -> Result<Option<User>, OAuthError> {
        let by_name = Username::parse(sub).ok();
        Ok(self.ctx.store.read(|tx| {
            Ok::<_, crate::store::StoreError>(match tx.user(sub)? {
                Some(user) => Some(user),
                None => match &by_name {
                    Some(name) => tx.user_by_username(name.normalized())?,
                    None => None,
                },
            })
        })?)
    }
}
