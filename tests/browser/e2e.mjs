// Browser end-to-end test: what a person sees and does in a real browser
// during the OAuth code flow. Headless Chromium signs in (a wrong password
// first), allows a third-party client on the consent page, and lands on the
// client's callback with a code. Then passkeys: on a second tessera whose
// issuer is on `localhost` (WebAuthn refuses IP addresses), Chromium's
// virtual authenticator (DevTools `WebAuthn.addVirtualAuthenticator`)
// registers a passkey on /account and signs in with it through a journey
// whose only node is `passkey`.
//
// It builds nothing: it runs the tessera binary it is given.
//
//   TESSERA_BIN   the binary (default: $CARGO_TARGET_DIR or target/, then debug/tessera)
//   CHROMIUM_BIN  the browser (default: /usr/bin/chromium)
//
// Output: one line per check, then `N passed, N failed`. Exit code 0 only
// when every check passed. A consent-page screenshot (and one of the page a
// failure happened on) goes to target/browser-e2e/.

import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { createServer as createTcpServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const TARGET = resolve(ROOT, process.env.CARGO_TARGET_DIR ?? "target");
const TESSERA_BIN = resolve(process.env.TESSERA_BIN ?? join(TARGET, "debug", "tessera"));
const CHROMIUM_BIN = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
const ARTIFACTS = join(TARGET, "browser-e2e");

const READY_TIMEOUT_MS = 15_000; // the server's ready line
const STEP_TIMEOUT_MS = 10_000; // each browser action and wait
const WHOLE_RUN_MS = 50_000; // the whole run, whatever hangs

const USER = { username: "alice", password: "alice-password-e2e", name: "Alice Liddell" };
const CLIENT = {
  id: "notes",
  name: "Notes",
  secret: "notes-secret-for-the-browser-test-0123456789",
};
const CUSTOM_SCOPE = { name: "notes:read", description: "Read your notes" };
const SCOPES = [
  { name: "openid", description: "Confirm who you are" },
  { name: "profile", description: "See your name and username" },
  CUSTOM_SCOPE,
];

// ---------------------------------------------------------------- reporting

let passed = 0;
let failed = 0;

/** Runs one check; a failing check stops the scenario (later steps depend on it). */
async function check(name, body) {
  try {
    await body();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (error) {
    failed += 1;
    console.log(`FAIL ${name}\n     ${String(error?.message ?? error).split("\n").join("\n     ")}`);
    throw new StopScenario();
  }
}

class StopScenario extends Error {}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

function assertEqual(actual, expected, what) {
  assert(actual === expected, `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

// ---------------------------------------------------------------- fixtures

/** The client's side of the redirect: records each request to /callback. */
async function startCallbackServer() {
  const hits = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    if (url.pathname === "/callback") hits.push(url);
    res.writeHead(url.pathname === "/callback" ? 200 : 404, { "content-type": "text/html; charset=utf-8" });
    res.end("<!doctype html><title>Notes</title><h1>Back at Notes</h1>");
  });
  await new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", ok);
  });
  const { port } = server.address();
  return { server, hits, redirectUri: `http://127.0.0.1:${port}/callback` };
}

function configToml(redirectUri) {
  const s = JSON.stringify; // a JSON string is a valid TOML basic string here
  return `
[server]
bind = "127.0.0.1:0"

[storage]
path = ":memory:"

[passwords]          # fast, for tests only
memory_kib = 1024
iterations = 1

[accounts]
bootstrap_admin = false

[oauth.scopes]
${s(CUSTOM_SCOPE.name)} = ${s(CUSTOM_SCOPE.description)}

[[users]]
username = ${s(USER.username)}
password = ${s(USER.password)}
name = ${s(USER.name)}

[[clients]]
client_id = ${s(CLIENT.id)}
name = ${s(CLIENT.name)}
client_secret = ${s(CLIENT.secret)}
redirect_uris = [${s(redirectUri)}]
scopes = ${s(SCOPES.map((scope) => scope.name))}
grant_types = ["authorization_code"]
first_party = false
`;
}

/** A free loopback port: the passkey server's issuer must name its port. */
async function freePort() {
  const server = createTcpServer();
  await new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", ok);
  });
  const { port } = server.address();
  await new Promise((ok) => server.close(ok));
  return port;
}

/** A tessera on `localhost:port` with a journey that signs in by passkey alone. */
function passkeyConfigToml(port) {
  const s = JSON.stringify;
  return `
issuer = "http://localhost:${port}"

[server]
bind = "127.0.0.1:${port}"

[storage]
path = ":memory:"

[passwords]          # fast, for tests only
memory_kib = 1024
iterations = 1

[accounts]
bootstrap_admin = false

[[users]]
username = ${s(USER.username)}
password = ${s(USER.password)}
name = ${s(USER.name)}

[journeys.passkey]
start = "key"
[journeys.passkey.nodes.key]
type = "passkey"
next = { success = "success", failure = "failure", not_enrolled = "failure" }
`;
}

/** Spawns tessera and resolves with its URL once it prints the ready line. */
async function startTessera(configPath) {
  assert(existsSync(TESSERA_BIN), `no tessera binary at ${TESSERA_BIN}: run \`cargo build\` or set TESSERA_BIN`);
  // Only the file configures it: no TESSERA_CONFIG or TESSERA__* from the caller.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("TESSERA")));
  const child = spawn(TESSERA_BIN, ["serve", "--config", configPath], { stdio: ["ignore", "pipe", "pipe"], env });
  // Never outlive this script, however it ends (Playwright does the same for Chromium).
  process.on("exit", () => child.kill("SIGKILL"));
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`no ready line within ${READY_TIMEOUT_MS} ms\n${stderr}`)), READY_TIMEOUT_MS);
    child.once("error", (error) => fail(new Error(`cannot start ${TESSERA_BIN}: ${error.message}`)));
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
  return { child, url, stderr: () => stderr };
}

