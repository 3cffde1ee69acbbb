// tessera driven by oauth4webapi (panva), an OAuth 2 / OpenID Connect client
// nobody here wrote: discovery, a pushed authorization request (RFC 9126),
// the authorization code flow with PKCE, all with DPoP (RFC 9449) under a
// server that asks for nonces; the DPoP-bound access token then reads
// UserInfo, is refused there as a bearer token, and the refresh token
// renews with the same key.
//
// It builds nothing: it runs the tessera binary it is given. The user signs
// in over tessera's HTML login form, as a browser without JavaScript would.
//
//   TESSERA_BIN   the binary (default: $CARGO_TARGET_DIR or target/, then debug/tessera)
//
// Output: one line per check, then `N passed, N failed`. Exit code 0 only
// when every check passed.

import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import * as oauth from "oauth4webapi";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const TARGET = resolve(ROOT, process.env.CARGO_TARGET_DIR ?? "target");
const TESSERA_BIN = resolve(process.env.TESSERA_BIN ?? join(TARGET, "debug", "tessera"));
const READY_TIMEOUT_MS = 15_000;
const WHOLE_RUN_MS = 30_000;

const USER = { username: "alice", password: "alice-password-for-oauth4webapi" };
const CLIENT_ID = "cli";
const REDIRECT_URI = "http://127.0.0.1:9/callback"; // never called: the redirect is read
const insecure = { [oauth.allowInsecureRequests]: true }; // tessera on loopback http

let passed = 0;
let failed = 0;

async function check(name, body) {
  try {
    const result = await body();
    passed += 1;
    console.log(`ok   ${name}`);
    return result;
  } catch (error) {
    failed += 1;
    console.log(`FAIL ${name}\n     ${JSON.stringify(error?.cause ?? "")} ${String(error?.stack ?? error).split("\n").join("\n     ")}`);
    throw new StopScenario();
  }
}

class StopScenario extends Error {}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

const CONFIG = `
[server]
bind = "127.0.0.1:0"

[storage]
path = ":memory:"

[passwords]          # fast, for tests only
memory_kib = 1024
iterations = 1

[accounts]
bootstrap_admin = false

[oauth]
dpop_nonce_secs = 300

[[users]]
username = "${USER.username}"
password = "${USER.password}"

[[clients]]
client_id = "${CLIENT_ID}"
name = "oauth4webapi"
redirect_uris = ["${REDIRECT_URI}"]
scopes = ["openid", "profile"]
first_party = true
dpop_bound_access_tokens = true
`;

/** Spawns tessera and resolves with its URL once it prints the ready line. */
async function startTessera(dir) {
  const configPath = join(dir, "tessera.toml");
  await writeFile(configPath, CONFIG);
  const child = spawn(TESSERA_BIN, ["serve", "--config", configPath], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, RUST_LOG: "warn" },
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`no ready line within ${READY_TIMEOUT_MS} ms\n${stderr}`)), READY_TIMEOUT_MS);
    child.once("exit", (code, signal) =>
      fail(new Error(`tessera exited (code ${code}, signal ${signal}) before it was ready\n${stderr}`)),
    );
    createInterface({ input: child.stdout }).on("line", (line) => {
      const ready = /^tessera listening on (http:\/\/\S+)$/.exec(line);
      if (ready) {
        clearTimeout(timer);
        ok(ready[1]);
      }
    });
  });
  return { child, url };
}

/** A browser without JavaScript: keeps cookies, follows nothing by itself. */
class Browser {
  cookies = new Map();

  async request(url, init = {}) {
    const headers = new Headers(init.headers);
    if (this.cookies.size) {
      headers.set("cookie", [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; "));
    }
    const response = await fetch(url, { ...init, headers, redirect: "manual" });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(";");
      const at = pair.indexOf("=");
      this.cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
    return response;
  }

  /** Follows redirects from `url` until one leads to `stop`; returns that URL. */
  async followUntil(url, stop, onPage) {
    for (let hops = 0; hops < 10; hops += 1) {
      const response = await this.request(url);
      if (response.status === 303 || response.status === 302) {
        const next = new URL(response.headers.get("location"), url).href;
        if (next.startsWith(stop)) return new URL(next);
        url = next;
        continue;
      }
      const html = await response.text();
      assert(response.status === 200, `GET ${url}: ${response.status} ${html}`);
      url = await onPage(url, html);
    }
    throw new Error("too many redirects");
  }
}

const unescape = (text) => text.replaceAll("&#38;", "&").replaceAll("&amp;", "&").replaceAll("&#61;", "=");

/** Fills tessera's login form on `html` (at `url`); returns where it leads. */
async function signIn(browser, url, html) {
  const action = /<form method="post" action="([^"]*)"/.exec(html)?.[1];
  const csrf = /name="csrf_token" value="([^"]*)"/.exec(html)?.[1];
  assert(action && csrf && html.includes('name="password"'), `a login form at ${url}:\n${html}`);
  const response = await browser.request(new URL(unescape(action), url), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ csrf_token: unescape(csrf), ...USER }),
  });
  if (response.status !== 303) throw new Error(`signing in: ${response.status} ${await response.text()}`);
  return new URL(response.headers.get("location"), url).href;
}

