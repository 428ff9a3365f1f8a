"""conftest.py — fixtures of the Kafka tests: a real broker, the `secdet` command.

`kafka` is one KRaft broker (tools/kafka/kafka.sh) for the whole session, in a
temporary directory, stopped at the end; `make_kafka()` starts extra brokers
that a test may stop and restart (stopped at that test's teardown). Without
`java` or `kcat` on PATH the tests that use them skip; when java is there but
fetching the broker's jars from Maven Central fails, they fail.
SECDET_BIN names the `secdet` command (ctest sets it); else build/secdet.
"""
import os
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kafka_broker import KAFKA_SH, KafkaBroker  # noqa: E402

ROOT = os.environ.get("SECDET_SOURCE_DIR",
                      os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


@pytest.fixture(scope="session")
def repo_root():
    return ROOT


@pytest.fixture(scope="session")
def secdet_bin():
    b = os.environ.get("SECDET_BIN", os.path.join(ROOT, "build", "secdet"))
    if not (os.path.isfile(b) and os.access(b, os.X_OK)):
        pytest.skip(f"secdet binary not found at {b} (build it, or set SECDET_BIN)")
    return b


@pytest.fixture(scope="session")
def kafka_jars():
    """Makes sure the broker's jars are in the cache (tools/kafka/kafka.sh fetch)."""
    missing = [t for t in ("java", "kcat") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"the Kafka tests need {' and '.join(missing)} on PATH "
                    "(tools/install-deps.sh installs default-jdk-headless, maven and kcat)")
    try:
        p = subprocess.run([KAFKA_SH, "fetch"], stdin=subprocess.DEVNULL, capture_output=True, timeout=900)
    except subprocess.TimeoutExpired:
        pytest.fail("tools/kafka/kafka.sh fetch took more than 900 s")
    if p.returncode != 0:
        pytest.fail("tools/kafka/kafka.sh fetch failed:\n" + p.stdout.decode(errors="replace")
                    + p.stderr.decode(errors="replace"))
    return True


@pytest.fixture(scope="session")
def kafka(kafka_jars, tmp_path_factory):
    """A started KafkaBroker for the session (bootstrap: kafka.bootstrap)."""
    broker = KafkaBroker(tmp_path_factory.mktemp("kafka"))
    try:
        broker.start()
    except Exception:
        broker.stop()
        raise
    yield broker
    broker.stop()


@pytest.fixture
def make_kafka(kafka_jars, tmp_path_factory):
    """make_kafka() -> a new started KafkaBroker of its own (own dir and ports), for tests
    that stop and restart a broker; every one is stopped at the test's teardown."""
    brokers = []

    def make():
        broker = KafkaBroker(tmp_path_factory.mktemp("kafka-own"))
        brokers.append(broker)
        return broker.start()

    yield make
    for broker in brokers:
        broker.stop()