/** SIGTERM, then SIGKILL if it has not exited after 5 s. */
async function stop(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((ok) => child.once("exit", ok));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

function pkce() {
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  return { verifier, challenge };
}

// ---------------------------------------------------------------- the scenario

async function scenario({ tessera, callback, page }) {
  const state = randomBytes(16).toString("base64url");
  const { verifier, challenge } = pkce();
  const authorize = new URL("/oauth2/authorize", tessera.url);
  authorize.search = new URLSearchParams({
    response_type: "code",
    client_id: CLIENT.id,
    redirect_uri: callback.redirectUri,
    scope: SCOPES.map((scope) => scope.name).join(" "),
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  }).toString();

  const heading = (name) => page.getByRole("heading", { level: 1, name, exact: true });
  const username = page.getByLabel("Username", { exact: true });
  const password = page.getByLabel("Password", { exact: true });
  const signIn = page.locator("form button.primary");

  await check("the client's authorize link shows tessera's sign-in page", async () => {
    await page.goto(authorize.toString());
    const url = new URL(page.url());
    assertEqual(url.origin + url.pathname, new URL("/login", tessera.url).toString(), "page");
    await heading("Sign in").waitFor({ state: "visible" });
  });

  await check("the sign-in page has labelled Username and Password inputs and a button", async () => {
    await username.waitFor({ state: "visible" });
    await password.waitFor({ state: "visible" });
    assertEqual(await username.getAttribute("name"), "username", "Username input name");
    assertEqual(await password.getAttribute("name"), "password", "Password input name");
    assertEqual(await password.getAttribute("type"), "password", "Password input type");
    assert(await signIn.isVisible(), "no visible submit button (form button.primary)");
    assertEqual(await page.getByRole("alert").count(), 0, "alerts before any attempt");
  });

  await check("a wrong password shows “Invalid username or password.”", async () => {
    await username.fill(USER.username);
    await password.fill("not-the-password");
    await Promise.all([page.waitForNavigation(), signIn.click()]);
    const alert = page.getByRole("alert");
    await alert.waitFor({ state: "visible" });
    assertEqual((await alert.innerText()).trim(), "Invalid username or password.", "error message");
    await heading("Sign in").waitFor({ state: "visible" });
  });

  const consentHeading = heading(`Allow ${CLIENT.name} to use your account?`);
  await check("the right password leads to the consent page naming the client", async () => {
    await username.fill(USER.username);
    await password.fill(USER.password);
    await Promise.all([page.waitForNavigation(), signIn.click()]);
    await consentHeading.waitFor({ state: "visible" });
    await page.getByText(`Signed in as ${USER.username}.`).waitFor({ state: "visible" });
  });

  await check("the consent page lists each scope asked with its description", async () => {
    const items = page.locator("ul.scopes > li");
    assertEqual(await items.count(), SCOPES.length, "number of scopes listed");
    for (const scope of SCOPES) {
      const item = items.filter({ hasText: scope.description });
      await item.waitFor({ state: "visible" });
      assertEqual(await item.locator("code").innerText(), scope.name, `scope shown for “${scope.description}”`);
    }
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "consent.png"), fullPage: true });
  });

  await check("Allow sends the browser to the client's callback with code, state and iss", async () => {
    const allow = page.getByRole("button", { name: "Allow", exact: true });
    await page.getByRole("button", { name: "Deny", exact: true }).waitFor({ state: "visible" });
    assertEqual(await allow.getAttribute("value"), "allow", "Allow button value");
    await Promise.all([page.waitForURL((url) => url.href.startsWith(callback.redirectUri)), allow.click()]);
    await heading("Back at Notes").waitFor({ state: "visible" });
    const landed = new URL(page.url());
    assertEqual(landed.origin + landed.pathname, callback.redirectUri, "landing URL");
    assert(/^[A-Za-z0-9_-]{20,}$/.test(landed.searchParams.get("code") ?? ""), `no code in ${landed.search}`);
    assertEqual(landed.searchParams.get("state"), state, "state");
    assertEqual(landed.searchParams.get("iss"), tessera.url, "iss");
    assertEqual(callback.hits.length, 1, "requests the callback server received");
    assertEqual(callback.hits[0].searchParams.get("code"), landed.searchParams.get("code"), "code the client got");
  });

  await check("the code is redeemable for an access token with the allowed scopes", async () => {
    const response = await fetch(new URL("/oauth2/token", tessera.url), {
      method: "POST",
      headers: { authorization: `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString("base64")}` },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code: callback.hits[0].searchParams.get("code"),
        redirect_uri: callback.redirectUri,
        code_verifier: verifier,
      }),
      signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
    });
    const body = await response.text();
    assertEqual(response.status, 200, `token response status (${body})`);
    const token = JSON.parse(body);
    assert(typeof token.access_token === "string" && token.access_token.length > 0, "no access_token");
    assertEqual(token.scope?.split(" ").sort().join(" "), SCOPES.map((s) => s.name).sort().join(" "), "scope");
  });
}

