"""Export invariants: every network has its picture and a map that both XMind generations can open
(run in their asset's step: defs/checks.py)."""

import zipfile

import dagster as dg
import duckdb

from adnet_assets.defs.checks import asset_check
from adnet_assets.defs.resources import AdnetData
from adnet_assets.lib.network_picture import picture_name
from adnet_assets.lib.xmind_export import map_file_name

_XMIND_PARTS = {"content.json", "metadata.json", "manifest.json", "content.xml", "META-INF/manifest.xml"}


def _network_ids(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute("SELECT network_id FROM networks ORDER BY network_id").fetchall()]


def _result(missing: list[str], what: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=not missing, metadata={
        "problems": len(missing), "first": dg.MetadataValue.text("; ".join(missing[:10]) or "none"), "rule": what})


@asset_check("network_pictures", description="Every network has its PNG picture.")
def every_network_pictured(adnet: AdnetData, con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    folder = adnet.layout.exports / "networks"
    with_png_magic = b"\x89PNG\r\n\x1a\n"
    missing = [nid for nid in _network_ids(con)
               if not (folder / picture_name(nid)).is_file()
               or (folder / picture_name(nid)).read_bytes()[:8] != with_png_magic]
    return _result(missing, "exports/networks/network_<id>.png exists and is a PNG")


@asset_check("xmind_maps",
             description="Every network has an XMind file holding both forms: content.json (XMind 2020+) and "
                         "content.xml (XMind 8), with their manifests.")
def every_map_holds_both_forms(adnet: AdnetData, con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    folder = adnet.layout.exports / "networks"
    problems = []
    for nid in _network_ids(con):
        path = folder / map_file_name(nid)
        try:
            with zipfile.ZipFile(path) as archive:
                lacking = _XMIND_PARTS - set(archive.namelist())
        except (OSError, zipfile.BadZipFile) as exc:
            problems.append(f"{nid}: {exc}")
            continue
        if lacking:
            problems.append(f"{nid}: no {', '.join(sorted(lacking))}")
    return _result(problems, "exports/networks/network_<id>.xmind holds both forms")
