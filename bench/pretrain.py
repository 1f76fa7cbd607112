"""What `embedding_init: lm` buys, and at what cost: fine-tuned test accuracy against epochs of
language-model pretraining, beside the same network from a random start.

For each E in --lm-epochs (ascending), one whole `sweep run` process of
search_spaces/imdb_pretrained.yaml's network with `pretrain.epochs: E` and the fine-tuning
fixed at the recipe's first `tuner.start_from` point (one trial); then the same network
from a random start (E = 0, no head-alone epoch). One LM cache (WORK/cache) serves every
point: E = 2 trains on from E = 1's cached LM, so the pretraining is paid once and a point's
pretraining cost is the sum of its epochs' seconds (RUN/pretrain.csv). Each point's trial is
scored once on test, as every sweep's winner is (the whole test split unless --limit-eval).
Points already in WORK are read, not run again (unless --fresh): `--lm-epochs 1,2,4,8` after
`1,2,4` costs 4 epochs and one trial. `--hidden N`, `--lm-window N`, `--lm-decay F`,
`--epochs N`, `--lr F` and `--unfreeze layerwise` measure another network (GRU-N, classifier
and LM), LM windows of N tokens (the batch stays, so an epoch has fewer, longer steps), an LM
rate multiplied by F each epoch (`pretrain.lr_decay`), N fine-tuning epochs at most
(`tuner.epochs`), a fine-tuning rate of F or the encoder unfrozen a layer an epoch
(`pretrain.unfreeze`), as points of their own, named by how they differ from the first
curve's GRU-256 with windows of 64 at a constant rate, fine-tuned at 0.001 for up to 4 epochs
(lm-4-h512, lm-4-w256, lm-4-d0.5, lm-4-h512-ft2, lm-4-h512-lr0.0005-adamown).
Since the encoder's Adam counts its own steps from its unfreezing (sweep/model/training.py's
EncoderAdam; before, Keras' global count mis-scaled its first whole-network epoch), every new
point is "-adamown": the points measured before stay in the table as they were measured.

    python bench/pretrain.py [--lm-epochs 1,2,4] [--epochs N] [--hidden N] [--lm-window N] [--lm-decay F]
        [--lr F] [--unfreeze layerwise] [--limit-train N] [--limit-eval N]
        [--work results/bench_pretrain] [--out docs/img/pretrain] [--fresh] [--no-random]

Writes OUT/pretrain_curve.csv (a row per point WORK holds, this call's and earlier ones'),
OUT/pretrain_curve.png (a line per network, window and decay) and prints the markdown table for
docs/imdb-experiments.md. The run folders stay under WORK, so
`sweep confirm WORK/runs/lm-E --top 1 --seeds 3` (with RNN_SWEEP_CACHE=WORK/cache) repeats a
point over seeds. On the 2-core development VM, with the recipe's GRU-512, a pretraining
epoch is about 16 minutes and a point's trial about 13; `--hidden 256` (the first curve:
1, 2 and 4 epochs and the random start) took 46 minutes, and 8 epochs 33 more;
`--limit-train 2000 --limit-eval 1000 --lm-epochs 1` is the small setting.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "search_spaces" / "imdb_pretrained.yaml"
# The first curve's network, LM and fine-tuning (GRU-256, windows of 64, a constant rate, 4
# epochs at 0.001, the encoder unfrozen at once): point names say how a point differs from it
# (lm-4-h512, lm-4-h512-ft2), and points measured before a column existed had it.
REFERENCE = {"hidden_units": 256, "lm_window": 64, "lm_decay": 1.0, "epochs": 4, "learning_rate": 0.001,
             "unfreeze": "together", "encoder_adam": "global"}
TAGS = {"hidden_units": "h", "lm_window": "w", "lm_decay": "d", "epochs": "ft", "learning_rate": "lr",
        "unfreeze": "u", "encoder_adam": "adam"}
# Whose step count the encoder's Adam corrects its bias by when it unfreezes: its own since
# EncoderAdam's fix, Keras' global one ("global") in the points measured before it.
ENCODER_ADAM = "own"


def _space(lm_epochs: int, args: argparse.Namespace) -> dict:
    """The recipe with its fine-tuning search held at its first start point: only the start changes
    (and the GRU's width, the LM's windows or its rate's decay: --hidden, --lm-window, --lm-decay)."""
    space = yaml.safe_load(RECIPE.read_text())
    epochs = args.epochs or space["tuner"]["epochs"]
    fine_tuning = space["tuner"].pop("start_from")[0]  # the first: every point's fine-tuning
    space["tuner"].pop("pruning", None)  # one trial: nothing to prune
    space["tuner"].update(algorithm="grid", max_trials=1, epochs=epochs)
    space["hyperparameters"].update(fine_tuning, embedding_init="lm" if lm_epochs else "random")
    space["pretrain"]["epochs"] = max(lm_epochs, 1)  # unused from a random start
    if args.lm_window:  # the batch stays: smaller ones leave the CPU idle between time steps
        space["pretrain"]["sequence_length"] = args.lm_window
    if args.lm_decay:
        space["pretrain"]["lr_decay"] = args.lm_decay
    if args.hidden:  # the LM's and the classifier's GRU: one network
        space["hyperparameters"]["hidden_units"] = args.hidden
    if args.lr:
        space["hyperparameters"]["learning_rate"] = args.lr
    if args.unfreeze:
        space["pretrain"]["unfreeze"] = args.unfreeze
    return space


def _point(lm_epochs: int, args: argparse.Namespace) -> dict:
    """One `sweep run` process; its figures from the run folder it leaves (WORK/NAME.json:
    kept, so that a later call with more --lm-epochs measures only the new points)."""
    space = _space(lm_epochs, args)
    shape = {"hidden_units": space["hyperparameters"]["hidden_units"],
             "lm_window": space["pretrain"]["sequence_length"],
             "lm_decay": space["pretrain"].get("lr_decay", 1.0), "epochs": space["tuner"]["epochs"],
             "learning_rate": space["hyperparameters"]["learning_rate"],
             "unfreeze": space["pretrain"].get("unfreeze", "together"), "encoder_adam": ENCODER_ADAM}
    named = shape if lm_epochs else {k: shape[k] for k in ("hidden_units", "epochs", "learning_rate")}
    variant = "".join(f"-{TAGS[k]}{v:g}" if isinstance(v, (int, float)) else f"-{TAGS[k]}{v}"
                      for k, v in named.items() if v != REFERENCE[k])
    name = f"lm-{lm_epochs}{variant}" if lm_epochs else f"random{variant}"
    figures = args.work / f"{name}.json"
    if figures.exists() and not args.fresh:
        print(f"{name}: measured before ({figures}); --fresh measures it again", flush=True)
        return json.loads(figures.read_text())
    space_file = args.work / f"{name}.yaml"
    space_file.parent.mkdir(parents=True, exist_ok=True)
    space_file.write_text(yaml.safe_dump(space, sort_keys=False))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT),
               RNN_SWEEP_CACHE=str(args.work / "cache"))
    cmd = [sys.executable, "-m", "sweep", "run", str(space_file), "--results-dir", str(args.work / "runs"),
           "--name", name, "--overwrite"]
    cmd += ["--limit-train", str(args.limit_train)] if args.limit_train else []
    cmd += ["--limit-eval", str(args.limit_eval)] if args.limit_eval else []
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True)
    row = _figures(args.work / "runs" / name, lm_epochs, shape, round(time.perf_counter() - start, 1))
    text = json.dumps(row)
    figures.write_text(text)
    print(text, flush=True)
    return row


