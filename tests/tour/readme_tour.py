#!/usr/bin/env python3
"""Runs the README tour as written, so that it cannot drift from tessera.

It starts the server the README starts (the block marked SERVER below), with
one change: `TESSERA__SERVER__BIND=127.0.0.1:0`, so that it gets a free port.
The README's address, http://127.0.0.1:8080, is then replaced by the real
one everywhere in the tour; nothing else is changed. Every other ```sh block
of the tour sections runs, in order, in one bash session (`set -euo
pipefail`: a failing command or an unset variable fails the tour), except
blocks marked SKIP. The administration examples are a second tour (TOURS),
on a fresh server of their own. When a ```json or ```text block follows a command block,
it is what that block must print:

- json: the same keys and shape; fixed values are equal, and values that
  differ at every run (the keys in VARYING: tokens, ids, times) are present
  with the same type;
- text: the same lines, where `...` stands for any text.

Needs bash, curl, jq and openssl, and a built tessera (`cargo build`; the
binary is ${CARGO_TARGET_DIR:-target}/debug/tessera, or $TESSERA_BIN). Its
directory is put first on PATH, so `tessera ...` works as if installed.
Run from anywhere: python3 tests/tour/readme_tour.py
"""

import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
from collections import namedtuple
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Each tour runs on a fresh server, in one bash session of its own.
TOURS = (("A short tour", "OAuth 2.0", "OpenID Connect"), ("Administration while running",))
SKIP = "<!-- not run by the tour test -->"
SERVER = "<!-- the tour test starts this server itself, on a free port -->"
README_ADDRESS = "http://127.0.0.1:8080"
VARYING = {
    "auth_id", "session_token", "access_token", "refresh_token", "id_token",
    "id", "user_id", "session_id", "sid", "sub", "jti", "at_hash",
    "auth_time", "created_at", "last_used_at", "expires_at",
    "absolute_expires_at", "exp", "iat", "updated_at",
    "device_code", "user_code", "verification_uri_complete", "request_uri",
}
FENCE = re.compile(r"^( *)```(\w*)\s*$")

# A fenced block: its first line in README.md, its language, its text, and
# the last non-blank line before it (where a marker goes).
Block = namedtuple("Block", "line language text marker")
# A command block to run and what it must print (language None: anything).
Step = namedtuple("Step", "line commands language expected")


def tour_blocks(readme, sections):
    """The fenced blocks of `sections`, in order."""
    lines = readme.splitlines()
    blocks, section, i = [], None, 0
    while i < len(lines):
        if lines[i].startswith("## "):
            section = lines[i][3:].strip()
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        indent, language, start = fence.group(1), fence.group(2), i
        i += 1
        while not lines[i].startswith(indent + "```"):
            i += 1
        text = "\n".join(line[len(indent):] for line in lines[start + 1:i])
        marker = next((line.strip() for line in reversed(lines[:start]) if line.strip()), "")
        if section in sections:
            blocks.append(Block(start + 1, language, text, marker))
        i += 1
    return blocks


def start_server(command, env):
    """Runs the README's server command on a free port; returns (process, url)."""
    log = tempfile.TemporaryFile()
    server = subprocess.Popen(
        ["bash", "-c", "exec " + command], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=log, env=dict(env, TESSERA__SERVER__BIND="127.0.0.1:0"), text=True)
    ready, _, _ = select.select([server.stdout], [], [], 30)
    line = server.stdout.readline() if ready else ""
    if not line.startswith("tessera listening on "):
        server.kill()
        log.seek(0)
        sys.exit(f"the server did not start: {line!r}\n{log.read().decode()}")
    return server, line.split()[-1]


def present(expected, actual):
    """Whether a value that differs at every run is there, of the right type."""
    return type(actual) is type(expected) and actual != ""


def compare(expected, actual, path="$"):
    """Differences between an expected JSON value and the actual one."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        if set(expected) != set(actual):
            return [f"{path}: keys {sorted(actual)}, README shows {sorted(expected)}"]
        return [
            difference
            for key in expected
            for difference in (
                [] if key in VARYING and present(expected[key], actual[key])
                else compare(expected[key], actual[key], f"{path}.{key}"))
        ]
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: expected {expected!r}, got {actual!r}"]
        return [d for n, (e, a) in enumerate(zip(expected, actual))
                for d in compare(e, a, f"{path}[{n}]")]
    return [] if expected == actual else [f"{path}: expected {expected!r}, got {actual!r}"]


def check(language, expected, printed):
    """Whether a block printed what the README says; the differences if not."""
    if language == "json":
        try:
            return compare(json.loads(expected), json.loads(printed))
        except json.JSONDecodeError as err:
            return [f"not JSON ({err}): {printed!r}"]
    pattern = ".*?".join(map(re.escape, expected.strip().split("...")))
    shown = "\n".join(line.rstrip() for line in printed.strip().splitlines())
    if re.fullmatch(pattern, shown, re.S):
        return []
    return [f"printed:\n{shown}\nREADME shows:\n{expected.strip()}"]


def main():
    missing = [tool for tool in ("bash", "curl", "jq", "openssl") if not shutil.which(tool)]
    binary = Path(os.environ.get("TESSERA_BIN") or
                  Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug/tessera")
    if missing or not binary.exists():
        sys.exit(f"cannot run the tour: missing {missing or binary} (install it, or cargo build)")
    env = dict(os.environ, PATH=f"{binary.resolve().parent}{os.pathsep}{os.environ['PATH']}")

    readme = (ROOT / "README.md").read_text()
    tours = [tour_blocks(readme, sections) for sections in TOURS]
    servers = [block.text for blocks in tours for block in blocks if block.marker == SERVER]
    if len(servers) != 1:
        sys.exit(f"README.md must mark one server block with {SERVER}")
    failures = []
    for blocks in tours:
        server, url = start_server(servers[0], env)
        try:
            failures += run(steps(blocks, url), env)
        finally:
            server.terminate()
            server.wait(timeout=30)
    for failure in failures:
        print(failure, file=sys.stderr)
    if failures:
        sys.exit(f"the README tour failed: {len(failures)} difference(s)")
    print("the README tour ran as written")


def steps(blocks, url):
    """The command blocks to run, each with the output block right after it,
    with the README's address replaced by the server's."""
    def local(text):
        quoted = urllib.parse.quote(README_ADDRESS, safe="")
        return text.replace(README_ADDRESS, url).replace(quoted, urllib.parse.quote(url, safe=""))
    found = []
    for block, after in zip(blocks, blocks[1:] + [None]):
        if block.language == "sh" and block.marker not in (SKIP, SERVER):
            shows = after and after.language in ("json", "text")
            found.append(Step(block.line, local(block.text), shows and after.language,
                              shows and local(after.text)))
    return found


def run(tour, env):
    """Runs the command blocks in one bash session; the failures."""
    with tempfile.TemporaryDirectory() as out:
        script = ["set -euo pipefail"]
        for n, step in enumerate(tour):
            script += [f"echo 'README.md:{step.line}' > {out}/at",
                       "{", step.commands, f"}} > {out}/{n}"]
        done = subprocess.run(["bash", "-c", "\n".join(script)], cwd=ROOT, env=env,
                              stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, timeout=300)
        if done.returncode != 0:
            at = Path(out, "at").read_text().strip()
            return [f"{at}: the block failed (exit {done.returncode}):\n{done.stderr}"]
        return [
            f"README.md:{step.line}: {difference}"
            for n, step in enumerate(tour) if step.language
            for difference in check(step.language, step.expected, Path(out, str(n)).read_text())
        ]


if __name__ == "__main__":
    main()
