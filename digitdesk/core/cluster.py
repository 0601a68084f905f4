"""Training on several machines: the cluster of worker processes that train one model with
TensorFlow's ``MultiWorkerMirroredStrategy``, described by ``--workers host:port,...`` with
``--worker-index I``, or by the ``TF_CONFIG`` environment variable TensorFlow itself reads.

Everything here is checked before TensorFlow starts: the addresses (a host and a port each, no
duplicates, at least two), the index (one of them), and this worker's own port (bound here and
released, so that a port already in use is named rather than left to gRPC). :meth:`Cluster.activate`
then writes ``TF_CONFIG``, which :func:`~digitdesk.core.training.get_strategy` reads, and
:func:`make_strategy` creates the strategy with bounded waits, so that a worker that never
starts, or dies, ends the others' run with a message instead of a hang. Imports no TensorFlow
until :func:`make_strategy`.
"""

from __future__ import annotations

import errno
import json
import os
import socket
from dataclasses import dataclass

from digitdesk.core.errors import ClusterError

TF_CONFIG = "TF_CONFIG"
DEFAULT_TIMEOUT = 120.0  # seconds to wait for every worker to join, and for a silent one


@dataclass(frozen=True)
class Cluster:
    """The worker processes of one training run (``host:port`` each, in order) and which of
    them this process is. Worker 0 is the chief: it alone saves the model and records the run."""

    workers: tuple[str, ...]
    index: int

    @property
    def size(self) -> int:
        return len(self.workers)

    @property
    def is_chief(self) -> bool:
        return self.index == 0

    @property
    def address(self) -> str:
        return self.workers[self.index]

    def label(self) -> str:
        """``worker 1 of 2 (chief)``: counted from 0, as --worker-index is."""
        return f"worker {self.index} of {self.size}" + (" (chief)" if self.is_chief else "")

    def tf_config(self) -> dict:
        return {"cluster": {"worker": list(self.workers)}, "task": {"type": "worker", "index": self.index}}

    def activate(self) -> None:
        """Write ``TF_CONFIG`` for this cluster (before the strategy is created)."""
        os.environ[TF_CONFIG] = json.dumps(self.tf_config())


def parse_address(text: str) -> tuple[str, int]:
    """``host:port`` (an IPv6 host in brackets: ``[::1]:2222``) as (host, port)."""
    item = text.strip()
    host, sep, port = item.rpartition(":")
    if not sep or not host:
        raise ClusterError(f"{item!r} is not host:port (for example 192.168.1.20:2222)")
    if host.startswith("["):
        if not host.endswith("]") or len(host) < 3:
            raise ClusterError(f"{item!r}: an IPv6 host goes in brackets, as in [::1]:2222")
    elif ":" in host or any(c.isspace() for c in host):
        raise ClusterError(f"{item!r} is not host:port (an IPv6 host goes in brackets, as in [::1]:2222)")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ClusterError(f"{item!r}: the port must be a number from 1 to 65535, not {port!r}")
    return host, int(port)


def _canonical(host: str, port: int) -> str:
    return f"{host.lower()}:{port}"


def parse_workers(text: str) -> tuple[str, ...]:
    """The comma-separated ``host:port`` list of ``--workers``: at least two, none twice."""
    items = [item.strip() for item in str(text).split(",")]
    if any(not item for item in items):
        raise ClusterError(f"--workers {text!r}: an empty address (give host:port,host:port with no spaces or "
                           "extra commas)")
    seen: dict[str, str] = {}
    for item in items:
        key = _canonical(*parse_address(item))
        if key in seen:
            raise ClusterError(f"--workers: {item} is given twice (each worker needs its own host:port)")
        seen[key] = item
    if len(items) < 2:
        raise ClusterError(f"--workers {text!r}: give at least two workers (host:port,host:port); "
                           "to train in one process, leave --workers out")
    return tuple(items)


def from_arguments(workers: str | None, index: int | None) -> Cluster:
    """The cluster of ``--workers`` and ``--worker-index``."""
    if workers is None:
        raise ClusterError("--worker-index needs --workers host:port,host:port")
    addresses = parse_workers(workers)
    if index is None:
        raise ClusterError("--workers needs --worker-index: which of the addresses is this process "
                           f"(0 to {len(addresses) - 1}; 0 is the chief, which saves the model)")
    if not 0 <= index < len(addresses):
        raise ClusterError(f"--worker-index {index} is out of range: --workers lists {len(addresses)} workers, "
                           f"so the index is 0 to {len(addresses) - 1}")
    return Cluster(addresses, index)


def from_tf_config(text: str) -> Cluster:
    """The cluster a ``TF_CONFIG`` value describes (``worker`` tasks, or a ``chief`` and workers)."""
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise ClusterError(f"TF_CONFIG is not JSON ({exc})") from None
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict) or not isinstance(config.get("task"), dict):
        raise ClusterError('TF_CONFIG needs "cluster" and "task", as in {"cluster": {"worker": ["host:port", '
                           '"host:port"]}, "task": {"type": "worker", "index": 0}}')
    cluster, task = config["cluster"], config["task"]
    unknown = sorted(set(cluster) - {"chief", "worker"})
    if unknown:
        raise ClusterError(f"TF_CONFIG: digitdesk trains with \"chief\" and \"worker\" tasks only, not {', '.join(unknown)}")
    jobs = {job: cluster.get(job) or [] for job in ("chief", "worker")}
    if not all(isinstance(v, list) and all(isinstance(a, str) for a in v) for v in jobs.values()):
        raise ClusterError("TF_CONFIG: each job of \"cluster\" is a list of \"host:port\" strings")
    if len(jobs["chief"]) > 1:
        raise ClusterError("TF_CONFIG: a cluster has at most one chief")
    addresses = jobs["chief"] + jobs["worker"]  # the chief first: it is worker 0 here
    task_type, task_index = task.get("type"), task.get("index", 0)
    if task_type not in ("chief", "worker") or not isinstance(task_index, int):
        raise ClusterError(f"TF_CONFIG: \"task\" must be a chief or worker with a whole-number index, not {task!r}")
    size = len(jobs[task_type])
    if not 0 <= task_index < size:
        raise ClusterError(f"TF_CONFIG: task {task_type} {task_index} is out of range: the cluster has "
                           f"{size} {task_type} task{'s' if size != 1 else ''}")
    parse_workers(",".join(addresses))  # the same checks as --workers
    index = task_index if task_type == "chief" else len(jobs["chief"]) + task_index
    return Cluster(tuple(addresses), index)


