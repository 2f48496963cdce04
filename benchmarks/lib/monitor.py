"""Background measurements shared by raw and upshift runs, so both are judged by the same instruments.

- `HttpProbe`: polls the application's HTTP endpoint (GET /api/ of the InvenTree stand-in, through the
  port published on 127.0.0.1) about every 100 ms. A probe is "up" when it gets HTTP 200 within 1 s.
  The downtime of a run is the time from the last successful probe before the first failure to the first
  successful probe after the last failure (an upper bound; resolution about one poll interval).
- `DiskSampler`: `du -sb` of the run's deployment folder (data mount, old cluster kept aside, dumps,
  upshift's run folder) every 0.5 s; reports the maximum.
"""
import subprocess
import threading
import time
import urllib.error
import urllib.request


class HttpProbe:
    """Polls `url` in a daemon thread and keeps every (monotonic time, ok) sample."""

    def __init__(self, url: str, interval: float = 0.1, timeout: float = 1.0):
        self.url = url
        self.interval = interval
        self.timeout = timeout
        self.samples = []          # (monotonic seconds, bool)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="http-probe", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)

    def _once(self) -> bool:
        try:
            with urllib.request.urlopen(self.url, timeout=self.timeout) as response:
                response.read(64)
                return response.status == 200
        except (urllib.error.URLError, OSError, ValueError):
            return False
        except Exception:  # http.client.RemoteDisconnected, BadStatusLine, ...
            return False

    def _run(self):
        while not self._stop.is_set():
            began = time.monotonic()
            ok = self._once()
            with self._lock:
                self.samples.append((time.monotonic(), ok))
            rest = self.interval - (time.monotonic() - began)
            if rest > 0:
                self._stop.wait(rest)

    def snapshot(self):
        with self._lock:
            return list(self.samples)

    def wait_up(self, deadline_seconds: float, after: float = 0.0) -> bool:
        """Waits until a successful probe taken after monotonic time `after` (polling our own samples)."""
        end = time.monotonic() + deadline_seconds
        while time.monotonic() < end:
            for t, ok in reversed(self.snapshot()):
                if t < after:
                    break
                if ok:
                    return True
            time.sleep(0.05)
        return False

    def outage(self, since: float):
        """The outage window after monotonic `since`: dict with down_seconds, first_fail, recovered, outages.

        `down_seconds` = first ok after the last failure - last ok before the first failure.
        `outages` counts separate failure stretches (more than one means the app came back and went again).
        """
        samples = [s for s in self.snapshot()]
        fails = [i for i, (t, ok) in enumerate(samples) if not ok and t >= since]
        if not fails:
            return {"down_seconds": 0.0, "outages": 0, "recovered": True, "probes": len(samples)}
        first, last = fails[0], fails[-1]
        before = next((samples[i][0] for i in range(first - 1, -1, -1) if samples[i][1]), samples[first][0])
        after = next((samples[i][0] for i in range(last + 1, len(samples)) if samples[i][1]), None)
        stretches = sum(1 for i in fails if i == 0 or samples[i - 1][1])
        return {
            "down_seconds": round((after if after is not None else samples[-1][0]) - before, 3),
            "outages": stretches,
            "recovered": after is not None,
            "last_ok_before": before,
            "first_ok_after": after,
            "probes": len(samples),
        }


class DiskSampler:
    """`du -sb PATH` every `interval` seconds in a daemon thread; `peak` is the largest value seen."""

    def __init__(self, path: str, interval: float = 0.5):
        self.path = path
        self.interval = interval
        self.peak = 0
        self.first = None
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="disk-sampler", daemon=True)

    def start(self):
        self.sample()
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=30)
        self.sample()

    def sample(self):
        try:
            out = subprocess.run(["du", "-sb", self.path], capture_output=True, text=True, timeout=60).stdout
            value = int(out.split()[0])
        except (subprocess.SubprocessError, ValueError, IndexError, OSError):
            return
        if self.first is None:
            self.first = value
        self.peak = max(self.peak, value)
        self.count += 1

    def _run(self):
        while not self._stop.wait(self.interval):
            self.sample()
