"""docenv.py — where the doc blocks run: the built binary, scratch
directories laid out like the repository, the installed prefix, secrets.

A block runs in a fresh scratch directory (a *workspace*) holding symlinks
to the repository's rules/, examples/, fuzz/, tests/ and to the build
directory as build/ (so `build/secdet` and `rules/aws` mean what they mean at
the top of a checkout), the fixtures its marker asks for, and the files
earlier blocks of the same document saved (`save-as=`). `secdet` on PATH is
the built binary (SECDET_BIN). Nothing is written into the repository or the
build directory, except `install_manifest.txt`, which `cmake --install`
writes into the build directory.
"""

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile

from doclib import REPO

SAMPLE = os.path.join(REPO, "examples", "data", "cloudtrail-sample.json.gz")
HERE = os.path.dirname(os.path.abspath(__file__))


def secdet_bin():
    return os.environ.get("SECDET_BIN", os.path.join(REPO, "build", "secdet"))


class Env:
    """Session-wide: the binary, its build directory and a scratch root."""

    def __init__(self):
        self.bin = os.path.abspath(secdet_bin())
        self.build = os.path.dirname(self.bin)
        self.root = tempfile.mkdtemp(prefix="secdet-docs-")
        self.cache = self._cmake_cache()
        self.sanitized = self.cache.get("SECDET_SANITIZE", "OFF").upper() in ("ON", "1", "TRUE", "YES")
        self.cc = self.cache.get("CMAKE_C_COMPILER", "cc")
        self.bindir = os.path.join(self.root, "bin")
        os.makedirs(self.bindir)
        os.symlink(self.bin, os.path.join(self.bindir, "secdet"))
        if self.sanitized:
            # `cc` in a doc line means the compiler the library was built with,
            # with its sanitizers: an ASan libsecdet cannot be linked otherwise.
            cc = os.path.join(self.bindir, "cc")
            with open(cc, "w") as f:
                f.write('#!/bin/sh\nexec %s -fsanitize=address,undefined "$@"\n' % self.cc)
            os.chmod(cc, 0o755)
        self._prefix = None
        self._alerts = None
        self._n = 0

    def _cmake_cache(self):
        out = {}
        try:
            with open(os.path.join(self.build, "CMakeCache.txt")) as f:
                for ln in f:
                    m = re.match(r"^([A-Za-z_0-9]+):[A-Z]+=(.*)$", ln.rstrip("\n"))
                    if m:
                        out[m.group(1)] = m.group(2)
        except OSError:
            pass
        return out

    def cflags(self):
        return ["-fsanitize=address,undefined"] if self.sanitized else []

    def environ(self, **extra):
        env = dict(os.environ)
        env["PATH"] = self.bindir + os.pathsep + env.get("PATH", "")
        env["SECDET_BIN"] = self.bin
        env.pop("LD_LIBRARY_PATH", None)
        env.update(extra)
        return env

    def prefix(self):
        """This build installed into a scratch prefix (once a session)."""
        if self._prefix is None:
            p = os.path.join(self.root, "prefix")
            r = subprocess.run(["cmake", "--install", self.build, "--prefix", p],
                               capture_output=True, text=True, timeout=120)
            if r.returncode != 0:
                raise AssertionError("cmake --install %s --prefix %s failed:\n%s%s"
                                     % (self.build, p, r.stdout, r.stderr))
            self._prefix = p
        return self._prefix

    def pkg_config_path(self):
        p = self.prefix()
        hits = [os.path.dirname(x) for x in
                (os.path.join(d, "secdet.pc") for d, _, fs in os.walk(p) if "secdet.pc" in fs)]
        return os.pathsep.join(hits)

    def workspace(self, name):
        self._n += 1
        ws = os.path.join(self.root, "ws", "%03d-%s" % (self._n, re.sub(r"[^A-Za-z0-9]+", "-", name)))
        os.makedirs(ws)
        for d in ("rules", "examples", "fuzz", "tests", "bindings", "lambda", "include"):
            os.symlink(os.path.join(REPO, d), os.path.join(ws, d))
        os.symlink(self.build, os.path.join(ws, "build"))
        return ws

    def scan_alerts(self):
        """The alerts of the README's demo scan (the CIS pack over the sample)."""
        if self._alerts is None:
            r = subprocess.run([self.bin, "scan", "--rules", os.path.join(REPO, "rules/aws/cis.secdet"),
                                SAMPLE], capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, r.stderr
            self._alerts = [json.loads(ln) for ln in r.stdout.splitlines() if ln.strip()]
        return self._alerts


def fill_fixtures(ws, specs):
    """fixture=PATH (a copy of the sample CloudTrail log) or PATH=SOURCE (a
    copy of SOURCE, relative to the repository)."""
    for spec in specs:
        dest, _, src = spec.partition("=")
        src = os.path.join(REPO, src) if src else SAMPLE
        path = os.path.join(ws, dest)
        if dest.endswith("/"):
            os.makedirs(path, exist_ok=True)
            path = os.path.join(path, os.path.basename(src))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        shutil.copyfile(src, path)


def apply_maps(text, maps, ws, env):
    """map=FROM=TO rewrites (TO may say {tmp} and {prefix}); every directory
    a rewritten path lies in is created, so a spool or file under it can be
    made."""
    for m in maps:
        frm, _, to = m.partition("=")
        to = to.replace("{tmp}", ws)
        if "{prefix}" in to:
            to = to.replace("{prefix}", env.prefix())
        text = text.replace(frm, to)
        for hit in re.findall(re.escape(to) + r"[A-Za-z0-9_./-]*", text):
            parent = os.path.dirname(hit.rstrip("/")) if hit != to else hit
            if parent.startswith(ws):
                os.makedirs(parent, exist_ok=True)
    return text


# ---- secrets: a doc configuration names secrets that are not on this machine ----

def _dummy(key):
    if key == "url":
        return "https://hooks.example.com/doc-test"
    if key == "secret":
        return "whsec_" + base64.b64encode(b"doc-test-key-32-bytes-long------").decode()
    return "doc-test-value"


def provide_secrets(obj, ws, env_out, key=None):
    """Walks a configuration: each {"env": NAME} gets NAME set in env_out,
    each {"file": PATH} a file under ws/secrets/ (mode 0600) that the
    reference is pointed at; the value fits the key (a URL for url, a
    whsec_ key for secret)."""
    if isinstance(obj, dict):
        if set(obj) == {"env"} and isinstance(obj["env"], str):
            env_out[obj["env"]] = _dummy(key)
            return obj
        if set(obj) == {"file"} and isinstance(obj["file"], str):
            d = os.path.join(ws, "secrets")
            os.makedirs(d, exist_ok=True)
            path = os.path.join(d, os.path.basename(obj["file"]) or "secret")
            with open(path, "w") as f:
                f.write(_dummy(key) + "\n")
            os.chmod(path, 0o600)
            return {"file": path}
        return {k: provide_secrets(v, ws, env_out, k) for k, v in obj.items()}
    if isinstance(obj, list):
        return [provide_secrets(v, ws, env_out, key) for v in obj]
    return obj


def run(cmd, cwd, env, timeout=60, input=None):
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                          input=input)


def show(r):
    return "exit %s\n--- stdout ---\n%s--- stderr ---\n%s" % (r.returncode, r.stdout[-4000:], r.stderr[-4000:])
