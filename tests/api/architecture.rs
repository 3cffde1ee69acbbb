//! Keeps the layering true without anyone remembering it: domain modules
//! never import actix (or askama), and nothing but `store/` imports redb.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files
}

fn offenders(forbidden: &[&str], allowed: impl Fn(&str) -> bool) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for file in rust_files(&src) {
        let relative = file
            .strip_prefix(&src)
            .expect("under src")
            .to_string_lossy()
            .into_owned();
        if allowed(&relative) {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read");
        for (number, line) in text.lines().enumerate() {
            if forbidden
                .iter()
                .any(|name| line.contains(&format!("{name}::")))
                && !line.trim_start().starts_with("//")
            {
                found.push(format!("{relative}:{}: {}", number + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn only_the_store_imports_redb() {
    let found = offenders(&["redb"], |file| file.starts_with("store/"));
    assert!(
        found.is_empty(),
        "redb outside src/store/:\n{}",
        found.join("\n")
    );
}

#[test]
fn domain_modules_never_import_actix_or_askama() {
    let domain = [
        "accounts/",
        "sessions/",
        "journeys/",
        "store/",
        "config/",
        "context.rs",
        "clock.rs",
        "secret.rs",
        "seal.rs",
        "mail.rs",
        "oauth/",
        "oidc/",
    ];
    let found = offenders(&["actix_web", "actix", "askama"], |file| {
        !domain.iter().any(|prefix| file.starts_with(prefix))
    });
    assert!(
        found.is_empty(),
        "HTTP types in domain code:\n{}",
        found.join("\n")
    );
}
