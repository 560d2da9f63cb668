"""Finding snapshot folders and verifying them against their manifests.

A snapshot is ``snapshots/<site>/<snapshot_id>/`` with ``ads.jsonl`` and ``manifest.json``; the
manifest is written last, so a folder without one is still being written and is left alone.
A snapshot is loaded only when every file its manifest lists exists with the listed size and
sha256; otherwise the whole snapshot is quarantined with the reason (never half-loaded).

Nothing outside the data folder is read: a site folder, snapshot folder, ``manifest.json`` or
listed file that is a link resolving outside ``snapshots/`` is reported, never opened. Folder
names are checked exactly (ASCII only, no trailing newline, no hidden ``.`` names), so a name
such as ``..foo``, ``%2e%2e`` or a snapshot id written in full-width digits is reported too.
A snapshot whose ``ads.jsonl`` has the same bytes as an earlier snapshot of the same site is a
copy of that crawl (``EarlierCopies``): loading it would count every ad twice, so it is
quarantined with a reason naming the other folder.
"""

from __future__ import annotations

import hashlib
import json
import re
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
    """A path as written in tables and messages: relative to the data folder when inside it.

    A name holding bytes that are not UTF-8 (Linux allows any) shows them as ``\\xff``: the database
    cannot store the lone surrogates Python reads them as, and the user can still find the file.
    Control characters are shown the same way, so a name never drives the terminal it is printed on."""
    try:
        text = path.relative_to(layout.root).as_posix()
    except ValueError:
        text = str(path)
    return _shown(text)


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _shown(name: str) -> str:
    """A file name as text the database can hold and a terminal can print: bytes that are not UTF-8 and
    control characters (a name may hold ESC sequences) written ``\\xff``, ``\\x1b``."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _quoted(name: str) -> str:
    """A folder name quoted for a reason: line breaks and controls escaped, bytes that are not UTF-8 as ``\\xff``."""
    return re.sub(r"\\udc([89a-f][0-9a-f])", r"\\x\1", repr(name))


def _escapes(layout: DataLayout, path: Path) -> bool:
    """True when a (symlinked) path resolves outside the data folder's snapshots/ (or cannot be resolved)."""
    try:
        path.resolve().relative_to(layout.snapshots.resolve())
        return False
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
        return True


def _dangling(path: Path) -> bool:
    """A link to nothing (or a loop): neither a folder nor a file, but a name in the listing."""
    return path.is_symlink() and not path.exists()


