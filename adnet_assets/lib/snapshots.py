"""Finding snapshot folders and verifying them against their manifests.

A snapshot is ``snapshots/<site>/<snapshot_id>/`` with ``ads.jsonl`` and ``manifest.json``; the
manifest is written last, so a folder without one is still being written and is left alone.
A snapshot is loaded only when every file its manifest lists exists with the listed size and
sha256; otherwise the whole snapshot is quarantined with the reason (never half-loaded).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from adnet_assets.layout import ADS_FILE, MANIFEST_FILE, SITE_RE, SNAPSHOT_ID_RE, DataLayout
from adnet_assets.lib.windows import WINDOW_START, SnapshotIdError, window_key, window_of_snapshot


@dataclass(frozen=True)
class SnapshotRef:
    """A snapshot folder with a valid site and snapshot id (complete or still being written)."""

    site: str
    snapshot_id: str
    folder: Path
    window: str

    @property
    def manifest_path(self) -> Path:
        return self.folder / MANIFEST_FILE

    @property
    def ads_path(self) -> Path:
        return self.folder / ADS_FILE

    @property
    def is_complete(self) -> bool:
        return self.manifest_path.is_file()

    @property
    def name(self) -> str:
        return f"{self.site}/{self.snapshot_id}"

    def manifest_digest(self) -> str:
        """sha256 of the manifest bytes: a snapshot's identity for run keys and cursors."""
        return hashlib.sha256(self.manifest_path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class FolderProblem:
    """A folder under snapshots/ that cannot be a snapshot (bad name, symlink out of the data folder)."""

    path: str
    reason: str


@dataclass
class Discovery:
    snapshots: list[SnapshotRef] = field(default_factory=list)
    problems: list[FolderProblem] = field(default_factory=list)

    def complete(self) -> list[SnapshotRef]:
        return [s for s in self.snapshots if s.is_complete]

    def in_windows(self, windows: set[str] | frozenset[str]) -> list[SnapshotRef]:
        return [s for s in self.snapshots if s.window in windows]


def relative(layout: DataLayout, path: Path) -> str:
    """A path as written in tables and messages: relative to the data folder when inside it."""
    try:
        return path.relative_to(layout.root).as_posix()
    except ValueError:
        return str(path)


def _escapes(layout: DataLayout, path: Path) -> bool:
    """True when a (symlinked) path resolves outside the data folder's snapshots/."""
    try:
        path.resolve().relative_to(layout.snapshots.resolve())
        return False
    except ValueError:
        return True


def discover(layout: DataLayout, now: datetime | None = None) -> Discovery:
    """Every snapshot folder under ``snapshots/``; a directory listing, nothing is read.

    A crawl dated before the first window or after the window in progress cannot be a partition:
    it is reported as a problem (usually a clock or naming error), not loaded.
    """
    latest = window_key(now or datetime.now(timezone.utc))
    found = Discovery()
    if not layout.snapshots.is_dir():
        return found
    for site_dir in sorted(layout.snapshots.iterdir()):
        if not site_dir.is_dir() or site_dir.name.startswith("."):
            continue
        if not SITE_RE.match(site_dir.name):
            found.problems.append(FolderProblem(
                relative(layout, site_dir),
                f"site folder {site_dir.name!r} is not a host name: rename it to lower-case letters, digits, '.' and '-'",
            ))
            continue
        if _escapes(layout, site_dir):
            found.problems.append(FolderProblem(
                relative(layout, site_dir), "site folder is a link to outside the data folder: copy the snapshots in instead"))
            continue
        for snap_dir in sorted(site_dir.iterdir()):
            if not snap_dir.is_dir() or snap_dir.name.startswith("."):
                continue
            if _escapes(layout, snap_dir):
                found.problems.append(FolderProblem(
                    relative(layout, snap_dir), "snapshot folder is a link to outside the data folder: copy it in instead"))
                continue
            if not SNAPSHOT_ID_RE.match(snap_dir.name):
                found.problems.append(FolderProblem(
                    relative(layout, snap_dir),
                    f"snapshot folder {snap_dir.name!r} is not a crawl start time: name it YYYY-MM-DDTHHMMZ (UTC), e.g. 2026-06-01T0614Z",
                ))
                continue
            try:
                window = window_of_snapshot(snap_dir.name)
            except SnapshotIdError as exc:
                found.problems.append(FolderProblem(relative(layout, snap_dir), str(exc)))
                continue
            if not WINDOW_START <= window <= latest:
                found.problems.append(FolderProblem(
                    relative(layout, snap_dir),
                    f"snapshot {snap_dir.name} lies outside the windows {WINDOW_START} .. {latest}: "
                    "check the crawler's clock and the folder name (UTC start time)"))
                continue
            found.snapshots.append(SnapshotRef(site_dir.name, snap_dir.name, snap_dir, window))
    return found


class SnapshotRejected(Exception):
    """The snapshot as a whole does not match its manifest: quarantine it, load nothing."""


@dataclass(frozen=True)
class VerifiedSnapshot:
    ref: SnapshotRef
    manifest: dict
    manifest_sha256: str
    ads_sha256: str
    ads_bytes: bytes


def verify(ref: SnapshotRef, layout: DataLayout) -> VerifiedSnapshot:
    """Read the manifest and every file it lists; raise SnapshotRejected with a fix when they disagree."""
    where = relative(layout, ref.manifest_path)
    raw = ref.manifest_path.read_bytes()
    try:
        manifest = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SnapshotRejected(f"{where}: manifest is not valid JSON ({exc}); rewrite it as the contract shows") from exc
    if not isinstance(manifest, dict):
        raise SnapshotRejected(f"{where}: manifest must be a JSON object")
    for key, expected in (("site", ref.site), ("snapshot_id", ref.snapshot_id)):
        if key in manifest and manifest[key] != expected:
            raise SnapshotRejected(
                f"{where}: manifest says {key} {manifest[key]!r} but the folder is {expected!r}; move the snapshot or fix the manifest")
    files = manifest.get("files")
    if not isinstance(files, dict) or ADS_FILE not in files or not isinstance(files[ADS_FILE], dict):
        raise SnapshotRejected(f"{where}: manifest does not list {ADS_FILE} under \"files\" with its sha256 and bytes")
    ads_bytes = b""
    ads_digest = ""
    for name, spec in sorted(files.items()):
        path = ref.folder / name
        if not isinstance(spec, dict) or not isinstance(spec.get("sha256"), str) or not isinstance(spec.get("bytes"), int):
            raise SnapshotRejected(f"{where}: file {name!r} needs \"sha256\" (hex) and \"bytes\" (integer)")
        if "/" in name or "\\" in name or name.startswith("."):
            raise SnapshotRejected(f"{where}: file name {name!r} must be a plain file name inside the snapshot folder")
        if not path.is_file() or _escapes(layout, path):
            raise SnapshotRejected(f"{relative(layout, path)}: listed in the manifest but missing")
        data = path.read_bytes()
        if len(data) != spec["bytes"]:
            raise SnapshotRejected(
                f"{relative(layout, path)}: {len(data)} bytes but the manifest says {spec['bytes']}: the copy is incomplete or was changed")
        digest = hashlib.sha256(data).hexdigest()
        if digest != spec["sha256"].lower():
            raise SnapshotRejected(
                f"{relative(layout, path)}: sha256 {digest[:12]}… does not match the manifest's {spec['sha256'][:12]}…: the file was changed after the crawl")
        if name == ADS_FILE:
            ads_bytes, ads_digest = data, digest
    return VerifiedSnapshot(ref, manifest, hashlib.sha256(raw).hexdigest(), ads_digest, ads_bytes)
