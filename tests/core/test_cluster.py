"""The cluster description of ``--workers``/``--worker-index`` and ``TF_CONFIG`` (no TensorFlow)."""

import json
import socket

import pytest

from digitdesk.core.cluster import (Cluster, check_port_free, from_arguments, from_environment, from_tf_config,
                                    parse_address, parse_workers)
from digitdesk.core.errors import ClusterError


def test_addresses_and_the_tf_config_they_make():
    c = from_arguments("10.0.0.5:2222, machine-b:2223,[::1]:2224", 1)
    assert c.workers == ("10.0.0.5:2222", "machine-b:2223", "[::1]:2224") and c.size == 3
    assert not c.is_chief and c.address == "machine-b:2223" and c.label() == "worker 1 of 3"
    assert c.tf_config() == {"cluster": {"worker": list(c.workers)}, "task": {"type": "worker", "index": 1}}
    assert from_arguments("a:1,b:2", 0).label() == "worker 0 of 2 (chief)"
    assert parse_address("[::1]:2224") == ("[::1]", 2224)


@pytest.mark.parametrize("text", ["a", "a:", ":1", "a:0", "a:65536", "a:1x", "::1:2", "a b:1", "[::1:2"])
def test_bad_addresses(text):
    with pytest.raises(ClusterError):
        parse_address(text)


def test_duplicates_count_case_insensitively():
    with pytest.raises(ClusterError, match="given twice"):
        parse_workers("Host:1,host:1")


def test_tf_config_round_trip_and_chief_job(monkeypatch):
    c = Cluster(("a:1", "b:2"), 1)
    assert from_tf_config(json.dumps(c.tf_config())) == c
    chief = {"cluster": {"chief": ["a:1"], "worker": ["b:2", "c:3"]}, "task": {"type": "worker", "index": 1}}
    assert from_tf_config(json.dumps(chief)) == Cluster(("a:1", "b:2", "c:3"), 2)
    monkeypatch.setenv("TF_CONFIG", "")
    assert from_environment() is None
    c.activate()
    assert from_environment() == c


@pytest.mark.parametrize("config, message", [
    ("{nope", "not JSON"),
    ('{"cluster": {"worker": ["a:1", "b:2"]}}', "needs"),
    ('{"cluster": {"ps": ["a:1"], "worker": ["b:2", "c:3"]}, "task": {"type": "worker", "index": 0}}', "ps"),
    ('{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "evaluator", "index": 0}}', "chief or worker"),
    ('{"cluster": {"worker": ["a:1", "a:1"]}, "task": {"type": "worker", "index": 0}}', "twice"),
])
def test_bad_tf_config(config, message):
    with pytest.raises(ClusterError, match=message):
        from_tf_config(config)


def test_port_check():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ClusterError, match=f"port {port} .* already in use"):
            check_port_free(Cluster((f"127.0.0.1:{port}", "127.0.0.1:1"), 0))
    check_port_free(Cluster((f"127.0.0.1:{port}", "127.0.0.1:1"), 0))  # free again