def _figures(run: Path, lm_epochs: int, shape: dict, wall: float | None) -> dict:
    """A point's row, read from the run folder its `sweep run` left (`wall`: that process's seconds)."""
    trial = pd.read_csv(run / "trials.csv").iloc[0]
    test = json.loads((run / "test.json").read_text())
    row = {"start": "language model" if lm_epochs else "random", "lm_epochs": lm_epochs,
           "hidden_units": shape["hidden_units"], "lm_window": shape["lm_window"] if lm_epochs else None,
           "lm_decay": shape["lm_decay"] if lm_epochs else None, "epochs": shape["epochs"],
           "perplexity": None, "pretrain_seconds": 0.0, "val_accuracy": float(trial["val_accuracy"]),
           "best_epoch": int(trial["best_epoch"]), "test_accuracy": test["test_accuracy"],
           "test_examples": test["test_examples"], "finetune_seconds": float(trial["seconds"]),
           "process_seconds": wall, "learning_rate": shape["learning_rate"],
           "unfreeze": shape["unfreeze"] if lm_epochs else None,
           "encoder_adam": shape["encoder_adam"] if lm_epochs else None}
    if lm_epochs:
        lm = pd.read_csv(run / "pretrain.csv")
        row.update(perplexity=float(lm.perplexity.iloc[-1]),
                   pretrain_seconds=round(float(lm.seconds.sum()), 1))
    return row


