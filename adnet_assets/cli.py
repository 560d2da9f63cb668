"""``adnet``: the command line of the platform.

    adnet demo [--data-dir DIR] [--seed N] [--scale X]   generate the demo market, then run
    adnet run  [--data-dir DIR]                          materialise every window with snapshots and all downstream
    adnet ui   [--data-dir DIR] [--host H] [--port P]    the Dagster UI and daemon on 127.0.0.1
    adnet encrypt [--data-dir DIR]                       encrypt a data folder with $ADNET_DB_KEY
    adnet quality [--seeds 7 11 13]                      benchmark: networks against the demo's planted truth
    adnet bench [--sizes 21k 1m 10m]                     benchmark: wall time per step, peak memory, raw-scan floor
    adnet forget --phone N | --person NAME [--dry-run]   remove a number or a person everywhere
    adnet share [--data-dir DIR]                         pseudonymised exports for partners in <data>/shared/

Errors are reported as one paragraph naming the file and the fix; ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from adnet_assets.layout import DataLayout, default_data_dir


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _layout(args) -> DataLayout:
    return DataLayout.at(args.data_dir) if args.data_dir else DataLayout.at(default_data_dir())


def _failed(what: str, failures: list[tuple[str, str]], layout: DataLayout) -> int:
    """A failed Dagster run in words: each failing step's own message, and where the full log is."""
    _say(f"\nadnet: {what}.")
    for step, message in failures:
        _say(f"  {step}: {message}")
    _say(f"  Full log: `adnet ui --data-dir {layout.root}` and open the run.")
    return 1


def cmd_run(args) -> int:
    from adnet_assets.report import summary
    from adnet_assets.runner import run_all

    layout = _layout(args)
    _say(f"adnet: running on {layout.root}")
    started = time.monotonic()
    outcome = run_all(layout)
    took = time.monotonic() - started
    if not outcome.success:
        return _failed(f"the run failed after {took:.0f}s (run {outcome.run_id[:8]}, windows "
                       f"{outcome.windows[0]} .. {outcome.windows[1]})", outcome.failures, layout)
    _say(f"\nadnet: done in {took:.0f}s (run {outcome.run_id[:8]}, windows {outcome.windows[0]} .. {outcome.windows[1]}).\n")
    print(summary(layout), flush=True)
    print(f"See it in the UI: adnet ui --data-dir {layout.root}", flush=True)
    return 0


def cmd_demo(args) -> int:
    from adnet_assets.demo.generator import generate_market

    layout = _layout(args)
    _say(f"adnet: generating the synthetic demo market (seed {args.seed}, scale {args.scale}) in {layout.root}")
    market = generate_market(layout.root, seed=args.seed, scale=args.scale, progress=lambda m: _say(f"  {m}"))
    _say(f"adnet: {market.n_snapshots} snapshots, {market.n_observations:,} ad observations of {market.n_ads:,} ads "
         f"(ground truth kept apart in {market.truth_dir}, never read by the pipeline)")
    if args.no_run:
        return 0
    return cmd_run(args)


def cmd_quality(args) -> int:
    import tempfile

    from adnet_assets.bench.quality import format_table, run_quality

    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="adnet-quality-"))
    results = run_quality(args.seeds, workdir, scale=args.scale, echo=_say)
    print(format_table(results), flush=True)
    worst = min(q.phones.f1 for q in results)
    false = sum(q.false_networks for q in results)
    print(f"\nworst phone-pair F1 {worst:.3f} (target >= 0.98); false networks {false} (target 0); markets in {workdir}")
    return 0


def cmd_bench(args) -> int:
    from adnet_assets.bench.performance import run

    return run(args, echo=_say)


def _workspace_file(home: Path) -> Path:
    bundled = Path(__file__).resolve().parent.parent / "workspace.yaml"
    if bundled.is_file():
        return bundled
    generated = home / "workspace.yaml"
    generated.write_text("load_from:\n  - python_module:\n      module_name: adnet_assets.definitions\n")
    return generated


