"""`dvc plots show` / `dvc plots diff` pages render offline in headless Chromium, every chart with marks drawn.

Chromium is driven over its DevTools protocol on a pipe (--remote-debugging-pipe): stdlib only, no port, no
driver binary, and it reports every network request the page makes, which is how we know it stayed offline.
"""

import contextlib
import fcntl
import json
import math
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--proxy-server=127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND",  # no network at all
]
N_SERIES = 16
TIMEOUT = 60  # seconds for a command (dvc, git) and for each answer or event awaited from Chromium
DVC = [sys.executable, "-m", "dvc"]  # the venv's dvc, whatever PATH says
# Runs in the page: waits until each plot div holds an SVG or a canvas with marks, then describes them.
PROBE = """new Promise(resolve => {
  const deadline = Date.now() + 20000;
  const describe = div => {
    const svg = div.querySelector('svg.marks'), canvas = div.querySelector('canvas');
    if (svg) {
      const lines = [...svg.querySelectorAll('g.mark-line path')].filter(p => (p.getAttribute('d') || '').length > 2);
      return {id: div.id, kind: 'svg', marks: svg.querySelectorAll('g.role-mark > path, g.role-mark > g').length,
              lines: lines.length, colours: new Set(lines.map(p => p.getAttribute('stroke'))).size,
              dashes: new Set(lines.map(p => p.getAttribute('stroke-dasharray'))).size};
    }
    if (canvas && canvas.width > 0) {  // marks = coloured pixels; axes, grid and text are grey
      const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let marks = 0;
      for (let i = 0; i < px.length; i += 4) {
        const r = px[i], g = px[i + 1], b = px[i + 2];
        if (px[i + 3] > 0 && Math.max(r, g, b) - Math.min(r, g, b) > 60) marks++;
      }
      return {id: div.id, kind: 'canvas', marks};
    }
    return {id: div.id, kind: null, marks: 0};
  };
  const check = () => {
    const plots = [...document.querySelectorAll('body > div[id]')].map(describe);
    if ((plots.length && plots.every(p => p.marks > 0)) || Date.now() > deadline) resolve(JSON.stringify(plots));
    else setTimeout(check, 100);
  };
  check();
})"""


def _need(ok: bool, why: str) -> None:
    """Skip when a browser-check prerequisite is missing, except in CI, where it is a failure."""
    if not ok:
        (pytest.fail if os.environ.get("CI") == "true" else pytest.skip)(why)


class Chromium:
    """Headless Chromium driven over the DevTools protocol on fds 3/4 (NUL-terminated JSON messages)."""

    def __init__(self, chromium: str, profile: Path):
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def pipes_at_3_and_4():  # first lift both above 4 so that neither dup2 clobbers the other
            r, w = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_chrome_r, from_chrome_w))
            os.dup2(r, 3)
            os.dup2(w, 4)

        self.proc = subprocess.Popen(
            [chromium, *CHROMIUM_FLAGS, "--remote-debugging-pipe", f"--user-data-dir={profile}", "about:blank"],
            preexec_fn=pipes_at_3_and_4,
            close_fds=False,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf, self._id, self.events = b"", 0, []

    def send(self, method: str, session: str | None = None, **params) -> dict:
        """Send one command and return its result; events that arrive meanwhile go to self.events."""
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params} | ({"sessionId": session} if session else {})
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while True:
            reply = self._read(deadline, method)
            if reply.get("id") == self._id:
                assert "error" not in reply, f"{method}: {reply['error']}"
                return reply["result"]
            self.events.append(reply)

    def wait_event(self, method: str) -> dict:
        deadline = time.monotonic() + TIMEOUT
        while not any(e.get("method") == method for e in self.events):
            self.events.append(self._read(deadline, method))
        return next(e for e in self.events if e.get("method") == method)

    def _read(self, deadline: float, waiting_for: str) -> dict:
        """The next message; fails past `deadline` (however many other messages arrive meanwhile)."""
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            assert left > 0 and select.select([self._from_chrome], [], [], left)[0], (
                f"no answer to {waiting_for} from Chromium within {TIMEOUT} s"
            )
            chunk = os.read(self._from_chrome, 1 << 16)
            assert chunk, "Chromium closed the DevTools pipe (did it fail to start?)"
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def close(self) -> None:
        """Ask Chromium to quit; if it hangs, kill its process group (its own session, started above)."""
        with contextlib.suppress(AssertionError, OSError, subprocess.TimeoutExpired):
            self.send("Browser.close")
            self.proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # helpers (zygote, crashpad) that outlived the browser
        self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)


