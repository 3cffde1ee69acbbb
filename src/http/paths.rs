//! Every route's path, in one place (discovery will read them too).

pub const HOME: &str = "/";
pub const HEALTHZ: &str = "/healthz";
/// Prometheus metrics (`[metrics]`).
pub const METRICS: &str = "/metrics";
pub const STYLESHEET: &str = "/static/style.css";

pub const LOGIN: &str = "/login";
/// Whether the journey step on screen has its answer (push approval).
pub const LOGIN_POLL: &str = "/login/poll";
pub const REGISTER: &str = "/register";
pub const RESET_PASSWORD: &str = "/reset-password";
pub const JOURNEY_SCRIPT: &str = "/static/journey.js";
pub const LOGOUT: &str = "/logout";
pub const ACCOUNT: &str = crate::journeys::goto::ACCOUNT_PATH;
pub const ACCOUNT_END_SESSION: &str = "/account/sessions/end";
/// Ends every session of the user but the one asking.
pub const ACCOUNT_END_OTHER_SESSIONS: &str = "/account/sessions/end-others";
/// Changes the signed-in user's password.
pub const ACCOUNT_PASSWORD: &str = "/account/password";
pub const ACCOUNT_REVOKE_CONSENT: &str = "/account/consents/revoke";
pub const ACCOUNT_PUSH: &str = "/account/push";
pub const ACCOUNT_FORGET_DEVICE: &str = "/account/devices/forget";
/// Names a remembered device.
pub const ACCOUNT_RENAME_DEVICE: &str = "/account/devices/rename";
/// Shows a new authenticator app's QR code (adding, or replacing after a code).
pub const ACCOUNT_APP_SETUP: &str = "/account/authenticator/setup";
/// Saves the new app once its code matches.
pub const ACCOUNT_APP_CONFIRM: &str = "/account/authenticator/confirm";
/// Removes the app (and the recovery codes) after a code.
pub const ACCOUNT_APP_REMOVE: &str = "/account/authenticator/remove";
/// Makes a new set of recovery codes and shows it once.
pub const ACCOUNT_RECOVERY_CODES: &str = "/account/recovery-codes";
/// Begins registering a passkey: answers the `navigator.credentials.create` options.
pub const ACCOUNT_PASSKEY_BEGIN: &str = "/account/passkeys/begin";
/// Finishes registering a passkey with the authenticator's answer.
pub const ACCOUNT_PASSKEY_FINISH: &str = "/account/passkeys/finish";
pub const ACCOUNT_PASSKEY_RENAME: &str = "/account/passkeys/rename";
pub const ACCOUNT_PASSKEY_REMOVE: &str = "/account/passkeys/remove";
/// The script that talks to the browser's WebAuthn API.
pub const PASSKEY_SCRIPT: &str = "/static/passkeys.js";

pub const API_AUTHENTICATE: &str = "/api/authenticate";
pub const API_SESSION: &str = "/api/session";
pub const API_VALIDATE: &str = "/api/sessions/validate";
pub const API_LOGOUT: &str = "/api/logout";
/// The push requests waiting for the caller's answer.
pub const API_PUSH: &str = "/api/push";
/// Answers one push request.
pub const API_PUSH_ANSWER: &str = "/api/push/{id}";

pub const OAUTH_AUTHORIZE: &str = "/oauth2/authorize";
pub const OAUTH_CONSENT: &str = "/oauth2/consent";
pub const OAUTH_TOKEN: &str = "/oauth2/token";
/// RFC 9126 §2: where a client pushes an authorization request.
pub const OAUTH_PAR: &str = "/oauth2/par";
/// RFC 8628 §3.1: where a device starts its authorization.
pub const OAUTH_DEVICE_AUTHORIZATION: &str = "/oauth2/device_authorization";
/// RFC 8628 §3.3: where the user enters a device's user code.
pub const DEVICE: &str = "/device";
pub const OAUTH_REVOKE: &str = "/oauth2/revoke";
pub const OAUTH_INTROSPECT: &str = "/oauth2/introspect";
pub const OAUTH_JWKS: &str = "/oauth2/jwks";
pub const OAUTH_USERINFO: &str = "/oauth2/userinfo";
pub const OAUTH_LOGOUT: &str = "/oauth2/logout";
pub const OAUTH_LOGOUT_CONFIRM: &str = "/oauth2/logout/confirm";
/// Dynamic client registration (RFC 7591).
pub const OAUTH_REGISTER: &str = "/oauth2/register";
/// A registered client's own registration (RFC 7592).
pub const OAUTH_REGISTRATION: &str = "/oauth2/register/{client_id}";
pub const OAUTH_METADATA: &str = "/.well-known/oauth-authorization-server";
pub const OIDC_DISCOVERY: &str = "/.well-known/openid-configuration";

