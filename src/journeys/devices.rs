//! Devices a user signs in from: the characteristics `device_profile`
//! reads, the fingerprint derived from them, the label people read, and
//! the devices `remember_device` keeps for each user (listed, named and
//! forgotten on /account).
//!
//! The fingerprint is SHA-256 (base64url) over a versioned, normalised
//! text of five characteristics: the user agent with every run of digits
//! replaced by `#` (so browser and system updates do not make a device
//! new), the Accept-Language tags without their weights, and the screen
//! (`WIDTHxHEIGHTxDEPTH`), time zone and platform that the page's script
//! (or a native app) reports. All are lowercased, trimmed and stripped of
//! control characters; a missing one counts as empty.
//!
//! Every characteristic comes from the client, so a fingerprint recognises
//! a device that does not try to hide, and cannot authenticate one: a known
//! device may skip a step, never replace the password.

use crate::context::Context;
use crate::secret::random_id;
use crate::store::{KnownDevice, ProfiledDevice, StoreError};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Names the normalisation below; a change to it must change the version,
/// which makes every remembered device new once.
const FINGERPRINT_VERSION: &str = "tessera-device-v1";

/// Longest value of one characteristic that counts.
const MAX_VALUE_CHARS: usize = 512;

/// Devices remembered per user; remembering one more forgets the one seen
/// least recently, so the list cannot grow without bound.
pub const MAX_DEVICES: usize = 20;

/// What a device tells about itself; any of it may be missing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Characteristics<'a> {
    pub user_agent: Option<&'a str>,
    pub accept_language: Option<&'a str>,
    pub screen: Option<&'a str>,
    pub timezone: Option<&'a str>,
    pub platform: Option<&'a str>,
}

/// The device's fingerprint (see the module documentation).
pub fn fingerprint(device: &Characteristics<'_>) -> String {
    let user_agent = device.user_agent.map(without_versions).unwrap_or_default();
    let accept_language = device
        .accept_language
        .map(language_tags)
        .unwrap_or_default();
    let lines = [
        ("user_agent", user_agent.as_str()),
        ("accept_language", accept_language.as_str()),
        ("screen", device.screen.unwrap_or_default()),
        ("timezone", device.timezone.unwrap_or_default()),
        ("platform", device.platform.unwrap_or_default()),
    ];
    let mut text = String::from(FINGERPRINT_VERSION);
    for (name, value) in lines {
        text.push('\n');
        text.push_str(name);
        text.push('=');
        text.push_str(&normalise(value));
    }
    URL_SAFE_NO_PAD.encode(crate::secret::sha256(text.as_bytes()))
}

/// Lowercased, trimmed, bounded, and without control characters, so that
/// a value cannot spill into the next line of the fingerprinted text.
fn normalise(value: &str) -> String {
    value
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_VALUE_CHARS)
        .flat_map(char::to_lowercase)
        .collect()
}

/// `Chrome/120.0.6099.71` → `Chrome/#.#.#.#`.
fn without_versions(user_agent: &str) -> String {
    let mut out = String::with_capacity(user_agent.len());
    let mut in_digits = false;
    for c in user_agent.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('#');
            }
            in_digits = true;
        } else {
            out.push(c);
            in_digits = false;
        }
    }
    out
}

/// `en-US,en;q=0.9` → `en-US,en`: the languages in the user's order.
fn language_tags(accept_language: &str) -> String {
    accept_language
        .split(',')
        .filter_map(|tag| tag.split(';').next())
        .map(str::trim)
        .filter(|tag| !tag.is_empty())
        .collect::<Vec<_>>()
        .join(",")
}

