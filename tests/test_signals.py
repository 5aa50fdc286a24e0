"""Stops of every kind: what `artify_stream.signals` promises the rest of the code."""

import queue
import signal

import pytest

from artify_stream import signals
from artify_stream.stages import END, Stages


def test_a_stop_during_a_deferred_write_takes_effect_right_after_it():
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # whatever earlier tests left
    steps = []
    try:
        with pytest.raises(KeyboardInterrupt):
            with signals.deferred():
                signal.raise_signal(signal.SIGINT)
                steps.append("write finished")
            steps.append("never reached")
        assert steps == ["write finished"]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is back
    finally:
        signal.signal(signal.SIGINT, previous)


def test_sigterm_is_a_keyboard_interrupt_with_its_own_exit_code(monkeypatch):
    monkeypatch.setattr(signals, "_received", None)  # restored after: other tests read it
    previous, previous_int = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    signals.install()
    try:
        with pytest.raises(signals.Terminated) as stop:
            signal.raise_signal(signal.SIGTERM)
        assert isinstance(stop.value, KeyboardInterrupt) and signals.stop_exit_code(stop.value) == 143
    finally:
        signals.handled()  # the test acted on the stop: not sent again when pytest drops it
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous)


def test_a_stop_that_a_library_re_raised_as_another_error_is_still_a_clean_stop(monkeypatch):
    """CI saw it: a Ctrl-C landing while `import torch` set up a class came out as a RuntimeError
    (Python 3.11 wraps what `__set_name__` raises) and printed a traceback instead of `interrupted`."""
    from typer.testing import CliRunner

    import cli  # noqa: F401  every real command, so the test's is one among them
    from frontends.options import app, command

    monkeypatch.setattr(app, "registered_commands", list(app.registered_commands))  # the test's command goes after

    @command("cut-import")
    def cut_import() -> None:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as stop:
            raise RuntimeError("Error calling __set_name__ on 'cached_property' instance") from stop

    result = CliRunner().invoke(app, ["cut-import"])
    assert result.exit_code == 130 and "interrupted" in result.output
    assert signals.stop_behind(RuntimeError("a plain failure")) is None


def test_a_stop_landing_inside_a_queue_put_lets_the_put_finish_and_the_queue_stay_usable(monkeypatch):
    """CI hung once: a SIGTERM raised just as the stylize stage (the main thread) took a queue's
    lock left the lock held, and the stage's end marker then waited on it forever. A stop that
    lands while the queue's lock is held now takes effect after the put, which completes."""

    class StoppedMidPut(queue.Queue):
        stops = 1

        def _put(self, item):  # runs with the queue's lock held
            if self.stops:
                self.stops -= 1
                signal.raise_signal(signal.SIGTERM)
            super()._put(item)

    monkeypatch.setattr(signals, "_received", None)
    previous, previous_int = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    signals.install()
    try:
        stages, q = Stages(), StoppedMidPut(maxsize=4)
        with pytest.raises(signals.Terminated) as stopped:  # held until `handled` below, as the CLI holds it
            stages.put(q, "frame")
        assert isinstance(stopped.value, KeyboardInterrupt)
        assert q.get_nowait() == "frame"  # the put finished
        queue.Queue.put(q, END, timeout=1)  # and nothing holds the lock: the end marker goes on
        assert q.get_nowait() is END
        assert signals.stop_exit_code() == 143
    finally:
        signals.handled()  # the test acted on the stop: not sent again when pytest drops it
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous)


def test_a_stop_landing_inside_an_import_takes_effect_once_the_import_is_over(tmp_path):
    """A stop raised inside an import can be swallowed by an import callback (the job goes on: 7 of
    111 tries during `import torch`), and is the likely cause of a start-up Ctrl-C the suite once
    saw end by abort (-6). A stop inside an import now waits for it to finish, then ends the
    program as usual (130)."""
    import subprocess
    import sys
    import time
    from pathlib import Path

    (tmp_path / "slow_module.py").write_text(
        "import pathlib, time\n"
        "here = pathlib.Path(__file__).parent\n"
        "(here / 'import-started').touch()\n"
        "deadline = time.monotonic() + 1.5\n"
        "while time.monotonic() < deadline:\n"
        "    pass\n"
        "(here / 'import-finished').touch()\n")
    program = (
        "import sys, time\n"
        "from artify_stream import signals\n"
        "signals.install()\n"
        "try:\n"
        "    import slow_module\n"
        "    deadline = time.monotonic() + 60\n"  # (ends by itself should the test die)
        "    while time.monotonic() < deadline:\n"
        "        pass\n"  # the stop must still come, after the import
        "    sys.exit(0)\n"
        "except KeyboardInterrupt:\n"
        "    signals.handled()\n"
        "    sys.exit(130)\n")
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen([sys.executable, "-c", program], cwd=tmp_path,
                            env={"PYTHONPATH": f"{root}:{tmp_path}", "PATH": "/usr/bin:/bin"})
    deadline = time.monotonic() + 60
    while not (tmp_path / "import-started").exists():
        assert time.monotonic() < deadline and proc.poll() is None, "the import never started"
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    assert (tmp_path / "import-finished").exists()  # the import was not cut in the middle


def test_a_stop_that_a_library_swallows_is_sent_again_until_something_acts_on_it(tmp_path):
    """The suite saw a Ctrl-C at start-up printed as "Exception ignored in: 'Path'" and the job then
    ran to its end: raised inside a callback whose errors are only printed, the stop was dropped.
    Here the callback is a `__del__` (Python prints and drops what it raises): the stop is sent again
    once dropped, and the program ends as a stop (130) instead of running on, without printing the
    dropped stop's traceback (CI saw it printed, which a Ctrl-C must never do)."""
    import subprocess
    import sys
    import time
    from pathlib import Path

    program = (
        "import pathlib, sys, time\n"
        "from artify_stream import signals\n"
        "here = pathlib.Path.cwd()\n"
        "class Swallowing:\n"
        "    def __del__(self):\n"
        "        (here / 'callback-started').touch()\n"
        "        deadline = time.monotonic() + 30\n"
        "        while time.monotonic() < deadline:\n"
        "            pass\n"
        "signals.install()\n"
        "try:\n"
        "    Swallowing()\n"  # freed at once: __del__ runs, the stop lands in it and is dropped
        "    (here / 'went-on').touch()\n"
        "    deadline = time.monotonic() + 30\n"
        "    while time.monotonic() < deadline:\n"
        "        pass\n"
        "    sys.exit(0)\n"
        "except KeyboardInterrupt:\n"
        "    signals.handled()\n"
        "    sys.exit(130)\n")
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen([sys.executable, "-c", program], cwd=tmp_path, stderr=subprocess.PIPE, text=True,
                            env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    deadline = time.monotonic() + 60
    while not (tmp_path / "callback-started").exists():
        assert time.monotonic() < deadline and proc.poll() is None, "the callback never ran"
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert (tmp_path / "went-on").exists()  # the first delivery was swallowed: the program went on past the callback
    assert proc.returncode == 130, err[-2000:]  # but the stop came again and ended it
    assert "Exception ignored" not in err and "Traceback" not in err, err[-2000:]