def cmd_ui(args) -> int:
    import signal

    from dotenv import dotenv_values  # installed with dagster, which reads .env the same way

    from adnet_assets.instance import use_investigation
    from adnet_assets.layout import DATA_DIR_ENV

    layout = _layout(args)
    home = use_investigation(layout)
    # The dagster installed beside this Python (a venv that is not activated), else the one on PATH.
    beside = Path(sys.executable).parent / "dagster"
    dagster = str(beside) if beside.is_file() else shutil.which("dagster")
    if dagster is None:
        raise SystemExit("adnet: the `dagster` command is not installed: run pip install -e . in this environment")
    workspace = _workspace_file(home)
    # `dagster dev` loads .env from its working directory OVER the environment: a DAGSTER_HOME or
    # ADNET_DATA_DIR there would silently record this investigation's runs in another instance,
    # or run its sensor on other data. Refuse rather than mix two investigations.
    dotenv = workspace.parent / ".env"
    if dotenv.is_file():
        ours = {"DAGSTER_HOME": home, DATA_DIR_ENV: layout.root}
        for name, value in dotenv_values(dotenv).items():
            if name in ours and value is not None and (workspace.parent / Path(value).expanduser()).resolve() != Path(ours[name]).resolve():
                raise SystemExit(
                    f"adnet: {dotenv} sets {name}={value}, and `dagster dev` lets .env override the environment, "
                    f"so the UI would not use {ours[name]} (from --data-dir/$ADNET_DATA_DIR). Remove {name} from "
                    f"{dotenv.name}, or run `adnet ui --data-dir` with the folder it names.")
    _say(f"adnet: Dagster UI on http://{args.host}:{args.port} (data {layout.root}, instance {home})")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        _say("adnet: warning: the UI has no login; serve it beyond this machine only behind an authenticating proxy")
    cmd = [dagster, "dev", "-w", str(workspace), "-h", args.host, "-p", str(args.port)]
    os.chdir(workspace.parent)
    # `dagster dev` stops on SIGTERM by running its SIGINT handler. A shell that starts a command in
    # the background (`adnet ui &` in a script) leaves SIGINT ignored, and an ignored SIGINT would
    # make the UI, its daemon and code server ignore `kill` too: restore the default before exec.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.execv(dagster, cmd)
    return 0  # not reached


def _forget_run(layout: DataLayout) -> str | None:
    """``adnet run`` for ``adnet forget``: rebuild everything, with no directory service asked meanwhile."""
    from adnet_assets.lib.forget import ForgetError
    from adnet_assets.runner import NothingToRun, run_all

    saved = os.environ.pop("ADNET_DIRECTORY_URL", None)  # a look-up now could fetch a forgotten name again
    try:
        outcome = run_all(layout, tags={"adnet/trigger": "forget"})
    except NothingToRun:
        _say("adnet forget: no snapshot folder: nothing to rebuild")
        return None
    finally:
        if saved is not None:
            os.environ["ADNET_DIRECTORY_URL"] = saved
    if not outcome.success:
        steps = "".join(f"\n  {step}: {message}" for step, message in outcome.failures)
        raise ForgetError(
            f"the rebuild failed (run {outcome.run_id[:8]}): the input files are rewritten, but tables and exports "
            f"still hold the old data.{steps}\nFix the problem above, then run the same adnet forget again: it "
            "finishes the job.")
    return outcome.run_id


def _forget_plan_text(plan) -> str:
    lines = [f"  found: {plan.counts()}"]
    if plan.matched_spellings:
        shown = ", ".join(f'"{name}" ({n} row{"s" if n != 1 else ""})'
                          for name, n in sorted(plan.matched_spellings.items()))
        lines.append(f"  names matched (shown here only, never written anywhere): {shown}")
    if plan.other_spellings:
        lines.append("  other spellings joined to the same owner, NOT included: "
                     + ", ".join(f'"{name}"' for name in plan.other_spellings)
                     + "\n    (if one is the same person, add --person \"...\" for it)")
    lines += [f"  not rewritten: {reason}" for reason in plan.skipped]
    return "\n".join(lines)


