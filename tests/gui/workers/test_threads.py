# Needs Qt (no window): the task runner, its stop flag and its queue of one waiting job.
from __future__ import annotations

import threading

from digitdesk.core.errors import Cancelled
from digitdesk.gui.workers.threads import TaskRunner


def test_task_runner_shutdown_stops_a_job_that_checks_its_flag(qtbot, caplog):
    """shutdown sets the flag :meth:`TaskRunner.stopping` reads and waits; a job that checks it
    raises Cancelled, which is logged at info and not sent as a failure."""
    runner = TaskRunner("test-runner")
    started, checks, results, errors = threading.Event(), [], [], []
    runner.finished.connect(lambda tag, value: results.append(tag))
    runner.failed.connect(lambda tag, exc: errors.append(tag))

    def endless(should_stop):
        started.set()
        while True:
            checks.append(1)
            if should_stop():
                raise Cancelled("stopped on request")
            threading.Event().wait(0.001)

    caplog.set_level("INFO", logger="digitdesk.gui.workers.threads")
    assert not runner.stopping()
    runner.submit(endless, runner.stopping, tag="long")
    assert started.wait(5)
    runner.shutdown()  # returns only once the job has stopped: it would never end otherwise
    assert runner.stopping() and not runner._thread.isRunning() and checks
    qtbot.wait(50)
    assert results == [] and errors == []
    assert any(r.levelname == "INFO" and "stopped" in r.getMessage() for r in caplog.records)


def test_task_runner_keeps_only_the_latest_waiting_job(qtbot):
    runner = TaskRunner("test-runner")
    gate = threading.Event()
    ran, results, errors = [], [], []
    runner.finished.connect(lambda tag, value: results.append((tag, value)))
    runner.failed.connect(lambda tag, exc: errors.append((tag, str(exc))))

    def job(n):
        if n == 0:
            gate.wait(5)
        ran.append(n)
        if n == 9:
            raise ValueError("nine")
        return n * 10

    runner.submit(job, 0, tag="a")
    for n in (1, 2, 3):
        runner.submit(job, n, tag=n)
    assert runner.busy
    gate.set()
    qtbot.waitUntil(lambda: len(results) == 2, timeout=3000)
    assert ran == [0, 3] and results == [("a", 0), (3, 30)]
    runner.submit(job, 9, tag="x")
    qtbot.waitUntil(lambda: errors == [("x", "nine")], timeout=3000)
    assert not runner.busy
    runner.shutdown()
    assert not runner._thread.isRunning()
