//! The run's figures as one markdown table, ready to paste into the
//! README: each figure, the server's CPU, its ratio to what it is compared
//! with in the same run, and the target of issue 10 it meets or misses.

use super::backends::Setup;
use super::ceilings::{Ceiling, cores};
use super::load::Rate;
use super::{Options, procfs};
use std::fmt;
use std::time::Duration;
use tessera::config::PasswordSettings;
use tessera::jwa::SigningAlg;

/// The figures of one run, filled in as they are measured.
pub struct Report {
    window: Duration,
    connections: usize,
    /// The machine's load average before the run (others' work skews it).
    load_before: Option<f64>,
    start_up: Vec<Duration>,
    memory_idle: Option<f64>,
    memory_after_load: Option<f64>,
    healthz: Option<Rate>,
    session_validation: Option<Rate>,
    offline_validation: Option<Ceiling>,
    /// `client_credentials` per algorithm, with its signing ceiling.
    client_credentials: Vec<(SigningAlg, Rate, Ceiling)>,
    introspection: Option<Rate>,
    argon2: Option<Ceiling>,
    logins: Option<Rate>,
    code_flows: Option<Rate>,
    /// Per storage setup, with `--postgres`; the first is the redb file.
    backends: Vec<Setup>,
}

impl Report {
    pub fn new(options: &Options) -> Self {
        Self {
            window: options.window,
            connections: options.connections,
            load_before: procfs::load_average(),
            start_up: Vec::new(),
            memory_idle: None,
            memory_after_load: None,
            healthz: None,
            session_validation: None,
            offline_validation: None,
            client_credentials: Vec::new(),
            introspection: None,
            argon2: None,
            logins: None,
            code_flows: None,
            backends: Vec::new(),
        }
    }

    pub fn start_up(&mut self, times: &mut [Duration]) {
        times.sort();
        self.start_up = times.to_vec();
    }
    pub fn memory_idle(&mut self, mib: Option<f64>) {
        self.memory_idle = mib;
    }
    pub fn memory_after_load(&mut self, mib: Option<f64>) {
        self.memory_after_load = mib;
    }
    pub fn healthz(&mut self, rate: Rate) {
        self.healthz = Some(rate);
    }
    pub fn session_validation(&mut self, rate: Rate) {
        self.session_validation = Some(rate);
    }
    pub fn offline_validation(&mut self, ceiling: Ceiling) {
        self.offline_validation = Some(ceiling);
    }
    pub fn client_credentials(&mut self, alg: SigningAlg, rate: Rate, ceiling: Ceiling) {
        self.client_credentials.push((alg, rate, ceiling));
    }
    pub fn introspection(&mut self, rate: Rate) {
        self.introspection = Some(rate);
    }
    pub fn argon2(&mut self, ceiling: Ceiling) {
        self.argon2 = Some(ceiling);
    }
    pub fn logins(&mut self, rate: Rate) {
        self.logins = Some(rate);
    }
    pub fn code_flows(&mut self, rate: Rate) {
        self.code_flows = Some(rate);
    }
    pub fn backends(&mut self, setups: Vec<Setup>) {
        self.backends = setups;
    }

    /// The backends table: each setup's figures as ratios to the redb
    /// file's, and issue 13's target for session validation.
    fn backend_rows(&self) -> Vec<Row> {
        let Some(redb) = self.backends.first() else {
            return Vec::new();
        };
        let mut rows = Vec::new();
        for setup in &self.backends {
            let label = format!("{}, {} replica(s)", setup.storage, setup.replicas);
            let ratio = setup.validation.per_sec / redb.validation.per_sec;
            let row = Row::load(
                format!("session validation, {label}"),
                setup.validation,
                "req/s",
            )
            .ratio(format!("{} of the redb file", percent(ratio)));
            rows.push(if setup.held_to_target {
                row.target("≥ 50 % of the redb file", ratio >= 0.5)
            } else {
                row
            });
            let ratio = setup.logins.per_sec / redb.logins.per_sec;
            rows.push(
                Row::load(format!("REST logins, {label}"), setup.logins, "logins/s")
                    .ratio(format!("{} of the redb file", percent(ratio))),
            );
        }
        rows
    }

