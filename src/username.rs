//! The one rule for usernames (design.md "Usernames"), used wherever a
//! username is chosen or looked up: registration, the CLI, `[[users]]`,
//! sign-in, `identify`, and the store's migration of its username index.
//!
//! RFC 8265 PRECIS `UsernameCaseMapped` decides what compares equal:
//! full-width forms map to their ordinary ones, case is folded, text is
//! NFC-normalised, and spaces, control and invisible format characters
//! (U+200B…) are refused. On top of that, UTS #39 restriction levels refuse
//! a name that mixes scripts in a way that can pass for another (a Cyrillic
//! `а` among Latin letters), while a name written in one script (Cyrillic,
//! Greek, Han…) is accepted. A leaf module: it uses nothing of tessera's.

use precis_core::Error as PrecisError;
use precis_core::profile::PrecisFastInvocation;
use precis_profiles::{UsernameCaseMapped, UsernameCasePreserved};
use unicode_security::{RestrictionLevel, RestrictionLevelDetection};

/// A username as the user wrote it (width-mapped and NFC, case kept), and
/// the form compared for uniqueness and looked up (RFC 8265 enforcement
/// output of `UsernameCaseMapped`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username {
    display: String,
    normalized: String,
}

/// Why a username is refused; the words complete "The username …".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most 64 characters")]
    TooLong,
    #[error("must not contain spaces, control or invisible characters")]
    Invisible,
    #[error("must not contain @")]
    At,
    #[error("must not contain “{0}” (U+{1:04X})")]
    Disallowed(char, u32),
    #[error("must not mix right-to-left and left-to-right letters")]
    Direction,
    #[error(
        "mixes scripts (such as Latin and Cyrillic letters) in a way that can pass for another name"
    )]
    MixedScripts,
    #[error("cannot be used as a username")]
    Unusable,
}

impl Username {
    /// Longest username accepted, in characters.
    pub const MAX_LEN: usize = 64;

    /// Parses a username typed anywhere; surrounding spaces are ignored.
    pub fn parse(raw: &str) -> Result<Self, UsernameError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(UsernameError::Empty);
        }
        // A username that looks like an address could pass for someone's
        // email wherever either is accepted (password reset).
        if raw.contains('@') {
            return Err(UsernameError::At);
        }
        let display = UsernameCasePreserved::enforce(raw).map_err(refusal)?;
        if display.chars().count() > Self::MAX_LEN {
            return Err(UsernameError::TooLong);
        }
        let normalized = UsernameCaseMapped::enforce(raw).map_err(refusal)?;
        if !single_script_enough(&normalized) {
            return Err(UsernameError::MixedScripts);
        }
        Ok(Self {
            display: display.into_owned(),
            normalized: normalized.into_owned(),
        })
    }

    /// The username as the user wrote it.
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// The form compared for uniqueness.
    pub fn normalized(&self) -> &str {
        &self.normalized
    }
}

/// Whether the letters of a name stay within what UTS #39 calls *highly
/// restrictive*: one script, or Latin with the Han-based scripts of Chinese,
/// Japanese or Korean, whose letters cannot pass for Latin ones. Latin mixed
/// with any other script is refused: not only Cyrillic and Greek, but also
/// Armenian (`օ`, U+0585, looks like `o`) and the like. ASCII punctuation, which
/// PRECIS allows in identifiers (`j.doe`, `jane_doe`), is left out of the
/// check: UTS #39 does not list it as identifier characters.
fn single_script_enough(name: &str) -> bool {
    let letters: String = name.chars().filter(|c| !c.is_ascii_punctuation()).collect();
    letters.is_empty()
        || letters
            .as_str()
            .check_restriction_level(RestrictionLevel::HighlyRestrictive)
}

fn refusal(err: PrecisError) -> UsernameError {
    match err {
        PrecisError::BadCodepoint(info) => match char::from_u32(info.cp) {
            Some(c) if c.is_whitespace() || c.is_control() || is_invisible(c) => {
                UsernameError::Invisible
            }
            Some(c) => UsernameError::Disallowed(c, info.cp),
            None => UsernameError::Unusable,
        },
        // RFC 8265 §3.3.3: the bidi rule of RFC 5893 decides `Invalid`.
        PrecisError::Invalid => UsernameError::Direction,
        PrecisError::Unexpected(_) => UsernameError::Unusable,
    }
}

