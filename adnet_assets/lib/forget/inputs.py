"""Step 2 of a forget: the input files rewritten without the found records, byte for byte otherwise.

Same encoding, BOM, delimiter, quoting and line ends: lines are cut at the physical line ends the
readers count (``cut_lines``), so line numbers elsewhere shift but nothing else changes. A CSV left
without any data row is deleted (a billing file is named after its subscriber). A snapshot's
``manifest.json`` gets the new sha256 and size of ``ads.jsonl`` and ``"redacted_lines"`` (a running
count, never which lines), so the snapshot still verifies; it is written *before* ``ads.jsonl``, and
a manifest that matches the rewritten file counts as matching, so an interruption between the two is
repaired by the next forget. A snapshot that did not match its manifest before keeps its
(mismatching) manifest: it stays quarantined."""

from __future__ import annotations

import codecs
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from adnet_assets.layout import ADS_FILE, MANIFEST_FILE
from adnet_assets.lib.csv_records import decode_csv_bytes, normalise_newlines
from adnet_assets.lib.forget.plan import FileEdit, Plan
from adnet_assets.lib.store import atomic_file


def csv_lines(data: bytes) -> tuple[list[str], int]:
    """The physical lines of a CSV as the reader numbers them, and the header's line number (0: none)."""
    text, _ = decode_csv_bytes(data)
    lines = normalise_newlines(text).split("\n")
    header = next((i + 1 for i, line in enumerate(lines) if line.strip()), 0)
    return lines, header


def _split_keepends(data, sep):
    """Physical lines with their terminators (the last one may have none)."""
    parts = data.split(sep)
    return [p + sep for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def cut_lines(data: bytes, drop: Iterable[int], *, csv: bool) -> bytes:
    """``data`` without the 1-based physical lines ``drop``, byte for byte otherwise.

    Lines are numbered as the readers number them: an ``ads.jsonl`` at every LF; a CSV at every LF
    (CR before it stays with the line), or at every CR when the file has no LF (old Mac), after
    decoding (UTF-16 files are cut as text and encoded again with their byte order and BOM). A BOM
    stays at the start of the file when the first line goes. When the last line goes and the file
    did not end with a line end, the new last line loses its line end too."""
    drop = set(drop)
    if not drop:
        return data
    bom = b""
    if csv:
        text, encoding = decode_csv_bytes(data)
        if encoding.startswith(("utf-16", "utf-32")):
            bom, codec = _wide_codec(data, encoding)
            text = data[len(bom):].decode(codec)
            sep = "\n" if "\n" in text else "\r"
            return bom + "".join(_keep(_split_keepends(text, sep), drop, sep)).encode(codec)
    if data.startswith(b"\xef\xbb\xbf"):
        bom, data = data[:3], data[3:]
    sep = b"\n" if (not csv or b"\n" in data) else b"\r"
    pieces = _split_keepends(data, sep)
    return bom + b"".join(_keep(pieces, drop, sep))


def _wide_codec(data: bytes, encoding: str) -> tuple[bytes, str]:
    """(BOM bytes, codec with its byte order) of a UTF-16/32 file as ``decode_csv_bytes`` named it."""
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
                       (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if encoding in ("utf-16", "utf-32") and data.startswith(bom) and codec.startswith(encoding):
            return bom, codec
    return b"", encoding  # utf-16-le / utf-16-be without a BOM


def _keep(pieces: list, drop: set[int], sep):
    """The pieces not dropped; when the last line went and the file had no line end after it, the new
    last line loses its line end (CR LF or the separator) so that the file still ends the same way."""
    kept = [p for i, p in enumerate(pieces, 1) if i not in drop]
    ended = bool(pieces) and pieces[-1].endswith(sep)
    if kept and not ended and len(pieces) in drop and kept[-1].endswith(sep):
        crlf = "\r\n" if isinstance(sep, str) else b"\r\n"
        kept[-1] = kept[-1][: -len(crlf)] if kept[-1].endswith(crlf) else kept[-1][: -len(sep)]
    return kept


def write_bytes(target: Path, data: bytes) -> None:
    """Replace ``target`` with ``data`` atomically, keeping its permissions."""
    mode = target.stat().st_mode & 0o777 if target.exists() else None
    with atomic_file(target) as tmp:
        tmp.write_bytes(data)
        if mode is not None:
            os.chmod(tmp, mode)


def _manifest_state(manifest: dict, old: bytes, new: bytes) -> str:
    """'old' when the manifest lists the file as it is, 'new' when it already lists the rewritten one
    (a forget interrupted between the two writes), else 'broken'."""
    spec = (manifest.get("files") or {}).get(ADS_FILE) if isinstance(manifest.get("files"), dict) else None
    if not isinstance(spec, dict):
        return "broken"
    for state, data in (("old", old), ("new", new)):
        if spec.get("bytes") == len(data) and str(spec.get("sha256", "")).lower() == hashlib.sha256(data).hexdigest():
            return state
    return "broken"


def _rewrite_snapshot(edit: FileEdit, log: Callable[[str], None]) -> None:
    old = edit.path.read_bytes()
    new = cut_lines(old, edit.lines, csv=False)
    manifest_path = edit.path.parent / MANIFEST_FILE
    raw = manifest_path.read_bytes()
    try:
        manifest = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        manifest = None
    state = _manifest_state(manifest, old, new) if isinstance(manifest, dict) else "broken"
    if state == "broken":
        log(f"  {edit.source_file}: did not match its {MANIFEST_FILE} before (quarantined); its lines are cut, "
            "the manifest is left as it was")
    else:
        # manifest first: a forget interrupted before ads.jsonl is written finds a manifest that matches
        # the rewritten file, and completes it
        manifest["files"][ADS_FILE] = {**manifest["files"][ADS_FILE], "sha256": hashlib.sha256(new).hexdigest(),
                                       "bytes": len(new)}
        if state == "old":
            previous = manifest.get("redacted_lines")
            manifest["redacted_lines"] = (previous if isinstance(previous, int) else 0) + len(edit.lines)
        text = json.dumps(manifest, ensure_ascii=False, indent=2 if b"\n  " in raw else None)
        write_bytes(manifest_path, (text + ("\n" if raw.endswith(b"\n") else "")).encode("utf-8"))
    write_bytes(edit.path, new)


def _data_left(data: bytes) -> bool:
    """A CSV still holds a data row (a non-blank line after its header)."""
    lines, header = csv_lines(data)
    return bool(header) and any(line.strip() for line in lines[header:])


def rewrite_inputs(plan: Plan, *, log: Callable[[str], None] | None = None) -> dict[str, int]:
    """Step 2: cut the found lines from the input files (atomically, one file at a time).

    Returns counts: files rewritten and CSV files deleted because no data row was left."""
    say = log or (lambda message: None)
    counts = {"rewritten": 0, "deleted": 0}
    for edit in plan.edits:
        if edit.kind == "snapshot":
            _rewrite_snapshot(edit, say)
            counts["rewritten"] += 1
            continue
        new = cut_lines(edit.path.read_bytes(), edit.lines, csv=True)
        if not _data_left(new):
            edit.path.unlink()
            counts["deleted"] += 1
            say(f"  {edit.source_file}: no row left, file deleted")
            continue
        write_bytes(edit.path, new)
        counts["rewritten"] += 1
    return counts
