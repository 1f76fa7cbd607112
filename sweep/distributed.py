"""Sweeps over several processes or machines, on KerasTuner's own distributed oracle.

KerasTuner runs one *chief* that serves the oracle over gRPC and any number of *workers*
that ask it for trials, train them and report back; each process learns its part from
three environment variables (KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP,
KERASTUNER_ORACLE_PORT). This module only sets those, checks what KerasTuner does not,
and launches a chief and N workers on one machine (`sweep run SPACE --workers N`):

    launcher ──> chief   (--role chief  --oracle 127.0.0.1:PORT)      serves the oracle,
            ├─> worker0 (--role worker --oracle ... --worker-id worker0) writes trials.csv,
            └─> worker1 ...                                              evaluates the best
All of them share one run folder; workers log to RUN_DIR/logs/<id>.log.

What KerasTuner leaves open, and what is done about it here:
- gRPC listens with SO_REUSEPORT, so a second chief on a busy port starts silently and
  splits the workers between two oracles: `check_port_free` refuses that port first.
- A worker that dies mid-trial leaves its trial in the oracle's `ongoing_trials`, and the
  chief waits for it for ever. The oracle hands a known tuner id its ongoing trial
  again, so `launch_local` restarts a killed worker under the same id: the replacement
  re-runs that trial and the sweep finishes. (Across machines, restart it by hand.)
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sweep import tuning
from sweep.config import ConfigError, SweepConfig

CHIEF_ID = "chief"  # KerasTuner treats any tuner id containing "chief" as the chief
LOG_DIR = "logs"
_WORKER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


# --- Roles --------------------------------------------------------------------------


@dataclass(frozen=True)
class Role:
    """One process's part in a distributed sweep."""

    kind: str  # "chief" or "worker"
    host: str  # as given; "[::1]" keeps its brackets (gRPC wants them)
    port: int
    tuner_id: str

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def is_chief(self) -> bool:
        return self.kind == "chief"

    def env(self) -> dict[str, str]:
        """KerasTuner's environment variables for this role."""
        return {
            "KERASTUNER_TUNER_ID": self.tuner_id,
            "KERASTUNER_ORACLE_IP": self.host,
            "KERASTUNER_ORACLE_PORT": str(self.port),
        }


def parse_address(text: str) -> tuple[str, int]:
    """'HOST:PORT' (or '[IPv6]:PORT') -> (host, port).

    Raises:
        ConfigError: not of that form, or the port is not in 1..65535.
    """
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"--oracle: expected HOST:PORT with a port in 1..65535, got {text!r}")
    if ":" in host and not (host.startswith("[") and host.endswith("]")):
        raise ConfigError(f"--oracle: write an IPv6 address in brackets, e.g. [::1]:{port}, got {text!r}")
    return host, int(port)


def role_from_flags(workers: int | None, role: str | None, oracle: str | None,
                    worker_id: str | None, overwrite: bool = False) -> Role | None:
    """Checks the distribution flags of `sweep run` together; None for a plain run.

    Raises:
        ConfigError: flags that do not go together, or a bad address or worker id.
    """
    if workers is not None and (role or oracle or worker_id):
        raise ConfigError("--workers starts its own chief and workers; leave out --role, --oracle "
                          "and --worker-id")
    if role is None:
        if oracle or worker_id:
            raise ConfigError("--oracle and --worker-id need --role chief or --role worker")
        return None
    if not oracle:
        raise ConfigError(f"--role {role} needs --oracle HOST:PORT (the chief's address)")
    host, port = parse_address(oracle)
    if role == "chief":
        if worker_id:
            raise ConfigError("--worker-id is for --role worker (the chief's id is 'chief')")
        return Role("chief", host, port, CHIEF_ID)
    if not worker_id:
        raise ConfigError("--role worker needs --worker-id ID, unique per worker (e.g. worker0)")
    if not _WORKER_ID.fullmatch(worker_id) or CHIEF_ID in worker_id.lower():
        raise ConfigError(f"--worker-id: expected letters, digits, '.', '_' or '-' (at most 64, "
                          f"and not containing 'chief'), got {worker_id!r}")
    if overwrite:
        raise ConfigError("--overwrite is for the chief: a worker must not delete the run folder")
    return Role("worker", host, port, worker_id)