def cmd_forget(args) -> int:
    from adnet_assets.lib.forget import ForgetError, carry_out, find_leftovers, find_places, parse_request

    layout = _layout(args)
    request = parse_request(args.phone or [], args.person or [], args.country)
    _say(f"adnet forget: looking for {request.describe()} in {layout.root}")
    plan = find_places(layout, request, log=lambda m: _say(f"  {m}"))
    _say(_forget_plan_text(plan))
    if plan.empty and not plan.skipped and not find_leftovers(layout, plan.needles):
        _say(f"adnet forget: found nowhere in {layout.root}; nothing changed.")
        return 0
    if args.dry_run:
        _say("adnet forget: dry run, nothing changed.")
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            raise ForgetError("adnet forget removes data for good and asks first: run it with --yes to go on "
                              "without a question (see what it finds with --dry-run)")
        if input("Type 'forget' to remove all of this for good: ").strip().lower() != "forget":
            _say("adnet forget: nothing changed.")
            return 1
    started = time.monotonic()
    report = carry_out(layout, plan, run_pipeline=lambda: _forget_run(layout), log=lambda m: _say(f"adnet forget: {m}"))
    print(f"adnet forget: done in {time.monotonic() - started:.0f}s: {report.scope}.", flush=True)
    print(f"  Dagster history: {report.scrubbed_values} value(s) scrubbed in {report.scrubbed_files} file(s).",
          flush=True)
    if report.shared_removed:
        print("  The pseudonymised exports in shared/ were deleted: run adnet share again.", flush=True)
    print("  The audit trail says a forget was done and how much it removed, never what.", flush=True)
    print("  No list of what was forgotten is kept, so a new crawl or directory answer can bring it back: "
          "run adnet forget again then.", flush=True)
    if report.clean:
        print("  Nothing of it is left in any file of the data folder.", flush=True)
        return 0
    print(f"  Still found in {len(report.leftovers)} place(s):", flush=True)
    for leftover in report.leftovers:
        print(f"    {leftover}", flush=True)
    return 1


def cmd_share(args) -> int:
    from adnet_assets.share import share

    layout = _layout(args)
    _say(f"adnet: writing the pseudonymised exports of {layout.root} into {layout.shared_exports}")
    started = time.monotonic()
    outcome = share(layout)
    took = time.monotonic() - started
    if not outcome.success:
        return _failed(f"sharing failed after {took:.0f}s (run {outcome.run_id[:8]})", outcome.failures, layout)
    meta = outcome.metadata
    _say(f"\nadnet: done in {took:.0f}s (run {outcome.run_id[:8]}).\n")
    print(f"Shared exports: {outcome.folder}", flush=True)
    print(f"  {meta.get('networks', '?')} network(s), {meta.get('files', '?')} file(s): adnet.xlsx, networks/ "
          f"(XMind maps, pictures), graphs/ (Gephi, i2, Maltego), aleph/ (FollowTheMoney), README.txt", flush=True)
    print(f"  key id {meta.get('key_id', '?')}: phones, owners, names, addresses, ads and photos are keyed hashes; "
          f"ad text is withheld. Send the folder, never the key.", flush=True)
    return 0


