"""`sweep predict MODEL [TEXT ...]`: class probabilities for new text, as CSV."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sweep.cli import common
from sweep.errors import UsageError
from sweep.rundir import owned, writes

NAME = "predict"


def add_parser(sub) -> argparse.ArgumentParser:
    p = common.command(sub, NAME, run, help="class probabilities for new text from an export or a run",
                       description="""
        MODEL is an export folder or a run folder (its best trial's export, made if missing).
        Writes CSV: row, predicted, prob_<class> per class, in input order.""")
    p.add_argument("model", help="an export folder, or a run folder")
    p.add_argument("texts", nargs="*", metavar="TEXT", help="texts to classify ('-' reads standard input)")
    p.add_argument("--input", metavar="FILE",
                   help="a .csv (text column found by name, or --text-column) or a file of one text per line")
    p.add_argument("--text-column", metavar="C", help="the CSV's text column(s), comma-separated")
    p.add_argument("--output", metavar="FILE", help="write the CSV here (default: standard output)")
    p.add_argument("--force", action="store_true",
                   help="let --output replace a file that sweep did not write (never a run's own)")
    p.add_argument("--batch-size", type=common.positive_int, default=256, metavar="N",
                   help="texts per network call (default 256)")
    return p


def run(args: argparse.Namespace) -> int:
    from sweep.serve import predict

    source = args.input
    if "-" in args.texts and len(args.texts) > 1:
        raise UsageError("predict: '-' reads the texts from standard input; give it alone")
    if args.texts == ["-"] and source is None:
        source = "-"
    elif args.texts and source is not None:
        raise UsageError("predict: give texts or --input, not both")
    elif not args.texts and source is None:
        raise UsageError("predict: give texts, --input FILE, or - for standard input")
    if args.output:
        owned.check_output_file(Path(args.output), {"--input": source, "MODEL": args.model})
        writes.check_file(Path(args.output), writes.PREDICTIONS, "--output", force=args.force)
    texts = predict.read_texts([] if source else args.texts, source, args.text_column)
    with common.native_stderr_hidden(True), \
            predict.resolve_model(Path(args.model), common.say_stderr) as folder:
        table = predict.predict_table(folder, texts, args.batch_size, show_progress=sys.stderr.isatty())
    table = predict.spreadsheet_safe(table)  # a class name such as =HYPERLINK(...) opens as text
    if args.output:
        try:
            writes.save_output(Path(args.output), writes.PREDICTIONS, writes.text(table.to_csv(index=False)),
                               "--output", args.force)
        except OSError as e:
            raise UsageError(f"--output {args.output}: cannot write it ({e.strerror}); "
                             "give another --output") from None
    else:
        table.to_csv(sys.stdout, index=False)
    return common.EXIT_OK
