"""The run folder: its layout, its one way of writing files, its status and saved space.

Only this package deletes, renames or replaces files. It imports no TensorFlow, so reports
and plots work on a folder copied from elsewhere.

    layout    every file name in a run folder and an export folder (RunDir, ExportDir)
    atomic    whole-or-nothing, durable writes; tolerant JSON reads
    status    status.json: running|finished|interrupted|failed and the heartbeat
    saved     the saved space (config.yaml) and class names, read back
    resume    whether a folder resumes or may be replaced; making it ready
    legacy    what runs made by older versions lack, filled in
    lock      who runs the sweep (the lock file)
    owned     the delete rule: what a command may remove or replace (only what it made)
    writes    the write rule: what a command may write over (only what it wrote), and the
              writers that check it at each write (the only ones used outside this package)

May import: `sweep.space`, `sweep.errors`.
"""

from sweep.rundir.atomic import fsync_tree, read_csv, read_json, save_atomic, write_atomic, write_json
from sweep.rundir.layout import TUNER_PROJECT, ExportDir, LMCache, RunDir, as_run
from sweep.rundir.resume import (
    RESUMABLE_CHANGES,
    check_overwritable,
    check_resumable,
    check_tuner_state,
    keep_saved_standardization,
    prepare,
    saved_space_diffs,
)
from sweep.rundir.saved import check_is_run, class_names, load_config
from sweep.rundir.status import HEARTBEAT_SECONDS, STALE_AFTER, STATES, pid_alive, run_state, write_status

__all__ = [
    "HEARTBEAT_SECONDS", "RESUMABLE_CHANGES", "STALE_AFTER", "STATES", "TUNER_PROJECT",
    "ExportDir", "LMCache", "RunDir", "as_run", "check_is_run", "check_overwritable", "check_resumable",
    "check_tuner_state", "class_names", "fsync_tree", "keep_saved_standardization", "load_config",
    "pid_alive", "prepare", "read_csv", "read_json", "run_state", "save_atomic", "saved_space_diffs",
    "write_atomic", "write_json", "write_status",
]
