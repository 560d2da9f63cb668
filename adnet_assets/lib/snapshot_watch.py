"""Which complete snapshots are new since the last look: the decision behind the snapshot sensor.

The cursor maps ``site/snapshot_id`` to the sha256 of its manifest. A snapshot is new when its
manifest exists and its digest is not the one remembered: a first arrival, or a crawl that was
replaced (a new manifest). Folders without a manifest are still being written and are skipped
without being remembered, so they are picked up once their manifest appears.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from adnet_assets.lib.snapshots import Discovery

_DIGEST_CHARS = 16  # enough to tell manifests apart, short enough to keep the cursor small


@dataclass(frozen=True)
class WindowRequest:
    window: str
    snapshots: tuple[str, ...]  # site/snapshot_id@digest, sorted

    @property
    def run_key(self) -> str:
        """Unique per window *and* per set of manifests: a replaced crawl gets a new key."""
        return f"snapshots:{self.window}:" + hashlib.sha256("|".join(self.snapshots).encode()).hexdigest()[:16]


def load_cursor(cursor: str | None) -> dict[str, str]:
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def dump_cursor(seen: dict[str, str]) -> str:
    return json.dumps(seen, sort_keys=True, separators=(",", ":"))


def new_snapshots(discovery: Discovery, seen: dict[str, str]) -> tuple[list[WindowRequest], dict[str, str]]:
    """One request per window holding new or replaced complete snapshots, and the updated cursor."""
    updated = dict(seen)
    by_window: dict[str, list[str]] = {}
    for ref in discovery.complete():
        try:
            digest = ref.manifest_digest()[:_DIGEST_CHARS]
        except OSError:
            continue  # vanished between listing and reading: look again next tick
        if seen.get(ref.name) == digest:
            continue
        updated[ref.name] = digest
        by_window.setdefault(ref.window, []).append(f"{ref.name}@{digest}")
    requests = [WindowRequest(w, tuple(sorted(names))) for w, names in sorted(by_window.items())]
    return requests, updated