def _entries(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


_LINK_OUT = "is a link to outside the data folder: copy {what} in instead (nothing behind the link was read)"
_HIDDEN = ("hidden {kind} folder {name} (its name starts with '.') is not read: "
           "rename it without the leading '.' if it holds crawls, or move it out of snapshots/")


def discover(layout: DataLayout, now: datetime | None = None) -> Discovery:
    """Every snapshot folder under ``snapshots/``; a directory listing, nothing is read.

    A crawl dated before the first window or after the window in progress cannot be a partition:
    it is reported as a problem (usually a clock or naming error), not loaded.
    """
    latest = window_key(now or datetime.now(timezone.utc))
    found = Discovery()
    if not layout.snapshots.is_dir():
        return found

    def problem(path: Path, reason: str) -> None:
        found.problems.append(FolderProblem(relative(layout, path), reason))

    try:
        sites = _entries(layout.snapshots)
    except OSError as exc:
        problem(layout.snapshots, f"cannot be listed ({exc.strerror or exc}): check the folder's permissions")
        return found
    for site_dir in sites:
        if _dangling(site_dir):
            problem(site_dir, "is a link to nothing (or a loop of links): remove it, or copy the snapshots in")
            continue
        if not site_dir.is_dir():
            continue  # a file beside the site folders (a README, .DS_Store) holds no crawl
        if site_dir.name.startswith("."):
            problem(site_dir, _HIDDEN.format(kind="site", name=_quoted(site_dir.name)))
            continue
        if _escapes(layout, site_dir):
            problem(site_dir, "site folder " + _LINK_OUT.format(what="the snapshots"))
            continue
        if not SITE_RE.fullmatch(site_dir.name):
            problem(site_dir, f"site folder {_quoted(site_dir.name)} is not a host name: "
                              "rename it to lower-case letters, digits, '.' and '-'")
            continue
        try:
            snap_dirs = _entries(site_dir)
        except OSError as exc:
            problem(site_dir, f"cannot be listed ({exc.strerror or exc}): check the folder's permissions")
            continue
        for snap_dir in snap_dirs:
            if _dangling(snap_dir):
                problem(snap_dir, "is a link to nothing (or a loop of links): remove it, or copy the snapshot in")
                continue
            if not snap_dir.is_dir():
                continue
            if snap_dir.name.startswith("."):
                problem(snap_dir, _HIDDEN.format(kind="snapshot", name=_quoted(snap_dir.name)))
                continue
            if _escapes(layout, snap_dir):
                problem(snap_dir, "snapshot folder " + _LINK_OUT.format(what="it"))
                continue
            # fullmatch and ASCII: "$" alone lets a trailing newline through, and "\d" matches
            # full-width and other Unicode digits ("２026-06-01T0614Z" would be a second name
            # for the same crawl).
            if not (snap_dir.name.isascii() and SNAPSHOT_ID_RE.fullmatch(snap_dir.name)):
                problem(snap_dir, f"snapshot folder {_quoted(snap_dir.name)} is not a crawl start time: "
                                  "name it YYYY-MM-DDTHHMMZ (UTC), e.g. 2026-06-01T0614Z")
                continue
            try:
                window = window_of_snapshot(snap_dir.name)
            except SnapshotIdError as exc:
                problem(snap_dir, str(exc))
                continue
            if not WINDOW_START <= window <= latest:
                problem(snap_dir, f"snapshot {snap_dir.name} lies outside the windows {WINDOW_START} .. {latest}: "
                                  "check the crawler's clock and the folder name (UTC start time)")
                continue
            manifest = snap_dir / MANIFEST_FILE
            if manifest.is_symlink() and _escapes(layout, manifest):
                problem(manifest, f"{MANIFEST_FILE} " + _LINK_OUT.format(what="the file"))
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


MAX_MANIFEST_BYTES = 1_000_000  # a manifest lists a few files; anything larger is not one


def _read(layout: DataLayout, path: Path, what: str) -> bytes:
    """The bytes of a file inside snapshots/, or SnapshotRejected saying why it cannot be read."""
    where = relative(layout, path)
    if _escapes(layout, path):
        raise SnapshotRejected(f"{where}: {what} " + _LINK_OUT.format(what="the file"))
    if not path.is_file():
        raise SnapshotRejected(f"{where}: {what} is missing or is not a file")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SnapshotRejected(f"{where}: {what} cannot be read ({exc.strerror or exc}): check the file's permissions") from exc


def _load_manifest(layout: DataLayout, ref: SnapshotRef) -> tuple[dict, bytes]:
    where = relative(layout, ref.manifest_path)
    try:
        size = ref.manifest_path.stat().st_size
    except OSError:
        size = 0
    if size > MAX_MANIFEST_BYTES:
        raise SnapshotRejected(f"{where}: manifest of {size} bytes is over the limit of {MAX_MANIFEST_BYTES}: "
                               "it should list the snapshot's files, as the contract shows")
    raw = _read(layout, ref.manifest_path, "manifest")
    try:
        manifest = json.loads(raw.decode("utf-8-sig"))
    except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, an integer of 5000 digits, nesting
        raise SnapshotRejected(
            f"{where}: manifest is not valid JSON ({str(exc)[:200]}); rewrite it as the contract shows") from exc
    if not isinstance(manifest, dict):
        raise SnapshotRejected(f"{where}: manifest must be a JSON object")
    return manifest, raw


def verify(ref: SnapshotRef, layout: DataLayout) -> VerifiedSnapshot:
    """Read the manifest and every file it lists; raise SnapshotRejected with a fix when they disagree."""
    where = relative(layout, ref.manifest_path)
    manifest, raw = _load_manifest(layout, ref)
    for key, expected in (("site", ref.site), ("snapshot_id", ref.snapshot_id)):
        if key in manifest and manifest[key] != expected:
            raise SnapshotRejected(
                f"{where}: manifest says {key} {str(manifest[key])[:100]!r} but the folder is {expected!r}; "
                "move the snapshot or fix the manifest")
    files = manifest.get("files")
    if not isinstance(files, dict) or ADS_FILE not in files or not isinstance(files[ADS_FILE], dict):
        raise SnapshotRejected(f"{where}: manifest does not list {ADS_FILE} under \"files\" with its sha256 and bytes")
    ads_bytes = b""
    ads_digest = ""
    for name, spec in sorted(files.items()):
        shown = name[:100]
        if "/" in name or "\\" in name or name.startswith(".") or not name.strip() or "\x00" in name:
            raise SnapshotRejected(f"{where}: file name {shown!r} must be a plain file name inside the snapshot folder")
        if (not isinstance(spec, dict) or not isinstance(spec.get("sha256"), str)
                or not isinstance(spec.get("bytes"), int) or isinstance(spec.get("bytes"), bool)):
            raise SnapshotRejected(f"{where}: file {shown!r} needs \"sha256\" (hex) and \"bytes\" (integer)")
        path = ref.folder / name
        data = _read(layout, path, "listed in the manifest but")
        if len(data) != spec["bytes"]:
            raise SnapshotRejected(
                f"{relative(layout, path)}: {len(data)} bytes but the manifest says {str(spec['bytes'])[:30]}: "
                "the copy is incomplete or was changed")
        digest = hashlib.sha256(data).hexdigest()
        if digest != spec["sha256"].lower():
            raise SnapshotRejected(
                f"{relative(layout, path)}: sha256 {digest[:12]}… does not match the manifest's {spec['sha256'][:12]!r}…: "
                "the file was changed after the crawl")
        if name == ADS_FILE:
            ads_bytes, ads_digest = data, digest
    return VerifiedSnapshot(ref, manifest, hashlib.sha256(raw).hexdigest(), ads_digest, ads_bytes)


class EarlierCopies:
    """Finds, for a verified snapshot, an earlier snapshot of the same site with the same ``ads.jsonl`` bytes.

    A crawl copied under a second snapshot id (a re-upload, a folder copied by hand) would count
    every observation twice. The earliest snapshot that itself verifies is the one that stands.
    Candidates are found by what their manifests declare (small files), and only a candidate whose
    manifest declares the same sha256 and size is read and verified. A file with no line holds no
    observation and is never called a copy.
    """

    def __init__(self, layout: DataLayout, refs: list[SnapshotRef]) -> None:
        self._layout = layout
        self._by_site: dict[str, list[SnapshotRef]] = {}
        for ref in sorted({r.name: r for r in refs if r.is_complete}.values(), key=lambda r: r.snapshot_id):
            self._by_site.setdefault(ref.site, []).append(ref)
        self._declared: dict[str, tuple[str, int] | None] = {}
        self._verifies: dict[str, bool] = {}

    def _declared_ads(self, ref: SnapshotRef) -> tuple[str, int] | None:
        if ref.name not in self._declared:
            try:
                spec = _load_manifest(self._layout, ref)[0].get("files", {}).get(ADS_FILE, {})
                value = (spec["sha256"].lower(), spec["bytes"])
            except (SnapshotRejected, AttributeError, KeyError, TypeError):
                value = None
            self._declared[ref.name] = value
        return self._declared[ref.name]

    def _loads(self, ref: SnapshotRef) -> bool:
        if ref.name not in self._verifies:
            try:
                verify(ref, self._layout)
                self._verifies[ref.name] = True
            except SnapshotRejected:
                self._verifies[ref.name] = False
        return self._verifies[ref.name]

    def of(self, snap: VerifiedSnapshot) -> SnapshotRef | None:
        """The earliest other snapshot of the site, older than ``snap``, that loads the same bytes; else None."""
        if not snap.ads_bytes.strip():
            return None
        key = (snap.ads_sha256, len(snap.ads_bytes))
        for other in self._by_site.get(snap.ref.site, []):
            if other.snapshot_id >= snap.ref.snapshot_id:
                break
            if self._declared_ads(other) == key and self._loads(other):
                return other
        return None

    def reason(self, snap: VerifiedSnapshot, other: SnapshotRef) -> str:
        return (f"{relative(self._layout, snap.ref.ads_path)}: the same bytes (sha256 {snap.ads_sha256[:12]}…) as "
                f"{relative(self._layout, other.ads_path)}: a second copy of that crawl, not loaded (its ads would be "
                f"counted twice); remove one of the two folders, or re-crawl if this snapshot should differ")
