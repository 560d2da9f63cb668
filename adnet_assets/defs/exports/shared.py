"""Shared exports: the same files as ``exports/``, written from a pseudonymised copy, for partners.

    shared/adnet.xlsx                       every analyst table, a sheet per network with its picture
    shared/networks/network_<id>.png|.xmind a picture and an XMind map of each network
    shared/graphs/<stem>.gexf|graphml|csv   the evidence graph and each network (Gephi, i2, Maltego)
    shared/aleph/<stem>.ftm.json            FollowTheMoney entities (OCCRP Aleph)
    shared/README.txt                       what is hashed and withheld, and the key id

Phones, owners, names, addresses, ads and photos are keyed hashes (``lib/pseudonymise.py``), ad text
is withheld. The key comes from ``ADNET_PSEUDONYM_KEY`` only, so ``shared_exports`` is not part of
``adnet_job`` (``adnet run`` needs no key): run ``adnet share`` or materialise it in the UI. Each
delivery leaves one ``audit_log`` row (counts, the folder and the key id; nothing personal).
"""

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg

from adnet_assets.defs.exports.assets import _network_ids, _progress
from adnet_assets.defs.metadata import markdown_table
from adnet_assets.defs.resources import DUCKDB_POOL, AdnetData
from adnet_assets.lib import audit, encryption
from adnet_assets.lib.excel_export import write_workbook
from adnet_assets.lib.ftm_export import write_all_ftm_entities
from adnet_assets.lib.graph_export import graph_stem, write_graph_files, write_network_graph_files
from adnet_assets.lib.network_picture import write_network_pictures
from adnet_assets.lib.pseudonymise import (EXTRA_SOURCES, REGISTRY, WITHHELD, build_pseudonymised_tables,
                                           key_from_env)
from adnet_assets.lib.red_flags import DISCLAIMER
from adnet_assets.lib.store import atomic_file, memory_connection, prune_files
from adnet_assets.lib.xmind_export import write_network_maps
from adnet_assets.schema import TABLES

GROUP = "exports"
ASSET = "shared_exports"
README_FILE = "README.txt"
#: every table the shared copy is built from: the shared tables and those whose identifiers their texts quote
SOURCES = sorted(set(REGISTRY) | set(EXTRA_SOURCES))

_PSEUDONYMS = ("phone-…: a phone number (E.164); person-…: a directory owner, however the directory spells the "
               "name; name-…: one spelling of a name; address-…: an address (every spelling of it); ad-…: an ad "
               "(site:ad_id); adname-…: an advertised name; photo-…: a photo; contact-…: a Telegram handle; "
               "block-…: the first digits of a number series")
_WITHHELD = (f"ad titles, texts, raw lines, URLs, image lists, tours, contact objects, phone numbers as displayed, "
             f"address variants and postcodes are {WITHHELD} or empty; long numbers the pseudonymiser does not know "
             f"are [number], links [url]")


def _readme(key_id: str) -> list[tuple[str, str]]:
    """The workbook's first sheet (and README.txt): what the copy is and how to read it."""
    rows = [("adnet (shared)", "A pseudonymised copy of the adnet database for partners: networks, evidence and "
                               "red flags, with people replaced by keyed hashes."),
            ("key id", f"{key_id}: deliveries with the same key id use the same pseudonyms (join them); another "
                       f"key id means unlinkable pseudonyms"),
            ("pseudonyms", _PSEUDONYMS),
            ("withheld", _WITHHELD),
            ("kept", "network ids, sites, cities, dates, counts, scores, link kinds and weights"),
            ("caution", DISCLAIMER),
            ("caution", "Pseudonyms are not anonymity: someone who knows a number and sees its pattern may recognise "
                        "it. Share with partners you trust, keep the key away from them.")]
    rows += [(name, f"one row per {TABLES[name].grain}: {TABLES[name].description}")
             for name in REGISTRY if name in TABLES]
    rows.append(("network <id>", "one sheet per network: its members, why each is there, and its picture"))
    return rows


