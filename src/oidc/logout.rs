//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): which
//! requests may end the session at once, and where the browser goes after.

use crate::oauth::Provider;
use crate::oauth::authorize::redirects_errors;
use crate::oauth::clients;
use serde::{Deserialize, Serialize};

/// The parameters of a logout request.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct LogoutParams {
    pub id_token_hint: Option<String>,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
}

/// What a valid logout request leads to.
#[derive(Debug, Clone)]
pub struct LogoutPlan {
    /// Where to send the browser afterwards (`state` appended), if anywhere.
    pub redirect: Option<String>,
    /// The user the `id_token_hint` names: a request for the signed-in user
    /// with a hint tessera issued is trusted; any other is confirmed first.
    pub hinted_subject: Option<String>,
    /// The client asking, for the confirmation page.
    pub client_name: Option<String>,
}

/// Checks a logout request. An unusable hint, an unknown client or a
/// `post_logout_redirect_uri` the client did not register is an error
/// (shown to the user; never a redirect).
pub fn plan(provider: &Provider, params: &LogoutParams) -> Result<LogoutPlan, String> {
    let hint = match params.id_token_hint.as_deref() {
        None => None,
        Some(token) => Some(
            provider
                .read_id_token(token)
                .ok_or("The id_token_hint is not an ID token this server issued.")?,
        ),
    };
    let client_id = match (params.client_id.as_deref(), &hint) {
        (Some(id), Some(hint)) if !hint.issued_to(id) => {
            return Err("The id_token_hint was issued to another client.".into());
        }
        (Some(id), _) => Some(id.to_owned()),
        (None, Some(hint)) => hint.client().map(str::to_owned),
        (None, None) => None,
    };
    let client = match &client_id {
        Some(id) => Some(
            clients::get(&provider.ctx, id)
                .map_err(|err| err.to_string())?
                .ok_or_else(|| format!("There is no client “{id}”."))?,
        ),
        None => None,
    };
    let redirect = match (&params.post_logout_redirect_uri, &client) {
        (None, _) => None,
        (Some(_), None) => {
            return Err("A post_logout_redirect_uri needs a client_id or an id_token_hint.".into());
        }
        // A client that registered itself chose its URIs unvetted: it
        // needs the proof of an ID token it got, or tessera would redirect
        // anywhere for anyone (RFC 9700 §4.11.2).
        (Some(_), Some(client)) if !redirects_errors(client) && hint.is_none() => {
            return Err(
                "This client registered itself: a post_logout_redirect_uri needs its id_token_hint.".into(),
            );
        }
        (Some(uri), Some(client)) if client.post_logout_redirect_uris.contains(uri) => {
            let mut url = url::Url::parse(uri).map_err(|err| err.to_string())?;
            if let Some(state) = &params.state {
                url.query_pairs_mut().append_pair("state", state);
            }
            Some(url.to_string())
        }
        (Some(_), Some(_)) => {
            return Err("The post_logout_redirect_uri is not registered for this client.".into());
        }
    };
    Ok(LogoutPlan {
        redirect,
        hinted_subject: hint.map(|hint| hint.sub),
        client_name: client.map(|client| client.name),
    })
}
