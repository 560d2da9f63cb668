"""What ``find_places`` found (``Plan``, with a ``FileEdit`` per input file to cut), told in counts only."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from adnet_assets.lib.forget.needles import Needles
from adnet_assets.lib.forget.request import Request


def plural(n: int, what: str) -> str:
    """'1 file', '2 files'."""
    return f"{n} {what}{'' if n == 1 else 's'}"


@dataclass
class FileEdit:
    """Lines to cut from one input file: ``lines`` are 1-based physical lines (the readers' numbers)."""

    path: Path
    kind: str  # snapshot | directory | billing | aliases
    lines: tuple[int, ...]
    records: int
    source_file: str


@dataclass
class Plan:
    """Every place the target was found; counts are safe to show and audit, ``matched_spellings`` are
    for the terminal only (the user typed them; they are never written anywhere)."""

    request: Request
    needles: Needles
    edits: list[FileEdit] = field(default_factory=list)
    lookups: int = 0          # directory_lookups rows
    api_listings: int = 0     # directory_listings rows from services
    cached_strings: int = 0   # phone_strings rows
    matched_spellings: dict[str, int] = field(default_factory=dict)  # spelling -> rows (terminal only)
    other_spellings: list[str] = field(default_factory=list)         # same owner, not matched (terminal only)
    skipped: list[str] = field(default_factory=list)                 # what could not be rewritten, and why

    def records(self, kind: str) -> int:
        return sum(e.records for e in self.edits if e.kind == kind)

    def files(self, kind: str) -> int:
        return sum(1 for e in self.edits if e.kind == kind)

    @property
    def empty(self) -> bool:
        return not (self.edits or self.lookups or self.api_listings or self.cached_strings)

    def count_spellings(self, rows: list[tuple[str, int]]) -> None:
        """Add (spelling, rows) pairs to ``matched_spellings``."""
        for spelling, n in rows:
            self.matched_spellings[spelling] = self.matched_spellings.get(spelling, 0) + n

    def counts(self) -> str:
        """What was found, in counts only (the audit scope starts with this)."""
        parts = []
        for kind, label in (("snapshot", "snapshot line"), ("directory", "directory row"),
                            ("billing", "billing row"), ("aliases", "aliases.csv row")):
            n, f = self.records(kind), self.files(kind)
            if n:
                parts.append(f"{plural(n, label)} in {plural(f, 'file')}")
        if self.lookups:
            parts.append(plural(self.lookups, "service answer"))
        if self.api_listings:
            parts.append(plural(self.api_listings, "service listing"))
        if self.cached_strings:
            parts.append(plural(self.cached_strings, "cached phone string"))
        return ", ".join(parts) if parts else "nothing left in the inputs or the caches"