def cmd_encrypt(args) -> int:
    from adnet_assets.lib.encryption import KEY_ENV, MAKE_KEY_HINT, OLD_KEY_ENV, check_key
    from adnet_assets.lib.store import encrypt_data_folder

    layout = _layout(args)
    if not os.environ.get(KEY_ENV):
        raise SystemExit(f"adnet encrypt: set {KEY_ENV} to the key to encrypt with first. {MAKE_KEY_HINT}")
    key = check_key(os.environ[KEY_ENV])
    old = check_key(os.environ[OLD_KEY_ENV]) if os.environ.get(OLD_KEY_ENV) else None
    _say(f"adnet encrypt: encrypting what adnet keeps in {layout.root} (no run may go on meanwhile: stop `adnet ui`)")
    done = encrypt_data_folder(layout, key, current_key=old, log=lambda m: _say(f"  {m}"))
    copy = ", the analysts' copy" if "analyst_copy" in done else ""
    print(f"adnet encrypt: done: the database{copy} and {done['warehouse_files']} warehouse file(s) are encrypted "
          f"with {KEY_ENV}. Keep the key safe: without it the data cannot be read.", flush=True)
    print("  Not encrypted: the inputs (snapshots/, directory/, billing/) and exports/ (see the README).", flush=True)
    if (layout.dagster_home / "history").is_dir():
        print(f"  The UI's history of runs made before now holds table previews in plaintext. To remove it, stop "
              f"adnet ui and delete {layout.dagster_home} (adnet makes a new one; the run history is lost, and the "
              f"snapshot sensor reads every window once more, which changes nothing).", flush=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="adnet", description="Find the networks behind online sex-work advertising.")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)

    def data_dir(p):
        p.add_argument("--data-dir", help="the investigation's data folder (default: $ADNET_DATA_DIR or ./data)")

    p = sub.add_parser("demo", help="generate the synthetic demo market and run everything on it")
    data_dir(p)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--scale", type=float, default=1.0, help="1.0 is ~20,000 observations over 13 weeks")
    p.add_argument("--no-run", action="store_true", help="only generate the data")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("run", help="materialise every window with snapshots and everything downstream, in one run")
    data_dir(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("quality", help="benchmark: detection quality against the planted truth of demo markets")
    p.add_argument("--seeds", type=int, nargs="+", default=[7, 11, 13])
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--workdir", help="where the markets are written (default: a new temporary folder)")
    p.set_defaults(func=cmd_quality)

    from adnet_assets.bench.performance import add_arguments as bench_arguments

    p = sub.add_parser("bench", help="benchmark: wall time and peak memory of the whole pipeline on markets of "
                                     "~21k, 1M, 10M observations, against a plain DuckDB scan")
    bench_arguments(p)
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("ui", help="start the Dagster UI and daemon (sensors, schedules) for a data folder")
    data_dir(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    p.set_defaults(func=cmd_ui)

    p = sub.add_parser("forget", help="remove a phone number or a person from every file, table and export of a "
                                      "data folder (and the Dagster history); the audit trail records counts only")
    data_dir(p)
    p.add_argument("--phone", action="append", metavar="NUMBER",
                   help="a number in any form the ads show (+47 412 34 567, 41234567); may be repeated")
    p.add_argument("--person", action="append", metavar="NAME",
                   help="a full name as the directory writes it (same words in any order, case and accents "
                        "ignored, never fuzzy); may be repeated")
    p.add_argument("--country", default="NO", help="country national numbers are read in (default NO, as the run)")
    p.add_argument("--dry-run", action="store_true", help="only show what would be removed; change nothing")
    p.add_argument("--yes", action="store_true", help="do not ask before removing")
    p.set_defaults(func=cmd_forget)

    p = sub.add_parser("encrypt", help="encrypt an existing data folder's database, analysts' copy and warehouse "
                                       "with $ADNET_DB_KEY (to change the key: the old one in $ADNET_DB_OLD_KEY)")
    data_dir(p)
    p.set_defaults(func=cmd_encrypt)

    p = sub.add_parser("share", help="write pseudonymised exports for partners into <data>/shared/ "
                                     "(key from $ADNET_PSEUDONYM_KEY)")
    data_dir(p)
    p.set_defaults(func=cmd_share)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.debug:
        import warnings

        import dagster as dg

        for category in (dg.BetaWarning, dg.PreviewWarning):
            warnings.filterwarnings("ignore", category=category)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        _say("adnet: interrupted")
        return 130
    except Exception as exc:  # a person reads this: one paragraph, not a traceback
        if args.debug:
            raise
        from adnet_assets.runner import disk_full_message  # a full disk in words, with the file and the fix

        _say(f"adnet: {disk_full_message(exc) or exc}")
        _say("(run again with --debug for the traceback)")
        return 1


if __name__ == "__main__":
    sys.exit(main())