def _plot(table: pd.DataFrame, baseline: float | None, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lm = table[table.lm_epochs > 0]
    fig, ax = plt.subplots(figsize=(7, 6.4))
    lines = lm.groupby(list(REFERENCE))
    named = set()  # an LM's label once, where other fine-tuning of it lies on top
    for (hidden, window, decay, epochs, lr, unfreeze, adam), series in lines:
        first = (hidden, window, decay, epochs, lr, unfreeze, adam) == tuple(REFERENCE.values())
        rate = f", rate x {decay:g} an epoch" if decay != 1 else ""
        tuned = f", {epochs:.0f} fine-tuning epochs" if epochs != REFERENCE["epochs"] else ""
        tuned += f", fine-tuned at {lr:g}" if lr != REFERENCE["learning_rate"] else ""
        tuned += f", unfrozen {unfreeze}" if unfreeze != REFERENCE["unfreeze"] else ""
        tuned += ", the encoder's Adam afresh" if adam == ENCODER_ADAM else ""
        ax.plot(series.pretrain_seconds / 60, series.test_accuracy, "o-",
                label=f"language model: GRU-{hidden:.0f}, windows of {window:.0f}{rate}{tuned}")
        for _, r in series.iterrows():  # the first curve's labels below it, the others' above
            if (hidden, window, decay, r.lm_epochs) in named:
                continue
            named.add((hidden, window, decay, r.lm_epochs))
            ax.annotate(f"{r.lm_epochs} ep, ppl {r.perplexity:.0f}",
                        (r.pretrain_seconds / 60, r.test_accuracy), textcoords="offset points",
                        xytext=(4, -12 if first else 5), fontsize=8)
    random = table[table.lm_epochs == 0]
    for _, r in random.iterrows():
        ax.axhline(r.test_accuracy, color="grey", ls="--", label="random start")
    if baseline is not None:
        ax.axhline(baseline, color="black", ls=":", label="linear baseline (TF-IDF + logistic regression)")
    ax.set_xscale("log", base=2)  # a doubling of the pretraining, a step
    minutes = sorted(set(lm.pretrain_seconds / 60))
    ax.set_xticks(minutes, [f"{m:.0f}" for m in minutes])
    ax.minorticks_off()
    ax.set(xlabel="language-model pretraining (minutes, this machine)", ylabel="test accuracy",
           title="Fine-tuned from a language model, by pretraining")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize=8)  # below: the points stay clear
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")  # the legend below, whole


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lm-epochs", default="1,2,4", help="comma-separated, e.g. 1,2,4")
    ap.add_argument("--epochs", type=int, default=0,
                    help="fine-tuning epochs at most, the first the head's alone (0: the recipe's)")
    ap.add_argument("--limit-train", type=int, default=0, help="0: the whole training part")
    ap.add_argument("--limit-eval", type=int, default=0, help="0: the whole validation and test splits")
    ap.add_argument("--lm-window", type=int, default=0,
                    help="LM windows of this many tokens (0: the recipe's)")
    ap.add_argument("--hidden", type=int, default=0, help="GRU units (0: the recipe's)")
    ap.add_argument("--lm-decay", type=float, default=0.0,
                    help="the LM's pretrain.lr_decay (0: the recipe's)")
    ap.add_argument("--lr", type=float, default=0.0,
                    help="the fine-tuning learning rate (0: the recipe's first point's)")
    ap.add_argument("--unfreeze", choices=["together", "layerwise"], default=None,
                    help="the encoder unfrozen at once or a layer an epoch (pretrain.unfreeze; "
                         "default: the recipe's)")
    ap.add_argument("--no-random", action="store_true", help="leave out the random-start point")
    ap.add_argument("--fresh", action="store_true", help="measure again the points WORK already holds")
    ap.add_argument("--work", type=Path, default=ROOT / "results" / "bench_pretrain")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "pretrain")
    args = ap.parse_args()

    points = sorted(int(e) for e in args.lm_epochs.split(","))
    for e in points:
        _point(e, args)
    if not args.no_random:
        _point(0, args)
    # Every point WORK holds, this call's and earlier ones' (other windows too): one curve.
    table = pd.DataFrame([json.loads(f.read_text()) for f in sorted(args.work.glob("*.json"))])
    for column, value in REFERENCE.items():
        if column not in table:  # points measured before it was a column
            table[column] = None
        table[column] = table[column].fillna(value)
    table.loc[table.lm_epochs == 0, ["lm_window", "lm_decay", "unfreeze", "encoder_adam"]] = None
    # Each LM's rows: the first curve's fine-tuning, then the fewest changes to it first.
    tuning = ["epochs", "learning_rate", "unfreeze", "encoder_adam"]
    table["changes"] = table[tuning].ne(pd.Series({k: REFERENCE[k] for k in tuning})).sum(axis=1)
    table = table.sort_values(["hidden_units", "lm_window", "lm_decay", "changes", *tuning, "lm_epochs"],
                              ascending=[True, True, False, True, False, False, True, True, True],
                              na_position="last").drop(columns="changes")
    table = table.reset_index(drop=True)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "pretrain_curve.csv", index=False)
    some_run = next((args.work / "runs").glob("*/test.json"))  # all the same splits
    baseline = json.loads(some_run.read_text()).get("baseline") or {}
    _plot(table, baseline.get("test_accuracy"), args.out / "pretrain_curve.png")
    print(f"\n{platform.node()} ({os.cpu_count()} CPUs); limit_train {args.limit_train or 'none'}, "
          f"test examples {table.test_examples.iloc[0]}; linear baseline on the same splits: "
          f"{baseline.get('test_accuracy')}\n")
    print("| start | GRU | LM windows | LM rate decay | LM epochs | held-out perplexity | pretraining | "
          "fine-tuning epochs | rate | unfreezing | encoder's Adam | validation accuracy | test accuracy "
          "| fine-tuning |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in table.itertuples():
        ppl = f"{r.perplexity:.1f}" if r.lm_epochs else "-"
        window = f"{r.lm_window:.0f}" if r.lm_epochs else "-"
        decay = f"{r.lm_decay:g}" if r.lm_epochs else "-"
        minutes = f"{r.pretrain_seconds / 60:.1f} min" if r.lm_epochs else "-"
        print(f"| {r.start} | {r.hidden_units:.0f} | {window} | {decay} | {r.lm_epochs or '-'} | {ppl} | "
              f"{minutes} | {r.epochs:.0f} | {r.learning_rate:g} | {r.unfreeze if r.lm_epochs else '-'} | "
              f"{r.encoder_adam if r.lm_epochs else '-'} | {r.val_accuracy:.4f} (epoch {r.best_epoch}) | "
              f"{r.test_accuracy:.4f} | {r.finetune_seconds / 60:.1f} min |")


if __name__ == "__main__":
    main()
