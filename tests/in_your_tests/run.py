#!/usr/bin/env python3
"""Runs the README's "tessera in your tests" snippets as another project
would, so that they cannot drift from tessera.

Each fenced block marked `<!-- file: NAME -->` in that section is written,
unchanged, into a scratch project of its language, which then runs its
tests against the built binary (${CARGO_TARGET_DIR:-target}/debug/tessera,
or $TESSERA_BIN):

- Rust: `Cargo.toml` (the README's dev-dependencies under a package header)
  and `tests/with_tessera.rs`; `cargo test --offline`, with tessera's
  Cargo.lock and target folder so that nothing is downloaded or rebuilt;
- Python: `test_with_tessera.py`, run by pytest from a fresh virtualenv;
- Node: `with_tessera.test.mjs`, run by `node --test`.

Needs cargo, python3 (with venv and pip, and PyPI for pytest) and Node 18+.
Run from anywhere after `cargo build`: python3 tests/in_your_tests/run.py
"""

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## tessera in your tests"
MARK = re.compile(r"^<!-- file: (\S+) -->$")
FENCE = re.compile(r"^```")
PACKAGE = '[package]\nname = "uses-tessera"\nversion = "0.1.0"\nedition = "2024"\n\n'


def snippets(readme):
    """The marked blocks of the section: {file name: text}."""
    section = readme.split(SECTION + "\n", 1)[1].split("\n## ", 1)[0]
    lines, found, i = section.splitlines(), {}, 0
    while i < len(lines):
        mark = MARK.match(lines[i])
        if mark:
            start = i + 1
            assert FENCE.match(lines[start]), f"{mark[1]}: no code block after its mark"
            end = next(j for j in range(start + 1, len(lines)) if FENCE.match(lines[j]))
            found[mark[1]] = "\n".join(lines[start + 1:end]) + "\n"
            i = end
        i += 1
    return found


def run(what, command, cwd, env):
    print(f"-- {what}: {' '.join(map(str, command))}", flush=True)
    if subprocess.run(command, cwd=cwd, env=env).returncode != 0:
        sys.exit(f"error: the README's {what} snippet failed")


def main():
    files = snippets((ROOT / "README.md").read_text())
    expected = {"Cargo.toml", "with_tessera.rs", "test_with_tessera.py", "with_tessera.test.mjs"}
    if set(files) != expected:
        sys.exit(f"error: the section should mark {sorted(expected)}, it marks {sorted(files)}")
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")).resolve()
    binary = Path(os.environ.get("TESSERA_BIN", target / "debug" / "tessera")).resolve()
    if not binary.is_file():
        sys.exit(f"error: {binary} is missing: run `cargo build` first")
    env = dict(os.environ, TESSERA_BIN=str(binary))
    env.pop("TESSERA_CONFIG", None)

    with tempfile.TemporaryDirectory(prefix="tessera-snippets-") as scratch:
        scratch = Path(scratch)

        rust = scratch / "rust"
        (rust / "src").mkdir(parents=True)
        (rust / "tests").mkdir()
        (rust / "Cargo.toml").write_text(PACKAGE + files["Cargo.toml"])
        (rust / "src" / "lib.rs").write_text("")
        (rust / "tests" / "with_tessera.rs").write_text(files["with_tessera.rs"])
        (rust / "Cargo.lock").write_bytes((ROOT / "Cargo.lock").read_bytes())
        run("Rust", ["cargo", "test", "--offline", "--quiet"], rust,
            dict(env, CARGO_TARGET_DIR=str(target)))

        python = scratch / "python"
        python.mkdir()
        (python / "test_with_tessera.py").write_text(files["test_with_tessera.py"])
        venv = scratch / "venv"
        run("Python setup", [sys.executable, "-m", "venv", venv], python, env)
        run("Python setup", [venv / "bin" / "pip", "install", "--quiet", "pytest"], python, env)
        run("Python", [venv / "bin" / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider"],
            python, env)

        node = scratch / "node"
        node.mkdir()
        (node / "with_tessera.test.mjs").write_text(files["with_tessera.test.mjs"])
        run("Node", ["node", "--test", "with_tessera.test.mjs"], node, env)
    print("the README's fixture snippets pass in Rust, Python and Node")


if __name__ == "__main__":
    main()