/// Fixture mode (`[fixture] enabled`): tokens without a flow, mail sent.
pub const FIXTURE_TOKEN: &str = "/fixture/token";
pub const FIXTURE_OUTBOX: &str = "/fixture/outbox";

/// Paths under this prefix answer errors in JSON; others in HTML.
pub const API_PREFIX: &str = "/api/";

/// The admin API: JSON, errors as `{"error", "error_description"}`.
pub const ADMIN_API_PREFIX: &str = "/admin/api";
/// Users: search (`?q=&cursor=&limit=`) and create.
pub const ADMIN_USERS: &str = "/users";
/// One user.
pub const ADMIN_USER: &str = "/users/{id}";
/// Forgets the failed sign-ins that lock a user out.
pub const ADMIN_USER_UNLOCK: &str = "/users/{id}/unlock";
/// Mails a user a link to reset their password.
pub const ADMIN_USER_RESET_PASSWORD: &str = "/users/{id}/reset-password";
/// A user's sessions.
pub const ADMIN_USER_SESSIONS: &str = "/users/{id}/sessions";
/// One of a user's sessions.
pub const ADMIN_USER_SESSION: &str = "/users/{id}/sessions/{sid}";
/// What a user granted clients.
pub const ADMIN_USER_CONSENTS: &str = "/users/{id}/consents";
/// The devices a user's journeys remembered.
pub const ADMIN_USER_DEVICES: &str = "/users/{id}/devices";
/// Clients: list and create.
pub const ADMIN_CLIENTS: &str = "/clients";
/// One client.
pub const ADMIN_CLIENT: &str = "/clients/{client_id}";
/// Rotates a client's secret.
pub const ADMIN_CLIENT_SECRET: &str = "/clients/{client_id}/secret";
/// Mints initial access tokens for dynamic client registration.
pub const ADMIN_REGISTRATION_TOKENS: &str = "/registration-tokens";
/// Signing keys, with their status.
pub const ADMIN_KEYS: &str = "/keys";
/// Retires the active key of an algorithm and signs with a new one.
pub const ADMIN_KEYS_ROTATE: &str = "/keys/rotate";

/// The audit log: `?since=&type=&actor=&subject=&cursor=&limit=&format=`.
pub const ADMIN_AUDIT: &str = "/audit";

/// The journey cookie: the `auth_id` of a journey run in the browser.
pub const JOURNEY_COOKIE: &str = "tessera_journey";
/// The header native apps send their session token in.
pub const SESSION_HEADER: &str = "X-Session-Token";
/// The header a script on tessera's own pages sends the session's CSRF
/// token in, for the admin API.
pub const CSRF_HEADER: &str = "X-CSRF-Token";

/// A fresh backup of the store, under the admin API's prefix.
pub const ADMIN_BACKUP: &str = "/backup";
/// Response headers of a backup: how many users and clients it holds, for
/// the result line of `tessera backup --url`.
pub const BACKUP_USERS_HEADER: &str = "tessera-backup-users";
pub const BACKUP_CLIENTS_HEADER: &str = "tessera-backup-clients";
/// The admin pages (HTML): users, clients, signing keys, the audit log.
pub const ADMIN_HOME: &str = "/admin";
pub const ADMIN_USERS_PAGE: &str = "/admin/users";
pub const ADMIN_USER_PAGE: &str = "/admin/users/{id}";
pub const ADMIN_USER_PROFILE: &str = "/admin/users/{id}/profile";
pub const ADMIN_USER_STATUS: &str = "/admin/users/{id}/status";
pub const ADMIN_USER_PASSWORD: &str = "/admin/users/{id}/password";
pub const ADMIN_USER_DELETE: &str = "/admin/users/{id}/delete";
pub const ADMIN_USER_UNLOCK_PAGE: &str = "/admin/users/{id}/unlock";
pub const ADMIN_USER_RESET_PASSWORD_PAGE: &str = "/admin/users/{id}/reset-password";
pub const ADMIN_USER_END_SESSION: &str = "/admin/users/{id}/sessions/end";
pub const ADMIN_CLIENTS_PAGE: &str = "/admin/clients";
pub const ADMIN_CLIENT_PAGE: &str = "/admin/clients/{id}";
pub const ADMIN_CLIENT_SECRET_PAGE: &str = "/admin/clients/{id}/secret";
pub const ADMIN_CLIENT_DELETE: &str = "/admin/clients/{id}/delete";
pub const ADMIN_KEYS_PAGE: &str = "/admin/keys";
pub const ADMIN_KEYS_ROTATE_PAGE: &str = "/admin/keys/rotate";
pub const ADMIN_AUDIT_PAGE: &str = "/admin/audit";