def apply_role(role: Role) -> None:
    """Sets KerasTuner's environment for `role`; a chief first checks that it can listen.

    Call before the tuner is made (KerasTuner reads the variables when it is built
    and when the search starts).
    """
    if role.is_chief:
        check_port_free(role.host, role.port)
    os.environ.update(role.env())


def check_port_free(host: str, port: int) -> None:
    """Raises ConfigError when nothing could listen on host:port (in use, or not this host).

    gRPC itself would not tell: it listens with SO_REUSEPORT, so a second chief on the
    same port starts and the kernel shares the workers out between the two oracles.
    """
    bare = host.strip("[]")
    try:
        family, *_, address = socket.getaddrinfo(bare, port, type=socket.SOCK_STREAM,
                                                 flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as e:
        raise ConfigError(f"--oracle: cannot resolve host {bare!r} ({e.strerror})") from None
    with socket.socket(family, socket.SOCK_STREAM) as s:
        # Not SO_REUSEPORT (so a live listener is found), but SO_REUSEADDR, so that a
        # port a finished chief left in TIME_WAIT is not taken for a busy one.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError as e:
            hint = ("another chief (or program) is listening there; choose another port"
                    if e.errno == 98 else "the chief must run on that host (or listen on 0.0.0.0)")
            raise ConfigError(f"--oracle {host}:{port}: cannot listen there ({e.strerror}); {hint}") from None


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def is_rpc_error(error: BaseException) -> bool:
    """Whether `error` is a failed gRPC call (the chief gone, or it raised)."""
    try:
        import grpc
    except ImportError:
        return False
    return isinstance(error, grpc.RpcError)


def rpc_reason(error: BaseException) -> str:
    """A gRPC error in one line: its code and the last line of its details."""
    code = getattr(error, "code", lambda: None)()
    details = (getattr(error, "details", lambda: "")() or "").strip().splitlines()
    return f"{getattr(code, 'name', code)}: {details[-1] if details else error}"


# --- The run folder, shared ---------------------------------------------------------


def check_worker_run_dir(cfg: SweepConfig, run_dir: Path) -> None:
    """Refuses to work for a chief whose saved space differs from this worker's.

    Only when the chief has already saved it; a worker started first waits for the
    chief anyway (KerasTuner's client waits until the oracle answers).
    """
    # The chief's max_trials is the one that counts (it is left out of the comparison).
    diffs = tuning.saved_space_diffs(cfg, run_dir)
    if diffs:
        raise ConfigError(f"{run_dir} holds a sweep of a different space than this worker's "
                          f"(differs in {', '.join(diffs[:4])}); give workers the chief's space and flags")


def adopt_tuner_state(tuner_dir: Path, tuner_id: str) -> None:
    """Lets a resumed sweep keep its trials when its tuner id changed.

    KerasTuner reloads the oracle only when `<tuner_id>.json` exists, so a sweep begun
    on one machine (`tuner0`) and resumed with a chief (`chief`), or the other way
    round, would start a fresh oracle and reuse the old trial ids. Copying the old
    tuner's state file under the new id makes it reload instead.
    """
    tuner_dir = Path(tuner_dir)
    target = tuner_dir / f"{tuner_id}.json"
    if target.exists() or not (tuner_dir / "oracle.json").exists():
        return
    others = sorted(p for p in tuner_dir.glob("*.json") if p.name != "oracle.json")
    if others:
        shutil.copyfile(others[0], target)


@contextlib.contextmanager
def polling(callback: Callable[[], None], every: float = 2.0) -> Iterator[None]:
    """Calls `callback` every `every` seconds in a thread while the block runs.

    The chief's `tuner.search` only serves the oracle (the trials end in the workers),
    so this is how it keeps trials.csv current and prints each trial as it ends.
    """
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every):
            try:
                callback()
            except Exception:  # a file caught mid-write by a worker: next round
                pass

    thread = threading.Thread(target=loop, name="sweep-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


# --- One machine, several workers ---------------------------------------------------


def visible_gpus() -> list[str]:
    """The GPUs workers may share out: CUDA_VISIBLE_DEVICES if set, else nvidia-smi's."""
    given = os.environ.get("CUDA_VISIBLE_DEVICES")
    if given is not None:
        return [g.strip() for g in given.split(",") if g.strip() and g.strip() != "-1"]
    smi = shutil.which("nvidia-smi")
    if not smi:
        return []
    try:
        out = subprocess.run([smi, "--query-gpu=index", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def child_argv(argv: list[str]) -> list[str]:
    """The `sweep` arguments (`run SPACE ...`) without `--workers N`, for the processes."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--workers":
            skip = True
        elif not arg.startswith("--workers="):
            out.append(arg)
    return out


def device_env(index: int | None, gpus: list[str], workers: int) -> dict[str, str]:
    """CUDA_VISIBLE_DEVICES for worker `index` (None: the chief), round-robin over `gpus`."""
    if not gpus:
        return {}
    env = {"CUDA_VISIBLE_DEVICES": gpus[0 if index is None else index % len(gpus)]}
    if index is None or workers > len(gpus):
        # The chief only evaluates at the end, and workers sharing a GPU must not each
        # take all its memory (TF's default).
        env["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"
    return env


def _default_sigint() -> None:
    """In a child, before exec: SIGINT back to its default action.

    A launcher started in the background (`sweep run ... &`, nohup) has SIGINT ignored, and
    children inherit that; the chief would then sit through its stop request.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@dataclass
class _Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path | None = None
    proc: subprocess.Popen | None = None
    restarts: int = 0
    rc: int | None = None  # final exit status, once it is done for good

    def start(self) -> None:
        env = {**os.environ, **self.env}
        if self.log is None:
            self.proc = subprocess.Popen(self.argv, env=env, start_new_session=True,
                                         preexec_fn=_default_sigint)
            return
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            # Own session: a Ctrl-C reaches only the launcher, which passes it on once.
            self.proc = subprocess.Popen(self.argv, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         preexec_fn=_default_sigint)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int) -> None:
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)


def _describe(rc: int) -> str:
    if rc < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-rc).name}"
    return f"exited with status {rc}"