/// A short, readable name for the browser or app behind a user agent, and
/// the system it runs on: "Chrome 120 on Windows", "Safari 17 on iOS 17",
/// "curl 8". Shown wherever sessions, sign-in requests and remembered
/// devices are listed, so that a person can tell their devices apart.
///
/// A few dozen lines over the user agents people actually sign in with,
/// rather than a crate: the parsers on crates.io either carry a large
/// regex database compiled at start-up (`uaparser`) or are no longer kept
/// up to date (`woothee`), and a label needs neither a device model nor a
/// minor version. Anything unrecognised is shown as it came, shortened.
pub fn label(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.map(str::trim).filter(|ua| !ua.is_empty()) else {
        return "Unknown device".into();
    };
    match (browser(ua), system(ua)) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(name), None) | (None, Some(name)) => name,
        (None, None) => ua.chars().filter(|c| !c.is_control()).take(40).collect(),
    }
}

/// The browser or client and its major version. Order matters: Edge,
/// Opera and Samsung Internet also say "Chrome", Chrome also says
/// "Safari", and the iOS browsers say "Safari" but name themselves first.
fn browser(ua: &str) -> Option<String> {
    const BROWSERS: &[(&str, &str)] = &[
        ("Edg/", "Edge"),
        ("EdgA/", "Edge"),
        ("EdgiOS/", "Edge"),
        ("OPR/", "Opera"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("Vivaldi/", "Vivaldi"),
        ("YaBrowser/", "Yandex Browser"),
        ("FxiOS/", "Firefox"),
        ("Firefox/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        // Safari's own version follows `Version/`, not `Safari/`.
        ("Version/", "Safari"),
        ("curl/", "curl"),
        ("Wget/", "Wget"),
        ("python-requests/", "Python requests"),
        ("python-httpx/", "Python httpx"),
        ("Python-urllib/", "Python urllib"),
        ("aiohttp/", "Python aiohttp"),
        ("Go-http-client/", "Go"),
        ("okhttp/", "OkHttp"),
        ("PostmanRuntime/", "Postman"),
        ("node-fetch", "Node.js"),
        ("undici", "Node.js"),
    ];
    let (name, version) = BROWSERS.iter().find_map(|(marker, name)| {
        let at = ua.find(marker)?;
        // `Version/` alone is no browser (some apps' web views say it).
        if *marker == "Version/" && !ua.contains("Safari/") {
            return None;
        }
        Some((*name, major_version(&ua[at + marker.len()..])))
    })?;
    Some(match version {
        Some(version) => format!("{name} {version}"),
        None => name.to_owned(),
    })
}

/// The operating system, with its version where the user agent gives a
/// meaningful one (Android, iOS; Windows 11 and recent macOS report frozen
/// numbers, so none for them).
fn system(ua: &str) -> Option<String> {
    let after = |marker: &str| ua.find(marker).map(|at| &ua[at + marker.len()..]);
    let versioned = |name: &str, version: Option<String>| match version {
        Some(version) => format!("{name} {version}"),
        None => name.to_owned(),
    };
    if let Some(rest) = after("Android") {
        let version = rest.strip_prefix(' ').and_then(major_version);
        return Some(versioned("Android", version));
    }
    if ua.contains("iPad") {
        let version = after("CPU OS ").and_then(major_version);
        return Some(versioned("iPadOS", version));
    }
    if ua.contains("iPhone") || ua.contains("iPod") {
        let version = after("iPhone OS ").and_then(major_version);
        return Some(versioned("iOS", version));
    }
    let systems = [
        ("Windows", "Windows"),
        ("CrOS", "ChromeOS"),
        ("Mac OS X", "macOS"),
        ("Macintosh", "macOS"),
        ("FreeBSD", "FreeBSD"),
        ("OpenBSD", "OpenBSD"),
        ("Linux", "Linux"),
        ("X11", "Unix"),
    ];
    systems
        .into_iter()
        .find(|(marker, _)| ua.contains(marker))
        .map(|(_, name)| name.to_owned())
}

/// The leading number of a version (`120.0.6099.71` → `120`, `17_2` → `17`).
fn major_version(text: &str) -> Option<String> {
    let digits: String = text
        .chars()
        .take_while(char::is_ascii_digit)
        .take(6)
        .collect();
    (!digits.is_empty()).then_some(digits)
}

/// Whether the user remembered a device with this fingerprint; if so, it
/// is marked as seen now.
pub fn recognise(ctx: &Context, user_id: &str, fingerprint: &str) -> Result<bool, StoreError> {
    let known = ctx
        .store
        .read(|tx| tx.devices_of(user_id))?
        .iter()
        .any(|device| device.fingerprint == fingerprint);
    if known {
        let now = ctx.now();
        ctx.store.write(|tx| {
            let mut devices = tx.devices_of(user_id)?;
            for device in &mut devices {
                if device.fingerprint == fingerprint {
                    device.last_seen = now;
                }
            }
            tx.put_devices(user_id, &devices)
        })?;
    }
    Ok(known)
}

/// Remembers a profiled device for the user, or marks it as seen now if it
/// is already known.
pub fn remember(ctx: &Context, user_id: &str, device: &ProfiledDevice) -> Result<(), StoreError> {
    let now = ctx.now();
    ctx.store.write(|tx| {
        let mut devices = tx.devices_of(user_id)?;
        match devices
            .iter_mut()
            .find(|known| known.fingerprint == device.fingerprint)
        {
            Some(known) => {
                known.last_seen = now;
                known.label.clone_from(&device.label);
            }
            None => devices.push(KnownDevice {
                id: random_id(),
                fingerprint: device.fingerprint.clone(),
                label: device.label.clone(),
                name: None,
                first_seen: now,
                last_seen: now,
            }),
        }
        keep_recent(&mut devices);
        tx.put_devices(user_id, &devices)
    })
}

/// Keeps the [`MAX_DEVICES`] most recently seen devices, most recent first.
fn keep_recent(devices: &mut Vec<KnownDevice>) {
    devices.sort_by_key(|device| std::cmp::Reverse(device.last_seen));
    devices.truncate(MAX_DEVICES);
}

/// A user's remembered devices, most recently seen first.
pub fn list(ctx: &Context, user_id: &str) -> Result<Vec<KnownDevice>, StoreError> {
    let mut devices = ctx.store.read(|tx| tx.devices_of(user_id))?;
    keep_recent(&mut devices);
    Ok(devices)
}

/// Forgets one of a user's devices by its id; returns whether it existed.
pub fn forget(ctx: &Context, user_id: &str, device_id: &str) -> Result<bool, StoreError> {
    ctx.store.write(|tx| {
        let mut devices = tx.devices_of(user_id)?;
        let before = devices.len();
        devices.retain(|device| device.id != device_id);
        if devices.len() == before {
            return Ok(false);
        }
        tx.put_devices(user_id, &devices)?;
        Ok(true)
    })
}

/// Longest name a user may give a device.
pub const MAX_NAME_CHARS: usize = 60;

/// Why a device was not renamed.
#[derive(Debug, thiserror::Error)]
pub enum RenameError {
    #[error("a device name has at most {MAX_NAME_CHARS} characters")]
    TooLong,
    #[error("no remembered device with this id")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Names one of a user's remembered devices (trimmed, without control
/// characters); an empty name clears it, and the label shows again.
pub fn rename(
    ctx: &Context,
    user_id: &str,
    device_id: &str,
    name: &str,
) -> Result<(), RenameError> {
    let name: String = name.trim().chars().filter(|c| !c.is_control()).collect();
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(RenameError::TooLong);
    }
    ctx.store.write(|tx| {
        let mut devices = tx.devices_of(user_id)?;
        let device = devices
            .iter_mut()
            .find(|device| device.id == device_id)
            .ok_or(RenameError::NotFound)?;
        device.name = Some(name).filter(|name| !name.is_empty());
        tx.put_devices(user_id, &devices)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::{Duration, OffsetDateTime};

    const CHROME_120: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.71 Safari/537.36";
    const CHROME_121: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.6167.85 Safari/537.36";

    fn laptop() -> Characteristics<'static> {
        Characteristics {
            user_agent: Some(CHROME_120),
            accept_language: Some("en-GB,en;q=0.9"),
            screen: Some("1920x1080x24"),
            timezone: Some("Europe/London"),
            platform: Some("Linux"),
        }
    }

    #[test]
    fn browser_updates_and_language_weights_do_not_change_the_fingerprint() {
        let updated = Characteristics {
            user_agent: Some(CHROME_121),
            accept_language: Some("en-GB, en;q=0.8"),
            platform: Some(" linux "),
            ..laptop()
        };
        assert_eq!(fingerprint(&laptop()), fingerprint(&updated));
    }

    #[test]
    fn each_characteristic_changes_the_fingerprint() {
        let base = fingerprint(&laptop());
        let variants = [
            Characteristics {
                user_agent: Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/121.0"),
                ..laptop()
            },
            Characteristics {
                accept_language: Some("de-DE,de"),
                ..laptop()
            },
            Characteristics {
                screen: Some("2560x1440x24"),
                ..laptop()
            },
            Characteristics {
                timezone: Some("Europe/Berlin"),
                ..laptop()
            },
            Characteristics {
                platform: None,
                ..laptop()
            },
        ];
        for variant in variants {
            assert_ne!(fingerprint(&variant), base, "{variant:?}");
        }
    }

    #[test]
    fn fingerprints_are_sha256_in_base64url() {
        assert_eq!(fingerprint(&Characteristics::default()).len(), 43);
    }

    #[test]
    fn user_agents_are_shown_as_browser_and_system() {
        let cases = [
            (CHROME_120, "Chrome 120 on Linux"),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
                "Edge 131 on Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.2; rv:121.0) Gecko/20100101 Firefox/121.0",
                "Firefox 121 on macOS",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
                "Safari 17 on macOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
                "Safari 17 on iOS 17",
            ),
            (
                "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1",
                "Chrome 120 on iPadOS 16",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
                "Samsung Internet 23 on Android 14",
            ),
            (
                "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36 OPR/79.0.0.0",
                "Opera 79 on Android 10",
            ),
            (
                "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
                "Chrome 120 on ChromeOS",
            ),
            ("curl/8.5.0", "curl 8"),
            ("python-requests/2.31.0", "Python requests 2"),
            ("okhttp/4.12.0", "OkHttp 4"),
        ];
        for (ua, shown) in cases {
            assert_eq!(label(Some(ua)), shown, "{ua}");
        }
    }

    #[test]
    fn unknown_or_missing_user_agents_are_shown_as_they_came_or_unknown() {
        assert_eq!(label(None), "Unknown device");
        assert_eq!(label(Some("  ")), "Unknown device");
        assert_eq!(label(Some("MyApp/1.0")), "MyApp/1.0");
        assert_eq!(label(Some(&"x".repeat(100))).len(), 40);
        assert_eq!(
            label(Some("Version/3.0 (a web view)")),
            "Version/3.0 (a web view)"
        );
    }

    #[test]
    fn a_device_stored_before_names_existed_loads_without_one() {
        let old = r#"{"id":"d1","fingerprint":"f","label":"curl","first_seen":"2026-01-01T00:00:00Z","last_seen":"2026-01-01T00:00:00Z"}"#;
        let device: KnownDevice = serde_json::from_str(old).expect("an old record loads");
        assert_eq!(device.name, None);
    }

    #[test]
    fn only_the_most_recently_seen_devices_are_kept() {
        let start = OffsetDateTime::UNIX_EPOCH;
        let mut devices: Vec<KnownDevice> = (0..=MAX_DEVICES)
            .map(|i| KnownDevice {
                id: format!("d{i}"),
                fingerprint: format!("f{i}"),
                label: "Chrome 120 on Linux".into(),
                name: None,
                first_seen: start,
                last_seen: start + Duration::minutes(i64::try_from(i).unwrap_or_default()),
            })
            .collect();
        keep_recent(&mut devices);
        assert_eq!(devices.len(), MAX_DEVICES);
        assert_eq!(devices[0].id, format!("d{MAX_DEVICES}"));
        assert!(devices.iter().all(|device| device.id != "d0"));
    }
}