    fn rows(&self) -> Vec<Row> {
        let healthz = self.healthz.map_or(f64::NAN, |r| r.per_sec);
        let argon2 = self.argon2.map_or(f64::NAN, |c| c.per_sec);
        let mut rows = Vec::new();
        if let Some(rate) = self.healthz {
            rows.push(
                Row::load("`GET /healthz` (baseline)", rate, "req/s").ratio("1.00 × /healthz"),
            );
        }
        if let Some(rate) = self.session_validation {
            let ratio = rate.per_sec / healthz;
            rows.push(
                Row::load(
                    "session validation, `POST /api/sessions/validate`",
                    rate,
                    "req/s",
                )
                .ratio(format!("{ratio:.2} × /healthz"))
                .target("≥ 0.6 × /healthz", ratio >= 0.6),
            );
        }
        for &(alg, rate, ceiling) in &self.client_credentials {
            let figure = format!("`client_credentials`, {}", alg.as_str());
            let of_ceiling = percent(rate.per_sec / ceiling.per_sec);
            let row = Row::load(figure, rate, "req/s");
            rows.push(match alg {
                SigningAlg::RS256 => row
                    .ratio(format!(
                        "{of_ceiling} of RS256 signing; by CPU time, {}",
                        cpu_ratio(ceiling, rate)
                    ))
                    .target("≥ 70 % of signing", rate.per_sec >= 0.7 * ceiling.per_sec),
                _ => row
                    .ratio(format!(
                        "{} of /healthz ({of_ceiling} of {} signing)",
                        percent(rate.per_sec / healthz),
                        alg.as_str()
                    ))
                    .target("≥ 20 % of /healthz", rate.per_sec >= 0.2 * healthz),
            });
        }
        if let Some(rate) = self.introspection {
            let ratio = rate.per_sec / healthz;
            rows.push(
                Row::load("introspection of an RS256 token", rate, "req/s")
                    .ratio(format!("{} of /healthz", percent(ratio)))
                    .target("≥ 50 % of /healthz", ratio >= 0.5),
            );
        }
        if let Some(rate) = self.logins {
            rows.push(
                Row::load("password logins, `POST /api/authenticate`", rate, "/s").ratio(format!(
                    "{} of argon2id hashing",
                    percent(rate.per_sec / argon2)
                )),
            );
        }
        if let Some(rate) = self.code_flows {
            rows.push(
                Row::load(
                    "authorization-code flows: authorize → login → code → token (PKCE, `openid`)",
                    rate,
                    "flows/s",
                )
                .ratio(format!(
                    "{} of argon2id hashing",
                    percent(rate.per_sec / argon2)
                )),
            );
        }
        if let Some(ceiling) = self.offline_validation {
            rows.push(
                Row::ceiling(
                    "offline access-token validation (RS256, JWKS, `iss` `aud` `exp`), 1 thread",
                    ceiling,
                )
                .ratio(format!("{:.1} × /healthz", ceiling.per_sec / healthz)),
            );
        }
        if let (Some(fastest), Some(median), Some(slowest)) = (
            self.start_up.first(),
            self.start_up.get(self.start_up.len() / 2),
            self.start_up.last(),
        ) {
            rows.push(
                Row::figure(
                    format!(
                        "start to ready line, fixture config (median of {}; min–max)",
                        self.start_up.len()
                    ),
                    format!(
                        "{} ms ({}–{})",
                        millis(*median),
                        millis(*fastest),
                        millis(*slowest)
                    ),
                )
                .target("< 15 ms", median.as_secs_f64() < 0.015),
            );
        }
        if let Some(mib) = self.memory_idle {
            rows.push(
                Row::figure("memory idle (VmRSS)", format!("{mib:.1} MiB"))
                    .target("< 16 MiB", mib < 16.0),
            );
        }
        if let Some(mib) = self.memory_after_load {
            rows.push(Row::figure(
                "memory after the load",
                format!("{mib:.1} MiB"),
            ));
        }
        let threads = cores();
        for &(alg, _, ceiling) in &self.client_credentials {
            rows.push(Row::ceiling(
                format!(
                    "{} signatures alone (aws-lc-rs, key parsed once, {threads} threads)",
                    alg.as_str()
                ),
                ceiling,
            ));
        }
        if let Some(ceiling) = self.argon2 {
            let params = PasswordSettings::default();
            rows.push(Row::ceiling(
                format!(
                    "argon2id hashes alone (m={} KiB, t={}, p={}, {threads} threads)",
                    params.memory_kib, params.iterations, params.parallelism
                ),
                ceiling,
            ));
        }
        rows
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "tessera {} ({}), {}; {} × {}",
            env!("CARGO_PKG_VERSION"),
            commit(),
            time::OffsetDateTime::now_utc().date(),
            cores(),
            procfs::cpu_model()
        )?;
        writeln!(
            f,
            "{} keep-alive connections, 1 s warm-up + {} s per figure; server and load generator \
             share the cores; load average {} before the run, {} after.\n",
            self.connections,
            self.window.as_secs_f64(),
            self.load_before.map_or("n/a".into(), |l| format!("{l:.2}")),
            procfs::load_average().map_or("n/a".into(), |l| format!("{l:.2}")),
        )?;
        table(f, &self.rows())?;
        if !self.backends.is_empty() {
            writeln!(
                f,
                "\nStorage backends (logins hash as cheaply as fixture mode; \
                 the CPU column sums the replicas, not PostgreSQL):\n"
            )?;
            table(f, &self.backend_rows())?;
        }
        Ok(())
    }
}