def _tail(path: Path | None, lines: int = 5) -> str:
    if path is None or not path.exists():
        return ""
    text = path.read_text(errors="replace").strip().splitlines()[-lines:]
    return "".join(f"\n    {line}" for line in text)


def launch_local(argv: list[str], workers: int, run_dir: Path, *, max_restarts: int = 2,
                 grace: float = 30.0, python: str = sys.executable) -> int:
    """Runs a chief and `workers` workers on loopback for one sweep; returns the exit status.

    The chief is started first and the workers once it listens (so a chief given
    --overwrite has cleared the run folder before a worker writes in it). A worker
    killed by a signal is started again under the same id, up to `max_restarts` times
    (it then resumes its trial); a worker that exits with an error is not.

    Args:
        argv: the `sweep` arguments (`run SPACE ...`), `--workers N` left out or not.
        workers: how many workers.
        run_dir: the run folder (for the workers' logs).
        max_restarts: restarts allowed per worker id.
        grace: seconds children get to stop after a Ctrl-C before they are killed.
        python: the interpreter for the children.

    Returns:
        0 when the chief finished the sweep and every worker exited 0; the chief's status
        when it failed; 1 when a worker failed for good; 130 when interrupted.
    """
    base = [python, "-m", "sweep", *child_argv(argv)]
    port = free_port()
    address = f"127.0.0.1:{port}"
    gpus = visible_gpus()
    chief = _Child(CHIEF_ID, base + ["--role", "chief", "--oracle", address],
                   device_env(None, gpus, workers))
    worker_argv = [a for a in base if a != "--overwrite"]
    crew = [
        _Child(f"worker{i}",
               worker_argv + ["--role", "worker", "--oracle", address, "--worker-id", f"worker{i}"],
               device_env(i, gpus, workers), log=Path(run_dir) / LOG_DIR / f"worker{i}.log")
        for i in range(workers)
    ]
    everyone = [chief, *crew]
    interrupts = 0

    def on_signal(signum, frame) -> None:
        nonlocal interrupts
        interrupts += 1
        for child in everyone:
            child.signal(signal.SIGINT if interrupts == 1 else signal.SIGKILL)

    handlers = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        chief.start()
        while chief.running and not interrupts and not _listening(port):
            time.sleep(0.3)
        if not chief.running:  # its own error is on the console already
            return chief.proc.returncode if chief.proc.returncode >= 0 else 1
        if not interrupts:
            for w in crew:
                w.start()
            where = f" on GPUs {','.join(gpus)}" if gpus else ""
            print(f"Chief listening on {address}; started {workers} workers{where} "
                  f"(logs: {Path(run_dir) / LOG_DIR}/)", flush=True)
        return _supervise(chief, crew, max_restarts, grace, lambda: interrupts)
    finally:
        for child in everyone:  # nothing is left behind, whatever happened
            child.signal(signal.SIGKILL)
            if child.proc is not None:
                child.proc.wait()
        for s, h in handlers.items():
            signal.signal(s, h)


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def _supervise(chief: _Child, crew: list[_Child], max_restarts: int, grace: float,
               interrupted: Callable[[], int]) -> int:
    """Waits for the chief and workers, restarting killed workers; returns the exit status."""
    deadline: float | None = None  # when whatever still runs gets killed
    gave_up = False
    while True:
        for w in crew:
            if w.rc is not None or w.proc is None or w.running:
                continue
            rc = w.proc.returncode
            if rc < 0 and not interrupted() and chief.running and w.restarts < max_restarts:
                w.restarts += 1
                print(f"sweep: {w.name} {_describe(rc)}; starting it again under the same id to "
                      f"finish its trial (restart {w.restarts} of {max_restarts})", flush=True)
                w.start()
                continue
            w.rc = rc
            if rc != 0 and not interrupted():
                print(f"sweep: {w.name} {_describe(rc)}; see {w.log}{_tail(w.log)}",
                      file=sys.stderr, flush=True)
        workers_done = all(w.rc is not None or w.proc is None for w in crew)
        if not chief.running and workers_done:
            break
        if deadline is None:
            if interrupted() or not chief.running:
                # Stopping (Ctrl-C, already passed on), or the chief is done and the
                # workers, told to stop by its oracle, are exiting.
                deadline = time.monotonic() + grace
            elif workers_done and any(w.rc for w in crew):
                # A worker is gone for good: its trial stays "ongoing" in the oracle,
                # and the chief would wait for it for ever.
                print("sweep: stopping the chief, as a worker failed; run the same command "
                      "again to resume (KerasTuner re-runs the unfinished trial)",
                      file=sys.stderr, flush=True)
                chief.signal(signal.SIGINT)
                gave_up = True
                deadline = time.monotonic() + grace
        elif time.monotonic() > deadline:
            for child in (chief, *crew):
                child.signal(signal.SIGKILL)
        time.sleep(0.3)
    if interrupted():
        return 130
    if gave_up or any(w.rc for w in crew):
        return 1
    rc = chief.proc.returncode
    return rc if rc >= 0 else 1  # killed by a signal
