"""README's first command brings the demo up; its log shows what ran; Ctrl-C exits 0."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_normal_delayed_and_periodic_tasks(tmp_path: Path) -> None:
    state = ROOT / "examples" / "hello" / ".stellar"
    shutil.rmtree(state, ignore_errors=True)
    log = tmp_path / "demo.log"
    with open(log, "wb") as out:
        demo = subprocess.Popen([str(ROOT / "scripts" / "demo")], stdout=out, stderr=out)
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                text = log.read_text()
                if text.count("sayHello: Hello!!!") >= 5 and "sendNotification" in text:
                    break
                time.sleep(0.1)
        finally:
            demo.send_signal(signal.SIGINT)
            try:
                code = demo.wait(20)
            except subprocess.TimeoutExpired:
                demo.kill()
                demo.wait()
                raise
    text = log.read_text()
    assert code == 0, text[-3000:]
    assert text.count("sayHello: Hello!!!") >= 5, text[-3000:]
    assert "email.sendResetPassword: sending the reset link to ada@example.com" in text
    assert "email.sendNotification: notifying ada@example.com (Welcome)" in text
    assert "Traceback" not in text
