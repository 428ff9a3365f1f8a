"""Configuration errors and warnings of `secdet run` about secret references
({"env": NAME}, {"file": PATH}) and field paths: each names its key, never a
secret's value, and exits 2 before anything starts.

Delivery with references (signatures, SIGHUP rotation) is tested against a
real HTTP server in tests/sinks/test_secrets.py.
"""
import json
import os
import subprocess

import pytest

ROOT = os.environ.get("SECDET_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BIN = os.environ.get("SECDET_BIN", os.path.join(ROOT, "build", "secdet"))
TIMEOUT = 10.0

# Values that must never be printed, whatever goes wrong with the configuration.
SECRET = "whsec_c2VjcmV0LXZhbHVlLW5ldmVyLXByaW50ZWQ="
TOKEN = "tok-never-printed-7f3a"
BAD_URL = "ftp://user:pw-never-printed@example.com/hook"
KAFKA_PASSWORD = "kafka-pw-never-printed"
NEVER = [SECRET, TOKEN, "pw-never-printed", KAFKA_PASSWORD]


def secret_env(**extra):
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("SECDET_T_"):
            del env[k]
    env.update({"SECDET_T_SECRET": SECRET, "SECDET_T_TOKEN": TOKEN, "SECDET_T_BAD_URL": BAD_URL,
                "SECDET_T_KAFKA_PW": KAFKA_PASSWORD, "SECDET_T_EMPTY": ""})
    env.update(extra)
    return env


def run_config(tmp_path, config, stdin=b"", env=None):
    path = tmp_path / "secdet.json"
    path.write_text(json.dumps(config))
    (tmp_path / "rules.secdet").write_text('rule deny { where .action == "deny" }\n')
    p = subprocess.run([BIN, "run", "--config", str(path)], input=stdin, capture_output=True, timeout=TIMEOUT,
                       env=env or secret_env())
    out = p.stdout.decode() + p.stderr.decode()
    for v in NEVER:
        assert v not in out, f"secret value {v!r} printed:\n{out}"
    return p.returncode, p.stderr.decode(), path


def config(sinks=None, sources=None):
    c = {"rules": ["rules.secdet"],
         "sources": sources or [{"name": "app", "format": "jsonl", "input": {"type": "stdin"}}]}
    if sinks is not None:
        c["sinks"] = sinks
    return c


def webhook(**kw):
    sink = {"type": "webhook", "url": "http://127.0.0.1:1/hook"}
    sink.update(kw)
    return sink


@pytest.fixture
def files(tmp_path):
    (tmp_path / "empty").write_text("")
    (tmp_path / "newline-only").write_text("\n")
    (tmp_path / "secret").write_text(SECRET + "\n")
    (tmp_path / "secret").chmod(0o600)
    (tmp_path / "two-lines").write_text(TOKEN + "\n\n")
    (tmp_path / "two-lines").chmod(0o600)
    (tmp_path / "bad-secret").write_text("whsec_!!" + TOKEN + "\n")
    (tmp_path / "bad-secret").chmod(0o600)
    (tmp_path / "big").write_text("x" * 65537)
    (tmp_path / "a-directory").mkdir()
    return tmp_path


@pytest.mark.parametrize("sink,message", [
    (webhook(secret={"env": "SECDET_T_UNSET"}),
     "sinks[0]: sink 'webhook-0': secret: environment variable SECDET_T_UNSET is not set"),
    (webhook(url={"env": "SECDET_T_UNSET"}, name="hook"),
     "sinks[0]: sink 'hook': url: environment variable SECDET_T_UNSET is not set"),
    (webhook(secret={"env": "SECDET_T_EMPTY"}),
     "sinks[0]: sink 'webhook-0': secret: environment variable SECDET_T_EMPTY is empty"),
    (webhook(secret={"file": "missing"}),
     "sinks[0]: sink 'webhook-0': secret: cannot read {dir}/missing: No such file or directory"),
    (webhook(secret={"file": "empty"}), "sinks[0]: sink 'webhook-0': secret: {dir}/empty is empty"),
    (webhook(secret={"file": "newline-only"}), "sinks[0]: sink 'webhook-0': secret: {dir}/newline-only is empty"),
    (webhook(secret={"file": "a-directory"}),
     "sinks[0]: sink 'webhook-0': secret: {dir}/a-directory is not a regular file"),
    (webhook(secret={"file": "big"}),
     "sinks[0]: sink 'webhook-0': secret: {dir}/big is larger than 64 KiB (a secret file holds one value)"),
    (webhook(headers={"X-Token": {"env": "SECDET_T_UNSET"}}),
     "sinks[0]: sink 'webhook-0': headers.X-Token: environment variable SECDET_T_UNSET is not set"),
    (webhook(secret={"env": "SECDET_T_SECRET", "file": "secret"}),
     "sinks[0]: sink 'webhook-0': secret: expected a string, {\"env\": NAME} or {\"file\": PATH}"),
    (webhook(secret={"env": 7}),
     "sinks[0]: sink 'webhook-0': secret: env: expected the name of an environment variable"),
    # The keys every sink takes are not secrets and cannot change on SIGHUP.
    (webhook(spool_dir={"env": "SECDET_T_TOKEN"}),
     "sinks[0]: sink 'webhook-0': spool_dir: must be written out (only the keys of the sink's type take a "
     "reference, not the keys every sink takes)"),
    ({"type": "kafka", "brokers": "127.0.0.1:1", "topic": "alerts",
      "properties": {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": "PLAIN",
                     "sasl.username": "u", "sasl.password": {"file": "missing"}}},
     "sinks[0]: sink 'kafka-0': properties.sasl.password: cannot read {dir}/missing: No such file or directory"),
    # What a reference holds is checked like a written value; the message never quotes it.
    (webhook(url={"env": "SECDET_T_BAD_URL"}), "sinks[0]: sink 'webhook-0': url: must start with http:// or https://"),
    (webhook(secret={"file": "bad-secret"}),
     "sinks[0]: sink 'webhook-0': secret: not a valid secret (expected \"whsec_\" and base64, at most 256 bytes)"),
    (webhook(headers={"X-Token": {"file": "two-lines"}}),
     "sinks[0]: sink 'webhook-0': headers: header 1: needs a token name and a string value without newlines"),
    ({"type": "kafka", "brokers": "127.0.0.1:1", "topic": "alerts", "properties": {"acks": {"env": "SECDET_T_KAFKA_PW"}}},
     "sinks[0]: sink 'kafka-0': properties.acks: Invalid value for configuration property"),
])
def test_a_sink_secret_that_cannot_be_read_or_is_invalid_is_a_config_error_naming_the_key(tmp_path, files, sink,
                                                                                          message):
    rc, err, path = run_config(tmp_path, config([sink]))
    assert rc == 2, err
    assert f"secdet: {path}: {message.replace('{dir}', str(tmp_path))}" in err, err


def test_a_kafka_input_property_from_a_missing_variable_is_a_config_error(tmp_path):
    src = [{"name": "k", "input": {"type": "kafka", "brokers": "127.0.0.1:1", "group": "g", "topics": ["t"],
                                    "properties": {"sasl.username": {"env": "SECDET_T_TOKEN"},
                                                   "sasl.password": {"env": "SECDET_T_UNSET"}}}}]
    rc, err, path = run_config(tmp_path, config(sources=src))
    assert rc == 2
    assert (f"{path}: sources[0].input.properties.sasl.password: environment variable SECDET_T_UNSET is not set"
            in err), err


def test_a_secret_file_every_user_can_read_is_warned_about_and_used(tmp_path):
    (tmp_path / "token").write_text(TOKEN + "\n")
    (tmp_path / "token").chmod(0o644)
    (tmp_path / "own").write_text(TOKEN + "\n")
    (tmp_path / "own").chmod(0o640)  # group-readable: how containers share secrets, no warning
    out = tmp_path / "alerts.jsonl"
    sinks = [{"type": "stdout"},
             webhook(name="open", headers={"X-Token": {"file": "token"}}),
             webhook(name="group", headers={"X-Token": {"file": "own"}})]
    rc, err, path = run_config(tmp_path, config(sinks), stdin=b"")
    assert rc == 0, err
    assert (f"secdet: {path}: sinks[1]: warning: sink 'open': headers.X-Token: {tmp_path}/token is readable by "
            f"every user (mode 0644); chmod o-rw it") in err.splitlines(), err
    assert "sink 'group'" not in err, err
    assert not out.exists()


@pytest.mark.parametrize("time_field,message", [
    ("published", "sources[1].time_field: must be a field path starting with '.' (got \"published\")"),
    (".a[", "sources[1].time_field: not a field path: expected an index or '*' inside '[ ]' (got \".a[\")"),
    (".a b", "sources[1].time_field: not a field path: unexpected text at byte 3 (got \".a b\")"),
])
def test_a_time_field_that_is_not_a_field_path_says_what_is_expected(tmp_path, time_field, message):
    src = [{"name": "a", "format": "jsonl", "input": {"type": "stdin"}},
           {"name": "b", "format": "jsonl", "time_field": time_field, "input": {"type": "udp", "address": "127.0.0.1",
                                                                             "port": 0}}]
    rc, err, path = run_config(tmp_path, config(sources=src))
    assert rc == 2
    assert f"secdet: {path}: {message}" in err, err


def test_two_sinks_with_one_name_are_a_config_error(tmp_path):
    sinks = [{"type": "file", "path": "a.jsonl", "name": "file-1"}, {"type": "file", "path": "b.jsonl"}]
    rc, err, path = run_config(tmp_path, config(sinks))
    assert rc == 2
    assert (f"secdet: {path}: sinks[1].name: duplicate sink name \"file-1\" (also sinks[0]; a sink without a name "
            "is called <type>-<index>)") in err, err


def docs_block(doc, heading):
    """The first ```json block after `heading` in docs/DOC."""
    text = open(os.path.join(ROOT, "docs", doc), encoding="utf-8").read()
    after = text[text.index(heading):]
    start = after.index("```json\n") + len("```json\n")
    return after[start:after.index("```", start)]


def test_the_reference_example_in_docs_sinks_md_is_a_sink_that_loads(tmp_path):
    block = docs_block("sinks.md", "## Secrets").replace("/run/secrets/", f"{tmp_path}/")
    sink = json.loads(block)
    (tmp_path / "siem-hook-secret").write_text(SECRET + "\n")
    (tmp_path / "siem-hook-secret").chmod(0o600)
    env = secret_env(SIEM_HOOK_URL="https://siem.example.com/in?token=pw-never-printed", SIEM_TOKEN=TOKEN)
    rc, err, path = run_config(tmp_path, config([sink]), env=env)
    assert rc == 0 and "warning" not in err, err
    del env["SIEM_TOKEN"]
    rc, err, path = run_config(tmp_path, config([sink]), env=env)
    assert rc == 2
    assert f"{path}: sinks[0]: sink 'siem': headers.Authorization: environment variable SIEM_TOKEN is not set" in err