def write_shared_files(con, folder: Path, *, key_id: str,
                       progress: Callable[[str], Callable[[int, int], None] | None] = lambda what: None,
                       log: Callable[[str], None] = lambda message: None) -> dict[str, int]:
    """Write every export from the pseudonymised tables in ``con`` into ``folder`` (each file atomically),
    remove files of networks that no longer exist, and return how many files of each kind were written."""
    folder = Path(folder)
    networks = folder / "networks"
    pictures = write_network_pictures(con, networks, progress=progress("shared network pictures"))
    prune_files(networks, "network_*.png", pictures.values())
    log(f"drew {len(pictures)} network picture(s)")
    maps = write_network_maps(con, networks, pictures=pictures, progress=progress("shared XMind maps"))
    prune_files(networks, "network_*.xmind", maps.values())
    log(f"wrote {len(maps)} XMind map(s)")
    readme = _readme(key_id)
    workbook = write_workbook(con, folder / "adnet.xlsx", pictures=pictures, readme=readme)
    log(f"wrote the workbook ({len(workbook.sheets)} sheets)")

    ids = _network_ids(con)
    graphs = folder / "graphs"
    per_network = write_network_graph_files(con, graphs, ids, progress=progress("shared graph files"))
    kept = [*write_graph_files(con, graphs).values(), *(p for paths in per_network.values() for p in paths.values())]
    aleph = folder / "aleph"
    whole, reports = write_all_ftm_entities(con, aleph / "evidence_graph.ftm.json",
                                            {nid: aleph / f"{graph_stem(nid)}.ftm.json" for nid in ids},
                                            progress=progress("shared Aleph files"))
    entities = [whole.path, *(r.path for r in reports.values())]
    prune_files(graphs, "network_*", kept)
    prune_files(aleph, "network_*.ftm.json", entities)
    log(f"wrote the graph and Aleph files of the evidence graph and {len(ids)} network(s)")

    made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = "\n\n".join(f"{topic}: {body}" for topic, body in [("written", made), *readme[:7]]) + "\n"
    with atomic_file(folder / README_FILE) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return {"networks": len(ids), "pictures": len(pictures), "xmind_maps": len(maps), "workbooks": 1,
            "graph_files": len(kept), "aleph_files": len(entities), "readme": 1}


@dg.asset(deps=SOURCES, group_name=GROUP, pool=DUCKDB_POOL, kinds={"excel", "xmind", "gephi", "aleph"},
          description="Pseudonymised exports for partners in <data>/shared/: phones, owners, names, addresses, ads "
                      "and photos as keyed hashes (key from ADNET_PSEUDONYM_KEY), ad text withheld. Not part of "
                      "adnet_job: run `adnet share`.")
def shared_exports(context: dg.AssetExecutionContext, adnet: AdnetData) -> dg.MaterializeResult:
    key = key_from_env()  # the message names the variable and how to make a key
    layout = adnet.layout
    folder = layout.shared_exports
    context.log.info(f"pseudonymising {layout.database.name} into an in-memory copy")
    with memory_connection(layout.tmp, threads=adnet.duckdb_threads) as con:
        built = build_pseudonymised_tables(layout.database, key, con, source_key=encryption.key_from_env(),
                                           lock_timeout_s=adnet.lock_timeout_s)
        context.log.info(f"{len(built.tables)} table(s) pseudonymised with key id {built.key_id}: "
                         + ", ".join(f"{n:,} {kind}" for kind, n in built.identifiers.items())
                         + f" identifiers; {built.texts_rewritten:,} distinct text(s) rewritten")
        for table, columns in built.left_out.items():
            context.log.warning(f"{table}: column(s) {', '.join(columns)} left out of the shared copy: "
                                "lib/pseudonymise.py REGISTRY does not say how to share them")
        files = write_shared_files(con, folder, key_id=built.key_id, log=context.log.info,
                                   progress=lambda what: _progress(context, what))
    n_files = sum(v for k, v in files.items() if k != "networks")
    scope = (f"shared/: {files['networks']} network(s), {n_files} file(s) (workbook, {files['xmind_maps']} XMind "
             f"map(s), {files['pictures']} picture(s), {files['graph_files']} graph file(s), {files['aleph_files']} "
             f"Aleph file(s)); {sum(built.tables.values()):,} row(s) in {len(built.tables)} table(s); key id "
             f"{built.key_id}")
    with adnet.connect(log=context.log.info) as con:
        audit.record(con, "shared_export", scope, run_id=context.run.run_id)
    context.log.info(f"wrote {n_files} file(s) to {folder}")
    return dg.MaterializeResult(metadata={
        "folder": dg.MetadataValue.path(str(folder)),
        "key_id": built.key_id,
        "networks": files["networks"],
        "files": n_files,
        "tables": dg.MetadataValue.md(markdown_table(["table", "rows"], sorted(built.tables.items()))),
        "identifiers": dg.MetadataValue.md(markdown_table(["kind", "distinct"], sorted(built.identifiers.items()))),
        "texts_rewritten": built.texts_rewritten,
        "left_out": dg.MetadataValue.md(markdown_table(["table", "columns"], [
            (t, ", ".join(c)) for t, c in sorted(built.left_out.items())]) if built.left_out else "nothing"),
    })