/// Format characters that show nothing (zero-width space, joiners, marks
/// of direction, the byte-order mark): PRECIS disallows them all.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalized(raw: &str) -> String {
        Username::parse(raw)
            .map(|name| name.normalized().to_owned())
            .unwrap_or_else(|err| panic!("{raw:?} refused: {err}"))
    }

    #[test]
    fn case_and_surrounding_space_are_not_part_of_the_name() {
        let name = Username::parse("  Alice ").expect("valid");
        assert_eq!(name.as_str(), "Alice");
        assert_eq!(name.normalized(), "alice");
    }

    #[test]
    fn full_width_letters_are_the_ordinary_name() {
        assert_eq!(normalized("ａｌｉｃｅ"), "alice");
        assert_eq!(normalized("ＡＬＩＣＥ"), "alice");
        assert_eq!(
            Username::parse("ＡＬＩＣＥ").expect("valid").as_str(),
            "ALICE"
        );
    }

    #[test]
    fn decomposed_and_precomposed_accents_are_one_name() {
        let precomposed = "jos\u{e9}";
        let decomposed = "jose\u{301}";
        assert_eq!(normalized(decomposed), normalized(precomposed));
        assert_eq!(
            Username::parse(decomposed).expect("valid").as_str(),
            precomposed
        );
    }

    #[test]
    fn invisible_characters_are_refused() {
        for raw in [
            "alice\u{200b}",
            "al\u{200d}ice",
            "\u{feff}alice",
            "ali\u{ad}ce",
        ] {
            assert_eq!(
                Username::parse(raw),
                Err(UsernameError::Invisible),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn a_cyrillic_letter_among_latin_ones_is_refused() {
        assert_eq!(
            Username::parse("\u{430}lice"),
            Err(UsernameError::MixedScripts)
        );
        assert_eq!(
            Username::parse("p\u{430}yp\u{430}l"),
            Err(UsernameError::MixedScripts)
        );
        assert_eq!(
            Username::parse("\u{3bf}mega"),
            Err(UsernameError::MixedScripts),
            "Greek omicron among Latin letters"
        );
        assert_eq!(
            Username::parse("g\u{585}\u{585}gle"),
            Err(UsernameError::MixedScripts),
            "Armenian oh among Latin letters"
        );
    }

    #[test]
    fn names_in_one_non_latin_script_are_accepted() {
        assert_eq!(normalized("Дмитрий"), "дмитрий");
        assert_eq!(normalized("Σωκράτης"), "σωκράτης");
        assert_eq!(normalized("山田太郎"), "山田太郎");
        assert_eq!(normalized("yamada山田"), "yamada山田");
    }

    #[test]
    fn ordinary_punctuation_and_digits_stay_allowed() {
        for raw in ["j.doe", "jane_doe", "jane-doe", "r2d2", "o'brien", "élodie"] {
            assert!(Username::parse(raw).is_ok(), "{raw:?}");
        }
    }

    #[test]
    fn empty_spaced_addressed_and_overlong_names_are_refused() {
        assert_eq!(Username::parse("   "), Err(UsernameError::Empty));
        assert_eq!(Username::parse("a b"), Err(UsernameError::Invisible));
        assert_eq!(Username::parse("a\u{0}b"), Err(UsernameError::Invisible));
        assert_eq!(Username::parse("victim@corp.com"), Err(UsernameError::At));
        assert_eq!(
            Username::parse(&"x".repeat(65)),
            Err(UsernameError::TooLong)
        );
        assert!(Username::parse(&"x".repeat(64)).is_ok());
    }

    #[test]
    fn symbols_outside_ascii_are_refused_by_name() {
        assert_eq!(
            Username::parse("alice♥"),
            Err(UsernameError::Disallowed('♥', 0x2665))
        );
    }
}