let nonceErrors = 0;

/** Runs `request` once more if tessera answered `use_dpop_nonce` (oauth4webapi kept the nonce). */
async function withNonce(request) {
  try {
    return await request();
  } catch (error) {
    if (!oauth.isDPoPNonceError(error)) throw error;
    nonceErrors += 1;
    return await request();
  }
}

async function scenario(issuer) {
  const as = await check("discovery names DPoP algorithms and the PAR endpoint", async () => {
    const response = await oauth.discoveryRequest(new URL(issuer), { algorithm: "oidc", ...insecure });
    const as = await oauth.processDiscoveryResponse(new URL(issuer), response);
    assert(as.dpop_signing_alg_values_supported?.includes("ES256"), JSON.stringify(as));
    assert(as.pushed_authorization_request_endpoint, "pushed_authorization_request_endpoint");
    return as;
  });
  const client = { client_id: CLIENT_ID };
  const auth = oauth.None();
  const keyPair = await oauth.generateKeyPair("ES256");
  const DPoP = oauth.DPoP(client, keyPair);
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();

  const pushed = await check("PAR with a DPoP proof (after the nonce tessera asks for)", () =>
    withNonce(async () => {
      const response = await oauth.pushedAuthorizationRequest(
        as,
        client,
        auth,
        {
          redirect_uri: REDIRECT_URI,
          response_type: "code",
          scope: "openid profile",
          state,
          code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
          code_challenge_method: "S256",
        },
        { DPoP, ...insecure },
      );
      return oauth.processPushedAuthorizationResponse(as, client, response);
    }).then((pushed) => {
      // The first proof had no nonce: tessera asked for one, once.
      assert(nonceErrors === 1, `${nonceErrors} use_dpop_nonce answers`);
      return pushed;
    }),
  );

  const callback = await check("sign-in over the HTML form comes back with a code", async () => {
    const authorize = new URL(as.authorization_endpoint);
    authorize.searchParams.set("client_id", CLIENT_ID);
    authorize.searchParams.set("request_uri", pushed.request_uri);
    const browser = new Browser();
    const back = await browser.followUntil(authorize.href, REDIRECT_URI, (url, html) => signIn(browser, url, html));
    return oauth.validateAuthResponse(as, client, back, state);
  });

  const tokens = await check("the code is redeemed for a DPoP-bound token", () =>
    withNonce(async () => {
      const response = await oauth.authorizationCodeGrantRequest(as, client, auth, callback, REDIRECT_URI, verifier, {
        DPoP,
        ...insecure,
      });
      const tokens = await oauth.processAuthorizationCodeResponse(as, client, response);
      assert(tokens.token_type === "dpop", `token_type ${tokens.token_type}`);
      assert(tokens.refresh_token, "a refresh token");
      return tokens;
    }),
  );
  const sub = oauth.getValidatedIdTokenClaims(tokens).sub;

  await check("UserInfo answers the DPoP-bound token with a proof", () =>
    // The nonce the token endpoint gave is good at UserInfo too.
    withNonce(async () => {
      const response = await oauth.userInfoRequest(as, client, tokens.access_token, { DPoP, ...insecure });
      const claims = await oauth.processUserInfoResponse(as, client, sub, response);
      assert(claims.preferred_username === USER.username, JSON.stringify(claims));
    }),
  );

  await check("UserInfo refuses the same token as a bearer token", async () => {
    const response = await fetch(as.userinfo_endpoint, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert(response.status === 401, `status ${response.status}`);
    const challenges = response.headers.get("www-authenticate");
    assert(/error="invalid_token"/.test(challenges) && /DPoP algs="/.test(challenges), challenges);
  });

  await check("the refresh token renews with the same key, and not with another", async () => {
    const other = oauth.DPoP(client, await oauth.generateKeyPair("ES256"));
    await assertRefused(() =>
      withNonce(async () => {
        const response = await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token, {
          DPoP: other,
          ...insecure,
        });
        return oauth.processRefreshTokenResponse(as, client, response);
      }),
      "invalid_dpop_proof",
    );
    const renewed = await withNonce(async () => {
      const response = await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token, {
        DPoP,
        ...insecure,
      });
      return oauth.processRefreshTokenResponse(as, client, response);
    });
    assert(renewed.token_type === "dpop", `token_type ${renewed.token_type}`);
  });
}

async function assertRefused(request, error) {
  try {
    await request();
  } catch (err) {
    assert(err?.error === error, `expected ${error}, got ${err?.error ?? err}`);
    return;
  }
  throw new Error(`expected ${error}, the request succeeded`);
}

const dir = await mkdtemp(join(tmpdir(), "tessera-oauth4webapi-"));
let tessera;
const deadline = setTimeout(() => {
  console.log(`FAIL the run took longer than ${WHOLE_RUN_MS} ms`);
  tessera?.child.kill();
  process.exit(1);
}, WHOLE_RUN_MS);
try {
  tessera = await startTessera(dir);
  await scenario(tessera.url);
} catch (error) {
  if (!(error instanceof StopScenario)) {
    failed += 1;
    console.log(`FAIL ${error?.stack ?? error}`);
  }
} finally {
  tessera?.child.kill();
  clearTimeout(deadline);
  await rm(dir, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