def render(page: Path) -> tuple[list[dict], list[str], list[str]]:
    """Open `page` offline; return (one description per plot div, page exceptions, non-local request URLs)."""
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        chrome = Chromium(shutil.which("chromium"), Path(profile))
        try:
            target = chrome.send("Target.createTarget", url="about:blank")["targetId"]
            session = chrome.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            for domain in ("Page", "Runtime", "Network"):
                chrome.send(f"{domain}.enable", session)
            chrome.send("Page.navigate", session, url=page.as_uri())
            chrome.wait_event("Page.loadEventFired")
            probe = chrome.send(
                "Runtime.evaluate", session, expression=PROBE, awaitPromise=True, returnByValue=True, timeout=30000
            )
            plots = json.loads(probe["result"]["value"])
        finally:
            chrome.close()
    errors = [
        e["params"]["exceptionDetails"].get("exception", {}).get("description", str(e["params"]))
        for e in chrome.events
        if e.get("method") == "Runtime.exceptionThrown"
    ]
    remote = [
        e["params"]["request"]["url"]
        for e in chrome.events
        if e.get("method") == "Network.requestWillBeSent"
        and not e["params"]["request"]["url"].startswith(("file:", "data:", "about:", "blob:"))
    ]
    return plots, errors, remote


def _write_runs(repo: Path, scale: float) -> None:
    """A DVCLive-style TSV per learning rate, a JSON of per-layer gradients, a CSV of accuracies."""
    for i in range(N_SERIES):
        rows = [f"{s}\t{scale * math.exp(-s * (i + 1) / 40) + 0.02 * i:.5f}" for s in range(20)]
        (repo / "lr" / f"lr-{10 ** (-i / 4):.3g}.tsv").write_text("step\tloss\n" + "\n".join(rows) + "\n")
    grads = [{"epoch": e, "layer_1": 10 ** (-e / 3), "layer_50": 0.1, "layer_100": 10 ** (e / 5)} for e in range(8)]
    (repo / "grads.json").write_text(json.dumps(grads))
    (repo / "acc.csv").write_text("epoch,test_acc\n" + "".join(f"{e},{0.5 + e / 20}\n" for e in range(10)))


def _run(repo: Path, *cmd: str) -> str:
    done = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A git+DVC repo with the project's plot templates and offline page, three top-level plots, two commits."""
    _need(shutil.which("chromium") is not None, "Chromium is not installed (Debian: apt-get install chromium)")
    page_cfg = _run(ROOT, *DVC, "config", "plots.html_template").strip()
    page = ROOT / ".dvc" / page_cfg
    _need(page.is_file(), f"{page} is missing; run `make setup` (it inlines vega from the vl-convert-python wheel)")
    repo = tmp_path_factory.mktemp("plots_repo")
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    _run(repo, *git, "init", "-q")
    _run(repo, *DVC, "init", "-q")
    _run(repo, *DVC, "config", "core.check_update", "false")
    _run(repo, *DVC, "config", "plots.html_template", page_cfg)
    shutil.copy(page, repo / ".dvc" / page_cfg)
    shutil.copytree(ROOT / ".dvc" / "plots", repo / ".dvc" / "plots")
    (repo / "lr").mkdir()
    lr_files = "".join(f"        lr/lr-{10 ** (-i / 4):.3g}.tsv: loss\n" for i in range(N_SERIES))
    (repo / "dvc.yaml").write_text(f"""plots:
  - lr_sweep:
      template: series
      title: validation loss per learning rate
      x: step
      y:
{lr_files}  - gradients:
      template: series_log
      x: epoch
      y:
        grads.json: [layer_1, layer_50, layer_100]
  - accuracy:
      x: epoch
      y:
        acc.csv: test_acc
""")
    (repo / ".gitignore").write_text(f"/dvc_plots/\n/.dvc/{page_cfg}\n")
    _write_runs(repo, scale=1.0)
    _run(repo, *git, "add", "-A")
    _run(repo, *git, "commit", "-qm", "first run")
    _write_runs(repo, scale=0.7)
    _run(repo, *git, "commit", "-qam", "second run")
    return repo


def _check(plots: list[dict], errors: list[str], remote: list[str], revisions: int) -> None:
    by_id = {p["id"]: p for p in plots}
    assert not errors, f"the page threw: {errors}"
    assert not remote, f"the page tried the network: {remote}"
    assert set(by_id) == {"lr_sweep", "gradients", "accuracy"}, plots
    assert all(p["kind"] in ("svg", "canvas") and p["marks"] > 0 for p in plots), f"a chart drew nothing: {plots}"
    assert by_id["lr_sweep"]["kind"] == "svg" and by_id["accuracy"]["kind"] == "canvas"  # ours, DVC's default
    lines, colours, dashes = (by_id["lr_sweep"][k] for k in ("lines", "colours", "dashes"))
    assert (lines, colours, dashes) == (N_SERIES * revisions, N_SERIES, revisions), by_id["lr_sweep"]
    assert by_id["gradients"]["colours"] == 3, by_id["gradients"]


@pytest.mark.slow
def test_plots_show_renders_offline(repo):
    _run(repo, *DVC, "plots", "show")
    _check(*render(repo / "dvc_plots" / "index.html"), revisions=1)


@pytest.mark.slow
def test_plots_diff_renders_offline(repo):
    _run(repo, *DVC, "plots", "diff", "HEAD~1", "HEAD")
    _check(*render(repo / "dvc_plots" / "index.html"), revisions=2)
