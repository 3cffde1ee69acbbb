//! Recovery codes: a set of ten single-use codes a user prints or stores,
//! to sign in when their authenticator app is lost.
//!
//! A code is ten characters from the 32 of Crockford's base32, lowercase
//! (no `i`, `l`, `o`, `u`, so nothing reads as another), shown in groups as
//! `xxxx-xxxx-xx`: 50 bits from the CSPRNG. Typing is forgiving: case,
//! spaces and dashes do not matter, and `o`, `i`, `l` read as `0`, `1`, `1`.
//! Only an HMAC-SHA256 of each code under the server's key
//! ([`crate::seal::Sealer::mac`]) is stored, compared in constant time. A
//! fast hash is enough: a copy of the store alone cannot check a guess,
//! and online guesses count against the account's second-factor lockout,
//! shared with TOTP codes, where 50 bits over ten codes leave nothing to
//! find. Whoever also holds the key could open the TOTP secret anyway.
//!
//! A code is marked used in the same write that accepts it, so it works
//! once even when sent twice at the same time; a used code is told apart
//! from a wrong one, and both count as failures. Making a new set replaces
//! (and so voids) the whole old one, audited as `recovery_codes.generate`;
//! a sign-in with a code records the method [`METHOD`].

use super::Accounts;
use super::totp::{TotpError, Verdict};
use crate::audit;
use crate::secret::{constant_time_eq, secret_string};
use crate::store::{RecoveryCode, RecoveryCodes, User, WriteTx};

/// Codes in a set.
pub const COUNT: usize = 10;
/// The method a recovery code adds to a session (tessera's name; the ID
/// token says `otp`, see `oauth::id_token`).
pub const METHOD: &str = "recovery_code";
/// Crockford's base32 alphabet, lowercase: 5 bits a character.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// Characters of a code, 50 bits.
const LENGTH: usize = 10;
/// Where the shown form puts dashes: after these many characters.
const DASHES_AFTER: [usize; 2] = [4, 8];
/// The MAC's purpose, so that no other MAC of the key can pass for one.
const PURPOSE: &str = "recovery code";

secret_string! {
    /// A recovery code as shown to its owner, once (`xxxx-xxxx-xx`).
    pub struct ShownCode;
}

/// A fresh code from the CSPRNG, in its shown form.
fn generate() -> ShownCode {
    let mut bytes = [0u8; LENGTH];
    rand::fill(&mut bytes);
    let mut shown = String::with_capacity(LENGTH + DASHES_AFTER.len());
    for (i, byte) in bytes.iter().enumerate() {
        if DASHES_AFTER.contains(&i) {
            shown.push('-');
        }
        // 256 is a multiple of 32: the low five bits are uniform.
        shown.push(char::from(ALPHABET[usize::from(byte & 31)]));
    }
    ShownCode::from(shown)
}

/// A typed code in the form its MAC is made of: the ten characters,
/// lowercase, without separators; `None` if it cannot be a code.
fn canonical(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_lowercase() {
            'o' => '0',
            'i' | 'l' => '1',
            other => other,
        })
        .collect();
    let valid = code.len() == LENGTH && code.bytes().all(|b| ALPHABET.contains(&b));
    valid.then_some(code)
}

/// How many codes of the user's set are still unused.
pub fn unused(user: &User) -> usize {
    user.recovery_codes.as_ref().map_or(0, |set| {
        set.codes
            .iter()
            .filter(|code| code.used_at.is_none())
            .count()
    })
}

impl Accounts {
    /// Checks one of the user's recovery codes and, if it is unused, marks
    /// it used, in one durable write counted like a TOTP code
    /// ([`Accounts::verify`]): `NotEnrolled` when no code is left unused,
    /// `Replayed` for a code used before.
    pub fn use_recovery_code(
        &self,
        user_id: &str,
        code: &str,
        address: Option<&str>,
    ) -> Result<Verdict, TotpError> {
        self.ctx
            .store
            .write(|tx| self.use_recovery_code_in(tx, user_id, code, address))
    }

