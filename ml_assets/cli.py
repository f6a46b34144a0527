"""`pulseops ml ...`: the model library on CSV files, results as JSON on standard output.

pulseops ml churn-eval FILE.csv --id COL --label COL [--time COL]
pulseops ml detect FILE.csv --time COL --value COL [--series COL] [--sensitivity X]
"""

from __future__ import annotations

import argparse
import json
import sys


def _read_csv(path: str):
    import pandas as pd

    return pd.read_csv(path, low_memory=False)


def _print_json(value) -> None:
    json.dump(value, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def _usage_error(error: Exception) -> int:
    """A table that does not fit the command is the operator's to fix: say why, exit 2, no traceback."""
    print(f"pulseops ml: {error}", file=sys.stderr)
    return 2


def _missing_columns(frame, *columns) -> int | None:
    missing = [c for c in columns if c and c not in frame.columns]
    if missing:
        return _usage_error(ValueError(f"columns {missing} are not in the table (it has {', '.join(frame.columns)})"))
    return None


def cmd_churn_eval(args) -> int:
    frame = _read_csv(args.file)
    failed = _missing_columns(frame, args.id, args.label, args.time)
    if failed is not None:
        return failed
    from ml_assets.churn import ChurnParams, evaluate_churn

    params = ChurnParams(max_iter=args.max_iter, test_periods=args.test_periods, gap_periods=args.gap)
    try:
        metrics = evaluate_churn(frame, args.id, args.label, args.time, params, tuple(args.exclude))
    except ValueError as error:
        return _usage_error(error)
    _print_json(metrics)
    # The JSON holds them too; a person reading the terminal sees at once what the model did not read.
    for ignored in metrics["ignored_columns"]:
        print(f"pulseops ml: column {ignored['column']!r} not used: {ignored['reason']}", file=sys.stderr)
    return 0


def cmd_detect(args) -> int:
    frame = _read_csv(args.file)
    failed = _missing_columns(frame, args.time, args.value, args.series, args.breakdown)
    if failed is not None:
        return failed
    from ml_assets.anomalies import DetectorParams, attribute, detect

    params = DetectorParams(sensitivity=args.sensitivity, period=args.period)
    if args.breakdown:
        keys = [c for c in (args.series, args.time) if c]
        totals = frame.groupby(keys, as_index=False)[args.value].sum()
        incidents = detect(totals, args.time, args.value, args.series, params)
        incidents = attribute(frame, incidents, args.time, args.value, args.breakdown, args.series, params)
        incidents["drivers"] = incidents["drivers"].map(json.loads)
    else:
        incidents = detect(frame, args.time, args.value, args.series, params)
    _print_json(json.loads(incidents.to_json(orient="records", date_format="iso")))
    return 0


def add_ml_commands(subparsers) -> None:
    """Add `ml` with its own subcommands to an argparse subparsers object."""
    ml = subparsers.add_parser(
        "ml",
        help="evaluate the churn model or detect anomalies on a CSV file",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = ml.add_subparsers(dest="ml_command", required=True)

    churn = commands.add_parser("churn-eval", help="evaluate the churn model and its baselines; metrics as JSON")
    churn.add_argument("file", help="feature table, one row per id (and snapshot time)")
    churn.add_argument("--id", required=True, help="id column")
    churn.add_argument("--label", required=True, help="binary label column (1/0, true/false, yes/no)")
    churn.add_argument("--time", help="snapshot time column: train on earlier snapshots, test on the latest")
    churn.add_argument("--test-periods", type=int, help="latest snapshot periods to test on (default: a quarter)")
    churn.add_argument("--gap", type=int, default=0, help="snapshot periods left out between training and test")
    churn.add_argument("--exclude", action="append", default=[], help="a column that must not be a feature")
    churn.add_argument("--max-iter", type=int, default=200, help="boosting iterations")
    churn.set_defaults(func=cmd_churn_eval)

    detect = commands.add_parser("detect", help="flag spikes, drops and level shifts; incidents as JSON")
    detect.add_argument("file", help="long table: one row per timestamp (and series)")
    detect.add_argument("--time", required=True, help="timestamp column")
    detect.add_argument("--value", required=True, help="value column")
    detect.add_argument("--series", help="column naming separate series")
    detect.add_argument("--breakdown", help="column of the parts of each total: name the part that drove it")
    detect.add_argument("--sensitivity", type=float, default=1.0, help="higher flags more (default 1)")
    detect.add_argument("--period", type=int, help="points per seasonal cycle (default: inferred)")
    detect.set_defaults(func=cmd_detect)
