"""What a run found, in words a person reads at the end of ``adnet demo`` / ``adnet run``."""

from __future__ import annotations

from adnet_assets.layout import DataLayout
from adnet_assets.lib import encryption
from adnet_assets.lib.safe_text import strip_controls
from adnet_assets.lib.store import connect, table_exists


def _plain(text: str) -> str:
    """Ad content as one line a terminal prints and never obeys (no ESC sequences, no line breaks)."""
    return " ".join(strip_controls(text).split())


def summary(layout: DataLayout) -> str:
    lines: list[str] = []
    with connect(layout.database, read_only=True, lock_timeout_s=30) as con:
        snaps = dict(con.execute("SELECT status, count(*) FROM snapshots GROUP BY ALL").fetchall())
        sites = con.execute("SELECT count(DISTINCT site) FROM snapshots").fetchone()[0]
        span = con.execute("SELECT min(snapshot_id), max(snapshot_id) FROM snapshots WHERE status = 'loaded'").fetchone()
        lines.append(
            f"Snapshots: {snaps.get('loaded', 0)} loaded from {sites} site(s)"
            + (f", {span[0]} .. {span[1]}" if span[0] else "")
            + (f"; {snaps['quarantined']} quarantined (do not match their manifest)" if snaps.get("quarantined") else "")
            + (f"; {snaps['incomplete']} still being written" if snaps.get("incomplete") else ""))
        n_obs = con.execute("SELECT count(*) FROM ad_observations").fetchone()[0]
        n_ads = con.execute("SELECT count(*) FROM ads").fetchone()[0]
        lines.append(f"Ads: {n_obs:,} observations of {n_ads:,} unique ads")
        n_phones, n_possible, n_obf = con.execute(
            "SELECT count(*), count(*) FILTER (status = 'possible'), count(*) FILTER (ever_obfuscated) FROM phones").fetchone()
        by_country = ", ".join(f"{c or '?'} {n}" for c, n in con.execute(
            "SELECT country, count(*) AS n FROM phones GROUP BY ALL ORDER BY n DESC").fetchall())
        lines.append(f"Phones: {n_phones:,} distinct numbers ({by_country}); {n_obf} shown obfuscated at least once; "
                     f"{n_possible} possible but not valid (kept, flagged)")
        unread = con.execute("""SELECT count(DISTINCT raw) FROM phone_strings WHERE phone IS NULL
                                AND raw IN (SELECT unnest(phones_raw) FROM ad_observations)""").fetchone()[0]
        if unread:
            lines.append(f"  {unread} displayed phone string(s) could not be read as a number (see phone_strings.reason)")
        top = con.execute("SELECT phone, n_ads, n_snapshots FROM phones ORDER BY n_ads DESC, phone LIMIT 3").fetchall()
        if top:
            lines.append("  most shared numbers: " + "; ".join(f"{p} on {a} ads" for p, a, _ in top))
        q = con.execute("""SELECT level, CASE WHEN reason LIKE 'duplicate ad_id%' THEN 'duplicate ad_id in one snapshot'
                                  WHEN level = 'line' THEN reason ELSE 'see the quarantine table' END AS r, count(*) AS n
                           FROM quarantine GROUP BY ALL ORDER BY n DESC""").fetchall()
        if q:
            lines.append("Quarantined: " + "; ".join(f"{n} {level}(s): {r}" for level, r, n in q))
        else:
            lines.append("Quarantined: nothing")
        if table_exists(con, "links"):
            lines.extend(_evidence(con))
        if table_exists(con, "networks"):
            lines.extend(_networks(con))
        if table_exists(con, "billing_counterparts"):
            lines.extend(_billing(con))
        if table_exists(con, "red_flags"):
            lines.extend(_red_flags(con))
    lines.append(f"Database: {layout.database}  (the pipeline's; runs write it)")
    if layout.analyst_database.is_file():
        if encryption.configured():
            lines.append(f"For SQL: ATTACH '{layout.analyst_database}' AS adnet "
                         f"(ENCRYPTION_KEY getenv('{encryption.KEY_ENV}'), READ_ONLY); USE adnet;  "
                         "(the analysts' copy, encrypted: in the duckdb CLI, with the key set)")
        else:
            lines.append(f"For SQL: duckdb -readonly {layout.analyst_database}  "
                         "(the analysts' copy: never locked by runs)")
    if layout.exports.is_dir() and any(layout.exports.iterdir()):
        lines.append(f"Exports: {layout.exports}")
        lines += [f"  {line}" for line in _export_lines(layout.exports)]
    return "\n".join(lines)


