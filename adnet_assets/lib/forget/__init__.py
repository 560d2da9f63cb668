"""Forgetting a phone number or a person everywhere in a data folder: what ``adnet forget`` does.

An identity-theft victim who took their number back, or a person whose name a network borrowed,
may ask to be removed. "Everywhere" means the inputs (snapshot lines, directory and billing rows,
aliases), the cached answers of directory services, every table and export built from them, the
analysts' copy, the free blocks of the database files and the Dagster instance's history. The audit
trail records that a forget happened and how much it removed, never what.

``find_places`` then ``carry_out`` (here, in the order of the steps), each step idempotent, so that a
forget interrupted half-way is simply run again:

1. find every place (``places``; read-only, the dry run stops here), given what to forget
   (``request``) and the search strings that give it away (``needles``); the result is a ``plan``;
2. rewrite the inputs without those records, byte for byte otherwise (``inputs``);
3. clean the database's caches, which no run rebuilds (``database``);
4. rebuild every table, export and the analysts' copy (``run_pipeline``, given by the caller: this
   package imports no Dagster); the pseudonymised exports in ``shared/`` are deleted (``adnet share``
   writes them again);
5. compact ``adnet.duckdb``, so that deleted rows leave its free blocks (``database``);
6. audit: one ``audit_log`` row, action ``forget``, scope in counts only; then the analysts' copy is
   published afresh from the compacted file, with that row;
7. scrub the Dagster instance's history (``dagster_history``).

Finally ``find_leftovers`` searches every file under the data folder for what is left (``leftovers``).

No list of forgotten numbers or names is kept anywhere (it would itself record what was forgotten).
So a number that the next crawl shows again comes back, and so does a name a directory service
still lists; ``adnet forget`` must then be run again (or the crawler told to drop the number).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from adnet_assets.layout import DataLayout
from adnet_assets.lib import audit
from adnet_assets.lib.forget.dagster_history import scrub_dagster
from adnet_assets.lib.forget.database import clean_database, compact_database
from adnet_assets.lib.forget.inputs import cut_lines, rewrite_inputs
from adnet_assets.lib.forget.leftovers import Leftover, find_leftovers
from adnet_assets.lib.forget.needles import REPLACEMENT, Needles
from adnet_assets.lib.forget.places import find_places
from adnet_assets.lib.forget.plan import FileEdit, Plan, plural
from adnet_assets.lib.forget.request import ForgetError, Request, name_key, parse_request
from adnet_assets.lib.publish import CopyInUse, publish_copy
from adnet_assets.lib.store import connect, transaction

__all__ = [
    "REPLACEMENT",
    "FileEdit",
    "ForgetError",
    "ForgetReport",
    "Leftover",
    "Needles",
    "Plan",
    "Request",
    "carry_out",
    "clean_database",
    "clear_shared",
    "compact_database",
    "cut_lines",
    "find_leftovers",
    "find_places",
    "name_key",
    "parse_request",
    "rewrite_inputs",
    "scrub_dagster",
]


@dataclass
class ForgetReport:
    """What ``carry_out`` did, in counts; ``leftovers`` are the files that still hold the target."""

    plan: Plan
    scope: str = ""
    files: dict[str, int] = field(default_factory=dict)
    run_id: str | None = None
    shared_removed: int = 0
    compacted: bool = False
    scrubbed_values: int = 0
    scrubbed_files: int = 0
    analyst_copy: str = ""
    leftovers: list[Leftover] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.leftovers


def clear_shared(layout: DataLayout) -> int:
    """The pseudonymised exports were made from the old data: delete them (``adnet share`` remakes them)."""
    folder = layout.shared_exports
    if not folder.is_dir():
        return 0
    removed = 0
    for path in sorted(folder.rglob("*"), reverse=True):
        if path.is_file() or path.is_symlink():
            path.unlink()
            removed += 1
        elif path.is_dir():
            with contextlib.suppress(OSError):
                path.rmdir()
    return removed


def carry_out(layout: DataLayout, plan: Plan, *, run_pipeline: Callable[[], str | None] | None,
              log: Callable[[str], None] | None = None) -> ForgetReport:
    """Steps 2-7 and the final search. ``run_pipeline`` rebuilds everything from the inputs (``adnet run``)
    and returns its run id; the caller gives it, so that this package needs no Dagster."""
    say = log or (lambda message: None)
    report = ForgetReport(plan)
    say(f"1/7 rewriting the input files: {plan.counts()}")
    report.files = rewrite_inputs(plan, log=say)
    say("2/7 removing the directory services' cached answers and the parsed phone strings")
    clean_database(layout, plan)
    if run_pipeline is not None:
        say("3/7 rebuilding every table, export and the analysts' copy (adnet run)")
        report.run_id = run_pipeline()
    report.shared_removed = clear_shared(layout)
    if report.shared_removed:
        say(f"  {plural(report.shared_removed, 'pseudonymised export file')} in shared/ deleted: run adnet share again")
    say("4/7 compacting the database")
    report.compacted = compact_database(layout.database, log=say)
    steps = ["tables and exports rebuilt" if report.run_id else "", "database compacted" if report.compacted else "",
             f"{plural(report.shared_removed, 'shared export file')} deleted" if report.shared_removed else ""]
    report.scope = f"{plan.request.describe()}: {plan.counts()}" + "".join(f"; {s}" for s in steps if s)
    say("5/7 recording the forget in the audit trail (counts only)")
    if layout.database.is_file():
        with connect(layout.database) as con:
            with transaction(con):
                audit.record(con, "forget", report.scope)
        say("6/7 publishing a fresh analysts' copy")
        try:
            publish_copy(layout.database, layout.analyst_database, log=say)
            report.analyst_copy = "published"
        except CopyInUse as exc:
            report.analyst_copy = str(exc)
            say(f"  {exc}")
    say("7/7 scrubbing the Dagster instance's history")
    report.scrubbed_values, report.scrubbed_files = scrub_dagster(layout, plan.needles, keep_run_id=report.run_id)
    say("searching every file of the data folder for what is left")
    report.leftovers = find_leftovers(layout, plan.needles)
    return report
