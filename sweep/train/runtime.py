"""The process a sweep runs in: seeds (a trial's too) and devices, memory probes, and Ctrl-C that
is never lost."""

from __future__ import annotations

from pathlib import Path

from sweep.space.config import MAX_SEED


def trial_seed(seed: int, trial_id: str) -> int:
    """The seed of one trial: the sweep's seed + the trial's number, within NumPy's range.

    The search seeds each trial with it, and an export's refit retrains with the same.
    """
    number = int(trial_id) if str(trial_id).isdigit() else 0
    return (seed + number) % (MAX_SEED + 1)


def configure_runtime(seed: int, mixed_precision: bool) -> None:
    """Seeds Python, NumPy and TF; deterministic ops on CPU; mixed precision on request."""
    import warnings

    import keras
    import tensorflow as tf

    # Expected with bucketed tf.data input (unknown length, shuffled upstream) and when
    # a checkpoint is loaded for evaluation without its optimizer.
    for message in ("`shuffle=True` was passed", "Your input ran out of data",
                    "Skipping variable loading for optimizer"):
        warnings.filterwarnings("ignore", message=message)

    keras.utils.set_random_seed(seed)
    if not tf.config.list_physical_devices("GPU"):
        # Same seed, same metrics on CPU. (On GPU cuDNN's RNN kernels are not
        # deterministic, and we want those kernels.)
        tf.config.experimental.enable_op_determinism()
    # Set either way: a Python session (sweep.run in a notebook) may run several sweeps.
    keras.mixed_precision.set_global_policy("mixed_float16" if mixed_precision else "float32")


def peak_rss_reset() -> None:
    """Resets the kernel's resident-memory high-water mark (VmHWM) for this process."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_mb() -> float | None:
    """Peak resident memory since the last reset, in MiB (Linux); None elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


class CtrlC:
    """SIGINT raises KeyboardInterrupt as usual, and is also remembered.

    Python raises it wherever the interpreter happens to be; inside a weakref callback
    or a `__del__` (frequent while Keras and TensorFlow free objects) it is printed as
    "Exception ignored" and lost, and the sweep would run on. The tuner raises it
    again at its next batch or trial boundary (`check`).
    """

    requested = False

    @classmethod
    def handler(cls, signum, frame):
        cls.requested = True
        raise KeyboardInterrupt

    @classmethod
    def check(cls) -> None:
        if cls.requested:
            raise KeyboardInterrupt