def _networks(con) -> list[str]:
    rows = con.execute("""SELECT network_id, n_ads, n_phones, n_owners, cities, strongest_evidence
                          FROM networks ORDER BY n_phones DESC, network_id""").fetchall()
    if not rows:
        return ["Networks: none found (no group of ads and numbers shows more than one person's pattern)"]
    out = [f"Networks: {len(rows)} found"]
    for nid, n_ads, n_phones, n_owners, cities, strongest in rows[:15]:
        where = _plain(", ".join((cities or [])[:4])) + (" ..." if cities and len(cities) > 4 else "")
        out.append(f"  {nid}: {n_ads} ads, {n_phones} phones, {n_owners} owners; {where}")
        if strongest:
            out.append(f"      strongest: {_plain(strongest.split('; ')[0])[:140]}")
    if len(rows) > 15:
        out.append(f"  ... and {len(rows) - 15} more (SELECT * FROM networks)")
    return out


def _evidence(con) -> list[str]:
    out = []
    if table_exists(con, "owners"):
        n_listings, n_owners = con.execute(
            "SELECT (SELECT count(*) FROM directory_listings), (SELECT count(*) FROM owners)").fetchone()
        generic = con.execute("SELECT count(*) FROM addresses WHERE generic").fetchone()[0]
        out.append(f"Directory: {n_listings:,} listings resolved to {n_owners:,} owners; "
                   f"{generic} generic address(es) (malls, phone shops, ...) link nobody")
    kinds = con.execute("""SELECT kind, count(*) FILTER (strength = 'strong'), count(*) FILTER (strength = 'weak')
                           FROM links GROUP BY kind ORDER BY kind""").fetchall()
    out.append("Evidence links: " + "; ".join(
        f"{k} {s:,}" + (f" (+{w:,} weak)" if w else "") for k, s, w in kinds))
    return out


def _export_lines(folder) -> list[str]:
    """What lies in the exports folder, one line per kind of file."""
    def count(sub: str, pattern: str) -> int:
        return sum(1 for _ in (folder / sub).glob(pattern)) if (folder / sub).is_dir() else 0

    out = []
    if (folder / "adnet.xlsx").is_file():
        out.append("adnet.xlsx every table (of a very big one, its rows about the networks: see the read-me sheet), "
                   "and a sheet per network with its picture (Excel)")
    if maps := count("networks", "network_*.xmind"):
        out.append(f"networks/  {maps} XMind map(s) and {count('networks', 'network_*.png')} picture(s), one per network")
    if count("graphs", "*.gexf"):
        out.append("graphs/    the evidence graph and each network: GEXF, GraphML (Gephi), nodes/edges CSV (i2, Maltego)")
    if count("aleph", "*.ftm.json"):
        out.append("aleph/     FollowTheMoney entities for OCCRP Aleph")
    return out


def _billing(con) -> list[str]:
    n_events, n_subs = con.execute("SELECT count(*), count(DISTINCT subscriber) FROM billing_events").fetchone()
    if not n_events:
        return []
    out = [f"Billing records: {n_events:,} events of {n_subs} recovered phone(s)"]
    rows = con.execute("""SELECT counterpart, best_group, score, reason FROM billing_counterparts
                          WHERE role = 'controller-like' ORDER BY rank LIMIT 5""").fetchall()
    n_controllers = con.execute("SELECT count(*) FROM billing_counterparts WHERE role = 'controller-like'").fetchone()[0]
    shown = f", the first {len(rows)}" if n_controllers > len(rows) else ""
    out.append(f"  {n_controllers} controller-like number(s){shown}"
               + (":" if rows else " (none runs several phones at fixed times)"))
    out += [f"  {cp} ({group}, score {score:.2f}): {reason}" for cp, group, score, reason in rows]
    roaming = con.execute("SELECT count(DISTINCT subscriber), count(*) FROM billing_roaming").fetchone()
    if roaming[1]:
        out.append(f"  {roaming[0]} phone(s) run from abroad in {roaming[1]} period(s) (billing_roaming)")
    return out


def _red_flags(con) -> list[str]:
    rows = con.execute("""SELECT entity_type, count(DISTINCT entity_key), count(*) FROM red_flags
                          GROUP BY ALL ORDER BY 1""").fetchall()
    if not rows:
        return []
    parts = "; ".join(f"{n_flags} on {n_entities} {kind}(s)" for kind, n_entities, n_flags in rows)
    return [f"Red flags: {parts} (screening signals, not verdicts: see red_flags.evidence)"]