fn table(f: &mut fmt::Formatter<'_>, rows: &[Row]) -> fmt::Result {
    writeln!(
        f,
        "| figure | measured | server CPU | ratio (same run) | target | |"
    )?;
    writeln!(f, "|---|---|---|---|---|---|")?;
    for row in rows {
        writeln!(
            f,
            "| {} | {} | {} | {} | {} | {} |",
            row.figure, row.measured, row.cpu, row.ratio, row.target, row.verdict
        )?;
    }
    Ok(())
}

/// One line of the table.
struct Row {
    figure: String,
    measured: String,
    cpu: String,
    ratio: String,
    target: String,
    verdict: &'static str,
}

impl Row {
    fn figure(figure: impl Into<String>, measured: String) -> Self {
        Self {
            figure: figure.into(),
            measured,
            cpu: String::new(),
            ratio: String::new(),
            target: String::new(),
            verdict: "",
        }
    }

    /// A primitive alone: its rate and the CPU time of one operation.
    fn ceiling(figure: impl Into<String>, ceiling: Ceiling) -> Self {
        let mut row = Self::figure(figure, format!("{} /s", thousands(ceiling.per_sec)));
        if let Some(cpu) = ceiling.cpu_per_op {
            row.cpu = format!("{} µs/op", thousands(cpu.as_secs_f64() * 1e6));
        }
        row
    }

    /// A figure under load, with the server's CPU: its share of one core
    /// and its time per operation.
    fn load(figure: impl Into<String>, rate: Rate, unit: &str) -> Self {
        let mut row = Self::figure(figure, format!("{} {unit}", thousands(rate.per_sec)));
        if let Some(share) = rate.cpu_share {
            let per_op = share / rate.per_sec * 1e6;
            row.cpu = format!("{:.0} %, {} µs/op", share * 100.0, thousands(per_op));
        }
        row
    }

    fn ratio(mut self, ratio: impl Into<String>) -> Self {
        self.ratio = ratio.into();
        self
    }

    fn target(mut self, target: &str, met: bool) -> Self {
        self.target = target.to_owned();
        self.verdict = if met { "met" } else { "**missed**" };
        self
    }
}

/// The primitive's CPU time per operation over the server's per request:
/// the share of the server's work that is the primitive, whatever else
/// ran on the machine meanwhile.
fn cpu_ratio(ceiling: Ceiling, rate: Rate) -> String {
    match (ceiling.cpu_per_op, rate.cpu_share) {
        (Some(cpu), Some(share)) => percent(cpu.as_secs_f64() / (share / rate.per_sec)),
        _ => "n/a".into(),
    }
}

fn percent(ratio: f64) -> String {
    format!("{:.0} %", ratio * 100.0)
}

fn millis(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64() * 1000.0)
}

/// `12,345` for large figures, one decimal for small ones.
fn thousands(value: f64) -> String {
    if !value.is_finite() {
        return "n/a".into();
    }
    if value < 100.0 {
        return format!("{value:.1}");
    }
    let digits = format!("{value:.0}");
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// The commit measured (`git describe`), when run from a checkout.
fn commit() -> String {
    std::process::Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown commit".into())
}