/** Registers a passkey on /account with a virtual authenticator, then signs in with it. */
async function passkeyScenario({ tessera, context }) {
  const page = await context.newPage();
  const base = tessera.url.replace("127.0.0.1", "localhost");
  const cdp = await context.newCDPSession(page);
  let authenticatorId;
  await check("Chromium gets a virtual platform authenticator with user verification", async () => {
    await cdp.send("WebAuthn.enable");
    ({ authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: {
        protocol: "ctap2",
        transport: "internal",
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    }));
  });

  await check("a passkey is added on /account after signing in with the password", async () => {
    await page.goto(new URL("/login", base).toString());
    await page.getByLabel("Username", { exact: true }).fill(USER.username);
    await page.getByLabel("Password", { exact: true }).fill(USER.password);
    await Promise.all([page.waitForNavigation(), page.locator("form button.primary").click()]);
    await page.getByRole("heading", { level: 2, name: "Passkeys", exact: true }).waitFor({ state: "visible" });
    await page.getByLabel("Name of the new passkey").fill("Chromium virtual key");
    await Promise.all([
      page.waitForURL((url) => url.hash === "#passkeys"),
      page.getByRole("button", { name: "Add a passkey", exact: true }).click(),
    ]);
    await page.locator("#passkeys strong", { hasText: "Chromium virtual key" }).waitFor({ state: "visible" });
    const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
    assertEqual(credentials.length, 1, "credentials in the virtual authenticator");
    assert(credentials[0].isResidentCredential, "the passkey is not discoverable");
    assertEqual(credentials[0].rpId, "localhost", "relying-party id");
  });

  await check("signed out, the passkey journey signs in without a username", async () => {
    await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Sign out", exact: true }).click()]);
    await page.goto(new URL("/login?journey=passkey", base).toString());
    assertEqual(await page.getByLabel("Username", { exact: true }).count(), 0, "username inputs on the passkey step");
    await Promise.all([
      page.waitForURL((url) => url.pathname === "/account"),
      page.getByRole("button", { name: "Use a passkey", exact: true }).click(),
    ]);
    await page.getByRole("heading", { level: 1, name: "Your account", exact: true }).waitFor({ state: "visible" });
    await page.getByText("last used", { exact: false }).first().waitFor({ state: "visible" });
    const session = await page.evaluate(() => fetch("/api/session").then((r) => r.json()));
    assertEqual(session.user?.username, USER.username, "user of the new session");
    assert(session.amr?.includes("user"), `amr of the new session: ${JSON.stringify(session.amr)}`);
  });
  await page.close();
}