    /// [`Accounts::use_recovery_code`] inside `tx`, for a change it proves.
    pub(super) fn use_recovery_code_in(
        &self,
        tx: &dyn WriteTx,
        user_id: &str,
        code: &str,
        address: Option<&str>,
    ) -> Result<Verdict, TotpError> {
        let now = self.ctx.now();
        self.counted_check(tx, user_id, METHOD, address, |user| {
            let unused = |set: &RecoveryCodes| set.codes.iter().any(|c| c.used_at.is_none());
            let Some(set) = user.recovery_codes.as_mut().filter(|set| unused(set)) else {
                return Ok(Verdict::NotEnrolled);
            };
            let Some(code) = canonical(code) else {
                return Ok(Verdict::Wrong);
            };
            let mac = self.ctx.sealer.mac(PURPOSE, code.as_bytes());
            let found = set
                .codes
                .iter_mut()
                .find(|stored| constant_time_eq(stored.mac.as_bytes(), mac.as_bytes()));
            Ok(match found {
                Some(stored) if stored.used_at.is_none() => {
                    stored.used_at = Some(now);
                    Verdict::Accepted
                }
                Some(_) => Verdict::Replayed,
                None => Verdict::Wrong,
            })
        })
    }

    /// Gives `user` a new set of codes in `tx`, voiding any older one, and
    /// records it (`recovery_codes.generate`, with how the user proved it
    /// was them and whether a set was replaced). Returns the codes, to be
    /// shown once; the store keeps only their MACs.
    pub(super) fn new_recovery_codes_in(
        &self,
        tx: &dyn WriteTx,
        user: &mut User,
        proof: &'static str,
        address: Option<&str>,
    ) -> Result<Vec<ShownCode>, TotpError> {
        let now = self.ctx.now();
        let shown: Vec<ShownCode> = (0..COUNT).map(|_| generate()).collect();
        let codes = shown
            .iter()
            .map(|code| RecoveryCode {
                // A generated code is always in canonical form less its dashes.
                mac: self
                    .ctx
                    .sealer
                    .mac(PURPOSE, code.expose().replace('-', "").as_bytes()),
                used_at: None,
            })
            .collect();
        let replaced = user.recovery_codes.is_some();
        user.recovery_codes = Some(RecoveryCodes {
            generated_at: now,
            codes,
        });
        user.updated_at = now;
        tx.put_user(user)?;
        let party = audit::Party::user(&user.username);
        let event = audit::Event::success(audit::Kind::RecoveryCodesGenerate, party.clone())
            .about(party)
            .from_ip(address)
            .with("proof", proof)
            .with("replaced", replaced.to_string());
        audit::record(&self.ctx, tx, event)?;
        Ok(shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_ten_unambiguous_characters_in_groups() {
        let code = generate();
        let shown = code.expose();
        assert_eq!(shown.len(), 12, "{shown}");
        assert_eq!(
            shown.split('-').map(str::len).collect::<Vec<_>>(),
            [4, 4, 2]
        );
        assert!(
            shown
                .chars()
                .filter(|c| *c != '-')
                .all(|c| ALPHABET.contains(&(c as u8)))
        );
        assert_eq!(canonical(shown), Some(shown.replace('-', "")));
        assert_ne!(generate(), code);
    }

    #[test]
    fn typing_ignores_case_and_separators_and_reads_lookalikes() {
        assert_eq!(canonical("ABCD-EFGH-JK"), Some("abcdefghjk".into()));
        assert_eq!(canonical(" abcd efgh jk "), Some("abcdefghjk".into()));
        assert_eq!(canonical("oiLa-0000-00"), Some("011a000000".into()));
        assert_eq!(canonical("abcd-efgh-j"), None, "too short");
        assert_eq!(canonical("abcd-efgh-jku"), None, "too long");
        assert_eq!(canonical("abcd-efgh-ju"), None, "u is not in the alphabet");
        assert_eq!(
            canonical("123456"),
            None,
            "an app's code is no recovery code"
        );
    }
}
