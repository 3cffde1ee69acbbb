//! What the bare primitives do on this machine, in this run: the ceilings
//! that the server's figures are compared with. Signing and hashing use
//! one thread per core (the server has them all); token validation one
//! thread (a resource server's cost per request).

use super::{BenchError, procfs};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, RSA_PKCS1_SHA256,
};
use std::time::{Duration, Instant};
use tessera::config::PasswordSettings;
use tessera::jwa::SigningAlg;
use tessera::passwords::Passwords;
use tessera::secret::SecretString;

/// The signing input of a typical access token (header and claims as the
/// token endpoint writes them): what one signature covers.
const SIGNING_INPUT: &[u8] = b"eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6IjlxT1FkcW1fWHJ6dl9CT2gyQ3N3TVEifQ.eyJpc3MiOiJodHRwOi8vMTI3LjAuMC4xOjQwMDAwIiwic3ViIjoic2VydmljZSIsImF1ZCI6WyJzZXJ2aWNlIl0sImV4cCI6MTc5NjAwMDYwMCwiaWF0IjoxNzk2MDAwMDAwLCJqdGkiOiJaN2dLc1d0dE9fVjBmR3pHRGpFd2R3IiwiY2xpZW50X2lkIjoic2VydmljZSIsInNjb3BlIjoiYmVuY2g6cmVhZCJ9";

/// The cores the server and these ceilings may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// What a primitive did: operations per second of wall-clock time, and
/// the CPU time each took (robust to other processes taking cores).
#[derive(Debug, Clone, Copy)]
pub struct Ceiling {
    pub per_sec: f64,
    pub cpu_per_op: Option<Duration>,
}

impl Ceiling {
    /// The mean of a measurement before a load and one after it, so that a
    /// change in what else the machine runs skews both sides alike.
    pub fn around(before: Self, after: Self) -> Self {
        Self {
            per_sec: (before.per_sec + after.per_sec) / 2.0,
            cpu_per_op: before
                .cpu_per_op
                .zip(after.cpu_per_op)
                .map(|(before, after)| (before + after) / 2),
        }
    }
}

/// Runs `op` on `threads` threads for `duration` (this process does
/// nothing else meanwhile, so its CPU time is theirs).
fn on_threads<S>(
    threads: usize,
    duration: Duration,
    setup: impl Fn() -> S + Sync,
    op: impl Fn(&mut S) + Sync,
) -> Ceiling {
    let cpu_start = procfs::cpu_time("self");
    let end = Instant::now() + duration;
    let done: u64 = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut state = setup();
                    let mut done = 0u64;
                    while Instant::now() < end {
                        op(&mut state);
                        done += 1;
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .sum()
    });
    let cpu = cpu_start
        .zip(procfs::cpu_time("self"))
        .map(|(start, end)| end.saturating_sub(start));
    Ceiling {
        per_sec: done as f64 / duration.as_secs_f64(),
        cpu_per_op: cpu.map(|cpu| cpu / u32::try_from(done.max(1)).unwrap_or(u32::MAX)),
    }
}

/// Signatures per second with a key parsed once, on every core.
pub fn signatures(alg: SigningAlg, duration: Duration) -> Result<Ceiling, BenchError> {
    let fail = |_| format!("cannot generate a {} key", alg.as_str());
    let rng = SystemRandom::new();
    let rate = match alg {
        SigningAlg::RS256 => {
            let key = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                .map_err(fail)?;
            on_threads(
                cores(),
                duration,
                || vec![0u8; key.public_modulus_len()],
                |signature| {
                    let signed = key.sign(&RSA_PKCS1_SHA256, &rng, SIGNING_INPUT, signature);
                    assert!(signed.is_ok(), "RS256 signs");
                },
            )
        }
        SigningAlg::ES256 => {
            let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(fail)?;
            on_threads(
                cores(),
                duration,
                || (),
                |()| assert!(key.sign(&rng, SIGNING_INPUT).is_ok(), "ES256 signs"),
            )
        }
        SigningAlg::EdDSA => {
            let key = Ed25519KeyPair::generate().map_err(fail)?;
            on_threads(
                cores(),
                duration,
                || (),
                |()| {
                    std::hint::black_box(key.sign(SIGNING_INPUT));
                },
            )
        }
    };
    Ok(rate)
}

/// argon2id hashes per second with tessera's default parameters (the
/// server's own hasher), on every core.
pub fn password_hashes(duration: Duration) -> Result<Ceiling, BenchError> {
    let passwords = Passwords::new(&PasswordSettings::default())?;
    let password = SecretString::new("bench-alice-password-1");
    Ok(on_threads(
        cores(),
        duration,
        || (),
        |()| assert!(passwords.hash(&password).is_ok(), "argon2 hashes"),
    ))
}

/// Validations per second of `validate` on one thread.
pub fn one_core(duration: Duration, validate: impl Fn() -> bool + Sync) -> Ceiling {
    on_threads(
        1,
        duration,
        || (),
        |()| assert!(validate(), "the token validates"),
    )
}