// ---------------------------------------------------------------- main

async function main() {
  const started = Date.now();
  const work = await mkdtemp(join(tmpdir(), "tessera-browser-e2e-"));
  let callback;
  let tessera;
  let context;
  let page;
  try {
    await check("fixtures start: callback server, tessera, headless Chromium", async () => {
      assert(existsSync(CHROMIUM_BIN), `no Chromium at ${CHROMIUM_BIN}: apt-get install -y chromium`);
      callback = await startCallbackServer();
      const configPath = join(work, "tessera.toml");
      await writeFile(configPath, configToml(callback.redirectUri));
      tessera = await startTessera(configPath);
      context = await chromium.launchPersistentContext(join(work, "chromium-profile"), {
        executablePath: CHROMIUM_BIN,
        headless: true,
        args: [
          "--no-sandbox",
          "--disable-gpu",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--no-first-run",
        ],
        timeout: STEP_TIMEOUT_MS,
      });
      context.setDefaultTimeout(STEP_TIMEOUT_MS);
      page = context.pages()[0] ?? (await context.newPage());
    });
    await scenario({ tessera, callback, page });
    await check("a second tessera starts on a localhost issuer", async () => {
      await stop(tessera.child);
      const configPath = join(work, "passkeys.toml");
      await writeFile(configPath, passkeyConfigToml(await freePort()));
      tessera = await startTessera(configPath);
    });
    await passkeyScenario({ tessera, context });
  } catch (error) {
    if (!(error instanceof StopScenario)) {
      failed += 1;
      console.log(`FAIL unexpected error\n     ${error?.stack ?? error}`);
    }
    if (page) {
      await mkdir(ARTIFACTS, { recursive: true });
      await page
        .screenshot({ path: join(ARTIFACTS, "failure.png"), fullPage: true })
        .then(() => console.log(`     page at failure: ${page.url()} (screenshot: ${join(ARTIFACTS, "failure.png")})`))
        .catch(() => {});
    }
    if (tessera) {
      const log = tessera.stderr().replace(/\x1b\[[0-9;]*m/g, ""); // without colours
      console.log(`     tessera's log:\n${log.replace(/^/gm, "       ")}`);
    }
  } finally {
    await context?.close().catch(() => {});
    await stop(tessera?.child);
    callback?.server.close();
    await rm(work, { recursive: true, force: true });
  }
  console.log(`(browser test took ${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

const watchdog = setTimeout(() => {
  console.log(`FAIL the browser test did not finish within ${WHOLE_RUN_MS / 1000} s`);
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
}, WHOLE_RUN_MS);
watchdog.unref();

await main();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
