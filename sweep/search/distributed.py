"""Sweeps over several processes or machines, on KerasTuner's own distributed oracle.

KerasTuner runs one *chief* that serves the oracle over gRPC and any number of *workers*
that ask it for trials, train them and report back; each process learns its part from
three environment variables (KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP,
KERASTUNER_ORACLE_PORT). This module only sets those and checks what KerasTuner does
not; `sweep.search.launcher` starts a chief and N workers on one machine (`--workers N`).

What KerasTuner leaves open, and what is done about it here:
- gRPC listens with SO_REUSEPORT, so a second chief on a busy port starts silently and
  splits the workers between two oracles: `check_port_free` refuses that port first.
- A worker that dies mid-trial leaves its trial in the oracle's `ongoing_trials`, and the
  chief waits for it for ever. The oracle hands a known tuner id its ongoing trial
  again, so the launcher restarts a killed worker under the same id: the replacement
  re-runs that trial and the sweep finishes. (Across machines, restart it by hand.)
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sweep import rundir
from sweep.errors import ConfigError
from sweep.rundir import RunDir, writes
from sweep.space.config import SweepConfig

CHIEF_ID = "chief"  # KerasTuner treats any tuner id containing "chief" as the chief
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


def check_worker_run_dir(cfg: SweepConfig, run: RunDir) -> None:
    """Refuses to work for a chief whose saved space differs from this worker's.

    Only when the chief has already saved it; a worker started first waits for the
    chief anyway (KerasTuner's client waits until the oracle answers).
    """
    # The chief's max_trials is the one that counts (it is left out of the comparison).
    diffs = rundir.saved_space_diffs(cfg, run)
    if diffs:
        raise ConfigError(f"{run} holds a sweep of a different space than this worker's "
                          f"(differs in {', '.join(diffs[:4])}); give workers the chief's space and flags")


def adopt_tuner_state(run: RunDir, tuner_id: str) -> None:
    """Lets a resumed sweep keep its trials when its tuner id changed.

    KerasTuner reloads the oracle only when `<tuner_id>.json` exists, so a sweep begun
    on one machine (`tuner0`) and resumed with a chief (`chief`), or the other way
    round, would start a fresh oracle and reuse the old trial ids. Copying the old
    tuner's state file under the new id makes it reload instead.
    """
    target = run.tuner_state(tuner_id)
    if target.exists() or not run.oracle_json.exists():
        return
    others = sorted(p for p in run.tuner.glob("*.json") if p != run.oracle_json)
    if others:  # whole: a copy cut short would be a damaged oracle state for the next resume
        writes.save_run_file(run, target, lambda tmp: shutil.copyfile(others[0], tmp))


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


def gpu_note() -> str:
    """', CUDA_VISIBLE_DEVICES=...' when the launcher gave this process a GPU, else ''."""
    gpus = os.environ.get("CUDA_VISIBLE_DEVICES")
    return f", CUDA_VISIBLE_DEVICES={gpus}" if gpus is not None else ""


# --- The shared secret ----------------------------------------------------------------

SECRET_ENV = "SWEEP_ORACLE_SECRET"


def check_secret(run: RunDir, say: Callable[[str], None] = print) -> None:
    """Refuses a secret that would not protect the oracle, before any work (both roles).

    $SWEEP_ORACLE_SECRET or an existing RUN/oracle.secret must hold printable ASCII (gRPC
    metadata carries nothing else) and not be empty (an empty one turns the check off);
    a secret file that others may read is warned about.

    Raises:
        ConfigError: an empty, unreadable or non-ASCII secret.
    """
    env = os.environ.get(SECRET_ENV)
    if env is not None:
        _valid_secret(env, f"${SECRET_ENV}")
    elif run.oracle_secret.exists():
        _read_secret(run)
        mode = run.oracle_secret.stat().st_mode & 0o777
        if mode & 0o077:  # said here once; the roles read the file again without a word
            say(f"Warning: {run.oracle_secret} has mode {mode:o}: others can read the oracle's "
                "secret; chmod 600 it")


def _valid_secret(secret: str, where: str, hint: str = "put a secret there") -> str:
    secret = secret.strip()
    if not secret:
        raise ConfigError(f"{where}: empty, which would let anyone call the oracle; {hint}")
    if not (secret.isascii() and secret.isprintable()):
        raise ConfigError(f"{where}: use printable ASCII only (gRPC metadata carries nothing else), "
                          "e.g. the output of `openssl rand -hex 32`")
    return secret


def _read_secret(run: RunDir) -> str:
    path = run.oracle_secret
    try:
        text = path.read_bytes().decode("ascii", errors="replace")  # U+FFFD: refused as not ASCII
    except OSError as e:
        raise ConfigError(f"{path}: unreadable ({e.strerror})") from None
    return _valid_secret(text, str(path), "put a secret there, or delete the file and let the chief "
                                          "write one")


def secure_chief(run: RunDir) -> None:
    """Makes the chief's oracle answer only callers with the sweep's secret.

    The secret is $SWEEP_ORACLE_SECRET, else RUN/oracle.secret, made (mode 0600) when
    missing: workers that share the results folder read it there.

    Raises:
        ConfigError: the secret is empty, unreadable or not ASCII (`check_secret`).
    """
    from sweep.search import ktcompat

    secret = os.environ.get(SECRET_ENV)
    if secret is not None:
        secret = _valid_secret(secret, f"${SECRET_ENV}")
    else:
        if not run.oracle_secret.exists():
            made = secrets.token_hex(32)
            writes.save_run_file(run, run.oracle_secret, lambda tmp: _write_private(tmp, made))
        secret = _read_secret(run)
    ktcompat.require_oracle_secret(secret)


def secure_worker(run: RunDir, say: Callable[[str], None] = print, wait: float = 3600.0,
                  poll: float = 5.0) -> None:
    """Makes this worker send the sweep's secret; waits (saying so) for the chief to write it.

    Raises:
        ConfigError: the secret is empty, unreadable or not ASCII, or no chief wrote it
            within `wait` seconds.
    """
    from sweep.search import ktcompat

    secret = os.environ.get(SECRET_ENV)
    if secret is not None:
        secret = _valid_secret(secret, f"${SECRET_ENV}")
    else:
        deadline = time.monotonic() + wait
        if not run.oracle_secret.exists():
            say(f"Waiting for the chief to write {run.oracle_secret} (up to {wait:.0f} s; or set "
                f"{SECRET_ENV} on every process)")
        while not run.oracle_secret.exists():
            if time.monotonic() > deadline:
                raise ConfigError(f"no oracle secret: {run.oracle_secret} was not written by a chief "
                                  f"within {wait:.0f} s; start the chief, or set {SECRET_ENV} on every "
                                  "process")
            time.sleep(poll)
        secret = _read_secret(run)  # written whole (save_atomic): read once
    ktcompat.send_oracle_secret(secret)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


CHIEF_WAIT_ENV = "SWEEP_CHIEF_WAIT"  # seconds a worker waits for its chief's oracle
CHIEF_WAIT = 1800.0  # a chief loads its data before it listens: minutes on a large set


def wait_for_chief(role: Role, say: Callable[[str], None] = print, poll: float = 2.0) -> None:
    """Waits, saying so, until something listens at the chief's address.

    KerasTuner's client would wait for the oracle for an hour without a word.

    Raises:
        ConfigError: nothing listened there within `$SWEEP_CHIEF_WAIT` seconds (default 1800).
    """
    try:
        wait = float(os.environ.get(CHIEF_WAIT_ENV, CHIEF_WAIT))
    except ValueError:
        given = os.environ[CHIEF_WAIT_ENV]
        raise ConfigError(f"${CHIEF_WAIT_ENV}: expected seconds, got {given!r}") from None
    deadline = time.monotonic() + wait
    said = False
    while True:
        try:
            with socket.create_connection((role.host.strip("[]"), role.port), timeout=poll):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise ConfigError(f"no chief answered at {role.address} within {wait:.0f} s; start the chief "
                              f"(`sweep run SPACE --role chief --oracle {role.address}`) or check --oracle")
        if not said:
            say(f"Waiting for the chief's oracle at {role.address} (up to {wait:.0f} s; "
                f"${CHIEF_WAIT_ENV} sets how long)")
            said = True
        time.sleep(poll)