def from_environment(environ=None) -> Cluster | None:
    """The cluster of ``TF_CONFIG``, or None when it is unset or empty."""
    text = (environ if environ is not None else os.environ).get(TF_CONFIG, "")
    return from_tf_config(text) if text.strip() else None


def check_port_free(cluster: Cluster) -> None:
    """Refuse when this worker's port is already in use here: bind it (as TensorFlow's gRPC
    server will, on every interface) and release it at once."""
    _, port = parse_address(cluster.address)
    for family, host in ((socket.AF_INET6, "::"), (socket.AF_INET, "0.0.0.0")):
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError:
            continue  # no IPv6 here
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a port in TIME_WAIT is free
            sock.bind((host, port))
            return
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                reason = "is already in use" if exc.errno == errno.EADDRINUSE else "cannot be opened (permission denied)"
                raise ClusterError(f"port {port} of {cluster.address} ({cluster.label()}) {reason} on this machine: "
                                   "stop what uses it, or give this worker another port in --workers") from None
            if family == socket.AF_INET6:
                continue  # IPv6 present but not usable here: try IPv4
            raise ClusterError(f"cannot open port {port} of {cluster.address}: {exc.strerror or exc}") from None
        finally:
            sock.close()


def make_strategy(cluster: Cluster, timeout: float = DEFAULT_TIMEOUT):
    """``MultiWorkerMirroredStrategy`` for ``cluster`` (activated first), created before any other
    TensorFlow work: every worker must join within ``timeout`` seconds, and one that stops
    answering for ``timeout`` seconds later ends the run on the others (TensorFlow's coordination
    service: its start-up barrier and its heartbeats)."""
    cluster.activate()
    from digitdesk.core.tfimport import import_tensorflow

    tf = import_tensorflow()
    from tensorflow.python.eager import context

    try:
        from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2
    except ImportError:  # another TensorFlow layout: its own defaults (no time limit at start-up)
        coordination_config_pb2 = None
    ms = int(timeout * 1000)
    if coordination_config_pb2 is not None and context.context().coordination_service is None:
        context.context().configure_coordination_service(
            service_type="standalone", service_leader="/job:worker/replica:0/task:0",
            cluster_register_timeout_in_ms=ms, heartbeat_timeout_in_ms=ms, shutdown_barrier_timeout_in_ms=ms,
            coordinated_jobs=[coordination_config_pb2.CoordinatedJob(name="worker", num_tasks=cluster.size)])
        config = context.context().coordination_service
        if config is not None and hasattr(config, "cluster_register_with_barrier"):
            config.cluster_register_with_barrier = True  # the register timeout then applies
    # Its health check: the first one waits for every worker (without end by default), the
    # next ones find a worker that stopped answering (every 30 s by default).
    from tensorflow.python.distribute import collective_all_reduce_strategy as car

    extended = getattr(car, "CollectiveAllReduceExtended", None)
    if extended is not None and hasattr(extended, "_check_health_initial_timeout"):
        extended._check_health_initial_timeout = max(1, int(timeout))
        extended._check_health_interval = max(1, min(30, int(timeout) // 4))
        extended._check_health_timeout = max(1, min(10, int(timeout) // 4))
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=timeout)
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    except Exception as exc:
        raise ClusterError(describe_failure(exc, cluster, timeout)) from None
    strategy._digitdesk_timeout = timeout
    return strategy


_TELLING = ("unavailable", "deadline", "timed out", "timeout", "is down", "heartbeat", "barrier", "connect",
            "address already in use", "aborted", "cancelled")


def describe_failure(exc: BaseException, cluster: Cluster, timeout: float) -> str:
    """A message for a TensorFlow error of a multi-worker run: a worker that did not join or
    stopped answering, a port in use, or else TensorFlow's own first line."""
    text = str(exc)
    low = text.lower()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    telling = [line for line in lines if any(k in line.lower() for k in _TELLING)]
    first = (telling or lines or [type(exc).__name__])[0][:240]
    others = ", ".join(a for i, a in enumerate(cluster.workers) if i != cluster.index)
    if "address already in use" in low or "failed to add port" in low or "could not start" in low:
        return (f"{cluster.label()}: cannot listen on {cluster.address} (its port is in use?): {first}")
    if any(k in low for k in ("deadline", "timed out", "timeout", "unavailable", "heartbeat", "barrier",
                              "is down", "connection", "failed to connect", "aborted", "cancelled")):
        return (f"{cluster.label()}: the other workers ({others}) did not answer within {timeout:g} s: one did "
                "not start, was stopped or cannot be reached (same --workers list on each? port open in the "
                f"firewall?). Nothing was saved. TensorFlow said: {first}")
    return f"{cluster.label()}: multi-worker training failed: {first}"
