"""Networks: the organisations behind the ads, found in the evidence graph, every member explained.

The graph has one node per entity (typed keys ``phone:+47…``, ``ad:<site>:<id>``, ``owner:O-…``,
``address:<key>``) and one edge per pair of entities, carrying every ``links`` row between them
(``for_networks`` only). Strong links build networks; weak series links (chance neighbours in a busy
block) only when ``use_weak_series`` is set, and even then a weak link that alone bridges two groups
is cut (``min_bridge_weight``).

1. Candidates are the connected components of that graph, after cutting low-weight bridges and
   splitting components too large to be one organisation (``max_component_ads``) with Louvain
   communities (fixed seed, so the same input gives the same networks).
2. A candidate becomes a network only when it shows more than one person's pattern: several ads,
   several numbers, and a second owner, a rotation between numbers, or a strong series run.
3. Every member carries the evidence path that put it there: the strongest path (product of link
   weights, i.e. shortest path over ``-log(weight)``) from the network's seed, its best-connected
   phone. ``via`` is the member it was reached from, and ``explanation`` the link's evidence in words,
   with each phone's directory owner (or "not in the directory").
4. Ids are stable: this run's networks are matched to the previous run's (``_network_snapshot``) by
   Jaccard overlap of their members through an inverted index (member → previous network, never all
   pairs); ``network_history`` gets one row per network per run (new, kept, grown, shrunk, split,
   merged) and one per retired id (dissolved, or merged/split into its successors).

No Dagster here: the asset calls ``build_networks`` inside its transaction.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone

import duckdb
import networkx as nx
import pandas as pd

from adnet_assets.lib.keys import split as split_key
from adnet_assets.lib.store import ensure_table, replace_table, table_exists
from adnet_assets.schema import NETWORK_HISTORY, NETWORK_MEMBERS, NETWORKS

SNAPSHOT_TABLE = "_network_snapshot"
_SNAPSHOT_DDL = f"""CREATE TABLE IF NOT EXISTS {SNAPSHOT_TABLE} (
    network_id VARCHAR, members VARCHAR[], run_at TIMESTAMPTZ, last_issued BIGINT)"""
_ID_RE = re.compile(r"^N-(\d+)$")


@dataclass(frozen=True)
class NetworkParams:
    """Thresholds of network detection. The defaults argue from what a reporter must be able to defend.

    ``min_ads`` 4, ``min_phones`` 3: one woman with two ads and two numbers (a work phone and a new
    one) is not a network, nor is one who reposts the same ad with both numbers; the smallest real
    networks have several ads and several numbers. ``min_owners`` 2, or a rotation between numbers,
    or a strong series run of at least ``min_series_numbers`` 3 numbers: one person's ads and numbers
    registered to her alone look the same as a small network's unless something shows a second
    person's hand: a second registered owner, numbers swapped on one ad (ID rotation), or a run of
    numbers bought together. A candidate must pass all three tests (a false network is worse than a
    missed phone).

    ``use_weak_series`` False: weak series groups are neighbours in busy blocks, expected by chance;
    they never build networks alone. ``min_bridge_weight`` 0.5: a link below it that is the only tie
    between two parts of a component (a bridge) is cut before the rules are applied; with strong
    links only, every strong weight is ≥ 0.6, so this only bites when weak links are let in.
    ``max_component_ads`` 400: the largest planted and reported organisations run tens of ads;
    a component of hundreds is glued by a hub (a phone shop's number, an aggregator ad), so it is
    split into Louvain communities (``louvain_resolution`` 1.0, ``louvain_seed`` 7: fixed, so
    re-runs give the same split) and each community is judged on its own.

    ``min_overlap_keep`` 0.5: a network keeps its id when at least half of the union of its old and
    new members is shared (Jaccard), so a note written about it still points at mostly the same
    people; each old id goes to at most one network, the largest overlap first. ``min_share_related``
    0.5: a network counts as split from (or merged with) an older one when they share at least half
    of the smaller of the two, so one member moving does not make a split.

    ``score_top_links`` 5: the score is the mean weight of the network's five strongest links other
    than ad↔phone (missing ones count 0), so a network held together by five strong ties scores like
    their mean and one held by a single tie a fifth of it.
    """

    min_ads: int = 4
    min_phones: int = 3
    min_owners: int = 2
    min_series_numbers: int = 3
    use_weak_series: bool = False
    min_bridge_weight: float = 0.5
    max_component_ads: int = 400
    louvain_resolution: float = 1.0
    louvain_seed: int = 7
    min_overlap_keep: float = 0.5
    min_share_related: float = 0.5
    score_top_links: int = 5


@dataclass
class NetworkReport:
    n_candidates: int = 0
    n_networks: int = 0
    n_rejected_small: dict[str, int] = field(default_factory=dict)
    n_split: int = 0
    splits: list[str] = field(default_factory=list)
    ids_kept: list[str] = field(default_factory=list)
    ids_new: list[str] = field(default_factory=list)
    dissolved: list[str] = field(default_factory=list)
    events: dict[str, int] = field(default_factory=dict)


# ---------------------------------------------------------------- graph

@dataclass(frozen=True)
class _Link:
    weight: float
    kind: str
    evidence: str
    source: str
    strength: str


def _load_graph(con: duckdb.DuckDBPyConnection, params: NetworkParams) -> nx.Graph:
    g = nx.Graph()
    if not table_exists(con, "links"):
        return g
    rows = con.execute("""
        SELECT a, b, kind, weight, coalesce(evidence, ''), coalesce(source, ''), coalesce(strength, 'strong')
        FROM links
        WHERE coalesce(for_networks, false) AND a IS NOT NULL AND b IS NOT NULL AND a <> b AND weight > 0
          AND (strength = 'strong' OR (? AND kind = 'series' AND strength = 'weak'))
        ORDER BY a, b, weight DESC, kind, evidence""", [params.use_weak_series]).fetchall()
    # the links of each pair gathered first, then the edges added at once in the order their pair first
    # came (nodes and neighbours are inserted in the same order as one add_edge per pair would)
    pairs: dict[tuple[str, str], tuple[str, str, list[_Link]]] = {}
    for a, b, kind, weight, evidence, source, strength in rows:
        link = _Link(min(float(weight), 1.0), kind, evidence, source, strength)
        key = (a, b) if a < b else (b, a)
        if key in pairs:
            pairs[key][2].append(link)
        else:
            pairs[key] = (a, b, [link])
    g.add_edges_from((a, b, {"links": links}) for a, b, links in pairs.values())
    for _, _, d in g.edges(data=True):
        d["links"].sort(key=lambda l: (-l.weight, l.kind, l.evidence))
        d["weight"] = d["links"][0].weight
        d["dist"] = -math.log(max(d["weight"], 1e-9))
    return g


def _etype(node: str) -> str:
    return node.partition(":")[0]


def _n_ads(nodes) -> int:
    return sum(1 for n in nodes if n.startswith("ad:"))


def _components(g: nx.Graph, params: NetworkParams, report: NetworkReport) -> list[set[str]]:
    """Candidates: components after cutting weak bridges and splitting giant components."""
    out: list[set[str]] = []
    for comp in sorted(nx.connected_components(g), key=lambda c: min(c)):
        if len(comp) < 2:
            continue
        # Only a link below min_bridge_weight can be a weak bridge: a component without one (nearly
        # all of them: tens of thousands of small ones in a large market) needs no bridge search.
        if all(w >= params.min_bridge_weight for _, _, w in g.edges(comp, data="weight")):
            weak = []
        else:
            sub = _ordered_subgraph(g, comp)
            weak = [(u, v) for u, v in nx.bridges(sub) if sub[u][v]["weight"] < params.min_bridge_weight]
        parts = [comp]
        if weak:
            cut = nx.Graph(sub)
            cut.remove_edges_from(weak)
            parts = [p for p in nx.connected_components(cut) if len(p) >= 2]
            if _n_ads(comp) >= params.min_ads:  # smaller ones were never candidates: not worth a line
                cuts = ", ".join(f"{sub[u][v]['links'][0].kind} {u} – {v} ({sub[u][v]['weight']:.2f})"
                                 for u, v in sorted(weak)[:5]) + (" …" if len(weak) > 5 else "")
                report.n_split += 1
                report.splits.append(f"component of {_n_ads(comp)} ads, {len(comp)} entities: cut {len(weak)} bridge(s) "
                                     f"below weight {params.min_bridge_weight} [{cuts}] into {len(parts)} part(s)")
        for part in parts:
            if _n_ads(part) <= params.max_component_ads:
                out.append(set(part))
                continue
            psub = _ordered_subgraph(g, part)
            communities = nx.community.louvain_communities(
                psub, weight="weight", resolution=params.louvain_resolution, seed=params.louvain_seed)
            pieces = [set(c) for com in communities for c in nx.connected_components(_ordered_subgraph(psub, com)) if len(c) >= 2]
            report.n_split += 1
            report.splits.append(f"component of {_n_ads(part)} ads (> max_component_ads {params.max_component_ads}), "
                                 f"{len(part)} entities: split into {len(pieces)} Louvain communities "
                                 f"(seed {params.louvain_seed}, largest {max((_n_ads(p) for p in pieces), default=0)} ads)")
            out.extend(pieces)
    return out


def _series_group(source: str) -> str:
    return source.split(":", 1)[1].strip() if ":" in source else source


def _judge(g: nx.Graph, comp: set[str], params: NetworkParams) -> str | None:
    """None when the candidate shows more than one person's pattern, else the reason it does not."""
    counts = Counter(_etype(n) for n in comp)
    if counts["ad"] < params.min_ads:
        return "too_few_ads"
    if counts["phone"] < params.min_phones:
        return "too_few_phones"
    if counts["owner"] >= params.min_owners:
        return None
    series: dict[str, set[str]] = defaultdict(set)
    for u, v, d in _ordered_subgraph(g, comp).edges(data=True):
        for link in d["links"]:
            if link.kind == "rotation" and u.startswith("phone:") and v.startswith("phone:"):
                return None
            if link.kind == "series" and link.strength == "strong":
                series[_series_group(link.source)].update((u, v))
    if any(len(p) >= params.min_series_numbers for p in series.values()):
        return None
    return "one_person_pattern"


# ---------------------------------------------------------------- explanations

def _seed(sub: nx.Graph) -> str:
    def rank(n):
        return (-sub.degree(n), -sub.degree(n, weight="weight"), n)
    phones = [n for n in sub if n.startswith("phone:")]
    return min(phones or list(sub), key=rank)


def _label(node: str, owner_names: dict[str, str]) -> str:
    kind, value = split_key(node)
    if kind == "phone":
        return value
    if kind == "owner" and owner_names.get(value):
        return f"owner {value} ({owner_names[value]})"
    return f"{kind} {value}"


def _directory_note(g: nx.Graph, phone: str, owner_names: dict[str, str], unnamed: set[str]) -> str:
    owners = sorted(n for n in g.neighbors(phone) if n.startswith("owner:")
                    and any(l.kind == "directory" for l in g[phone][n]["links"]))
    if owners:
        return "registered to " + ", ".join(_label(o, owner_names) for o in owners)
    if split_key(phone)[1] in unnamed:
        return "listed in the directory without a name (reserved or hidden)"
    return "not in the directory"


_PATH_HOPS = 8  # longer evidence paths are shown with their middle elided


def _explain(g: nx.Graph, comp: set[str], owner_names: dict[str, str], unnamed: set[str]) -> list[dict]:
    sub = _ordered_subgraph(g, comp)
    seed = _seed(sub)
    _, paths = nx.single_source_dijkstra(sub, seed, weight="dist")
    rows = []
    for node in sorted(comp):
        kind, value = split_key(node)
        if node == seed:
            words = (f"{_label(node, owner_names)}: seed of the network, its best-connected "
                     f"{'phone' if kind == 'phone' else 'member'} ({sub.degree(node)} links)")
            via = link_kind = weight = None
        else:
            path = paths[node]
            via = path[-2]
            link = sub[via][node]["links"][0]
            label = _label(node, owner_names)
            words = link.evidence if link.evidence.startswith(label) else f"{label}: {link.evidence}"
            if len(path) > 2:  # the whole evidence path back to the seed, by typed key
                hops = path if len(path) <= _PATH_HOPS else [*path[:2], "…", *path[-(_PATH_HOPS - 3):]]
                words += " (path from the seed: " + " → ".join(hops) + ")"
            link_kind, weight = link.kind, link.weight
        if kind == "phone":
            words += "; " + _directory_note(g, node, owner_names, unnamed)
        rows.append({"member_type": kind, "member_key": value, "explanation": words, "via": via,
                     "link_kind": link_kind, "weight": weight})
    return rows


def _ordered_subgraph(g: nx.Graph, nodes) -> nx.Graph:
    """A copy of ``g`` on ``nodes`` with nodes and edges inserted in sorted order.

    networkx's subgraph views iterate the node *set* they are given, whose order changes with
    Python's string hashing from one process to the next; paths, Louvain and ties would then differ
    between two runs on the same data. Every graph walked here is built in a fixed order instead.
    """
    keep = sorted(nodes)
    inside = set(keep)
    edges = sorted(((min(u, v), max(u, v), d) for u, v, d in g.edges(keep, data=True) if u in inside and v in inside),
                   key=lambda e: (e[0], e[1]))
    sub = nx.Graph()
    sub.add_nodes_from((n, g.nodes[n]) for n in keep)
    sub.add_edges_from(edges)
    return sub


def _strongest(sub: nx.Graph, params: NetworkParams) -> tuple[str, float]:
    links = sorted((l for _, _, d in sub.edges(data=True) for l in d["links"]),
                   key=lambda l: (l.kind != "ad_phone", l.weight, l.kind == "rotation", l.evidence), reverse=True)
    top = [l.evidence for l in links[:3]]
    tying = [l.weight for l in links if l.kind != "ad_phone"][:params.score_top_links]
    score = sum(tying) / params.score_top_links if params.score_top_links else 0.0
    return "; ".join(top), round(min(score, 1.0), 4)


# ---------------------------------------------------------------- stable ids

def _previous(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, frozenset[str]], int]:
    con.execute(_SNAPSHOT_DDL)
    prev = {nid: frozenset(m or []) for nid, m in con.execute(
        f"SELECT network_id, members FROM {SNAPSHOT_TABLE} WHERE network_id IS NOT NULL").fetchall()}
    issued = [con.execute(f"SELECT coalesce(max(last_issued), 0) FROM {SNAPSHOT_TABLE}").fetchall()[0][0]]
    ids = list(prev)
    if table_exists(con, NETWORK_HISTORY.name):
        ids += [r[0] for r in con.execute(f"SELECT DISTINCT network_id FROM {NETWORK_HISTORY.name}").fetchall() if r[0]]
    issued += [int(m.group(1)) for m in map(_ID_RE.match, ids) if m]
    return prev, max(issued)


def _assign_ids(current: list[frozenset[str]], prev: dict[str, frozenset[str]], last_issued: int,
                params: NetworkParams) -> tuple[list[str], list[dict], list[dict], int]:
    """Ids for this run's networks and the history rows (per current network, per retired id)."""
    index: dict[str, str] = {}
    for nid, members in prev.items():
        for m in members:
            index[m] = nid  # each entity is in at most one network per run
    inter: list[Counter] = []
    for members in current:
        inter.append(Counter(index[m] for m in members if m in index))

    def jaccard(i: int, nid: str) -> float:
        k = inter[i][nid]
        return k / (len(current[i]) + len(prev[nid]) - k)

    def related(i: int, nid: str) -> bool:
        return inter[i][nid] >= params.min_share_related * min(len(current[i]), len(prev[nid]))

    pairs = sorted(((jaccard(i, nid), inter[i][nid], i, nid) for i in range(len(current)) for nid in inter[i]),
                   key=lambda t: (-t[0], -t[1], t[2], t[3]))
    ids: list[str | None] = [None] * len(current)
    used: set[str] = set()
    for jac, _, i, nid in pairs:
        if jac < params.min_overlap_keep:
            break
        if ids[i] is None and nid not in used:
            ids[i] = nid
            used.add(nid)
    # new ids in a deterministic order: biggest networks first
    for i in sorted((i for i in range(len(current)) if ids[i] is None), key=lambda i: (-len(current[i]), min(current[i]))):
        last_issued += 1
        ids[i] = f"N-{last_issued}"

    succ: dict[str, list[int]] = defaultdict(list)
    for i in range(len(current)):
        for nid in inter[i]:
            if related(i, nid):
                succ[nid].append(i)
    rows, retired = [], []
    for i, nid in enumerate(ids):
        preds = sorted(p for p in inter[i] if related(i, p))
        if nid in prev:
            others = [p for p in preds if p != nid]
            siblings = sorted(ids[j] for j in succ[nid] if j != i)
            if others:
                event, rel = "merged", others
            elif siblings:
                event, rel = "split", siblings
            else:
                n_old, n_new = len(prev[nid]), len(current[i])
                event, rel = ("grown" if n_new > n_old else "shrunk" if n_new < n_old else "kept"), []
            overlap = jaccard(i, nid)
        else:
            if len(preds) >= 2:
                event, rel = "merged", preds
            elif preds:
                event, rel = "split", preds
            else:
                event, rel = "new", []
            overlap = max((jaccard(i, p) for p in preds), default=0.0)
        rows.append({"network_id": nid, "event": event, "related_ids": rel, "overlap": round(overlap, 4),
                     "n_members": len(current[i])})
    for nid in sorted(set(prev) - used, key=lambda s: (len(s), s)):
        heirs = sorted(ids[j] for j in succ[nid])
        event = "dissolved" if not heirs else "split" if len(heirs) > 1 else "merged"
        best = max((inter[j][nid] / (len(current[j]) + len(prev[nid]) - inter[j][nid]) for j in succ[nid]), default=0.0)
        retired.append({"network_id": nid, "event": event, "related_ids": heirs, "overlap": round(best, 4),
                        "n_members": 0})
    return ids, rows, retired, last_issued  # type: ignore[return-value]


# ---------------------------------------------------------------- lookups

def _owner_names(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    if not table_exists(con, "owners"):
        return {}
    return {o: n for o, n in con.execute("SELECT owner_id, name FROM owners").fetchall() if o}


def _unnamed_listed(con: duckdb.DuckDBPyConnection) -> set[str]:
    if not table_exists(con, "directory_matches"):
        return set()
    return {r[0] for r in con.execute(
        "SELECT phone FROM directory_matches GROUP BY phone HAVING count(owner_id) = 0").fetchall()}


def _summary_sql(con: duckdb.DuckDBPyConnection) -> str:
    """Per network: dates, cities and owners' names from whichever tables exist (members in _adnet_nm)."""
    has_ads, has_obs, has_owners = (table_exists(con, t) for t in ("ads", "observation_phones", "owners"))
    dates = ("SELECT m.network_id, min(a.first_seen) AS first_seen, max(a.last_seen) AS last_seen "
             "FROM _adnet_nm m JOIN ads a ON a.ad_key = m.member_key WHERE m.member_type = 'ad' GROUP BY 1") if has_ads else (
            "SELECT m.network_id, min(o.seen_at) AS first_seen, max(o.seen_at) AS last_seen "
            "FROM _adnet_nm m JOIN observation_phones o ON o.ad_key = m.member_key WHERE m.member_type = 'ad' GROUP BY 1"
            ) if has_obs else "SELECT NULL::VARCHAR AS network_id, NULL::TIMESTAMPTZ AS first_seen, NULL::TIMESTAMPTZ AS last_seen WHERE false"
    if has_obs:
        cities = ("SELECT m.network_id, list_sort(list(DISTINCT o.city) FILTER (WHERE o.city IS NOT NULL)) AS cities "
                  "FROM _adnet_nm m JOIN observation_phones o ON o.ad_key = m.member_key WHERE m.member_type = 'ad' GROUP BY 1")
    elif has_ads:
        cities = ("SELECT m.network_id, list_sort(list(DISTINCT a.last_city) FILTER (WHERE a.last_city IS NOT NULL)) AS cities "
                  "FROM _adnet_nm m JOIN ads a ON a.ad_key = m.member_key WHERE m.member_type = 'ad' GROUP BY 1")
    else:
        cities = "SELECT NULL::VARCHAR AS network_id, NULL::VARCHAR[] AS cities WHERE false"
    name = "coalesce(o.name, m.member_key)" if has_owners else "m.member_key"
    join = "LEFT JOIN owners o ON o.owner_id = m.member_key" if has_owners else ""
    owners = (f"SELECT m.network_id, list_sort(list(DISTINCT {name})) AS owners FROM _adnet_nm m {join} "
              "WHERE m.member_type = 'owner' GROUP BY 1")
    return f"""
        SELECT n.network_id, n.n_ads, n.n_phones, n.n_owners, n.n_addresses, d.first_seen, d.last_seen,
               coalesce(c.cities, []::VARCHAR[]) AS cities, coalesce(w.owners, []::VARCHAR[]) AS owners,
               n.strongest_evidence, n.score
        FROM _adnet_nw n LEFT JOIN ({dates}) d USING (network_id) LEFT JOIN ({cities}) c USING (network_id)
             LEFT JOIN ({owners}) w USING (network_id)
        ORDER BY n.n_ads DESC, n.network_id"""


# ---------------------------------------------------------------- entry point

def build_networks(con: duckdb.DuckDBPyConnection, params: NetworkParams = NetworkParams(), *,
                   run_at: datetime | None = None) -> NetworkReport:
    """Replace ``networks`` and ``network_members``, append to ``network_history``, keep ids stable.

    Runs inside the caller's transaction. Reads ``links`` (``for_networks`` rows only) and, when
    they exist, ``ads``/``observation_phones`` (dates, cities), ``owners`` (names) and
    ``directory_matches`` (unnamed listings).
    """
    run_at = run_at or datetime.now(timezone.utc)
    report = NetworkReport()
    g = _load_graph(con, params)
    candidates = _components(g, params, report)
    report.n_candidates = len(candidates)
    accepted: list[set[str]] = []
    rejected: Counter = Counter()
    for comp in candidates:
        reason = _judge(g, comp, params)
        if reason is None:
            accepted.append(comp)
        else:
            rejected[reason] += 1
    report.n_rejected_small = dict(sorted(rejected.items()))
    report.n_networks = len(accepted)

    prev, last_issued = _previous(con)
    current = [frozenset(c) for c in accepted]
    ids, hist_rows, retired, last_issued = _assign_ids(current, prev, last_issued, params)

    owner_names, unnamed = _owner_names(con), _unnamed_listed(con)
    member_rows, network_rows = [], []
    for nid, comp in zip(ids, accepted):
        for row in _explain(g, comp, owner_names, unnamed):
            member_rows.append({"network_id": nid, **row})
        counts = Counter(_etype(n) for n in comp)
        strongest, score = _strongest(_ordered_subgraph(g, comp), params)
        network_rows.append({"network_id": nid, "n_ads": counts["ad"], "n_phones": counts["phone"],
                             "n_owners": counts["owner"], "n_addresses": counts["address"],
                             "strongest_evidence": strongest, "score": score})

    members_df = pd.DataFrame(member_rows, columns=["network_id", "member_type", "member_key", "explanation",
                                                    "via", "link_kind", "weight"])
    members_df["weight"] = members_df["weight"].astype("float64")
    networks_df = pd.DataFrame(network_rows, columns=["network_id", "n_ads", "n_phones", "n_owners", "n_addresses",
                                                      "strongest_evidence", "score"])
    history_df = pd.DataFrame(hist_rows + retired, columns=["network_id", "event", "related_ids", "overlap", "n_members"])
    snap_df = pd.DataFrame({"network_id": ids, "members": [sorted(c) for c in current]}, columns=["network_id", "members"])
    con.register("_adnet_nm_df", members_df)
    con.register("_adnet_nw_df", networks_df)
    con.register("_adnet_nh_df", history_df)
    con.register("_adnet_ns_df", snap_df)
    try:
        con.execute("""CREATE OR REPLACE TEMP TABLE _adnet_nm AS SELECT network_id::VARCHAR AS network_id,
            member_type::VARCHAR AS member_type, member_key::VARCHAR AS member_key, explanation::VARCHAR AS explanation,
            via::VARCHAR AS via, link_kind::VARCHAR AS link_kind, weight::DOUBLE AS weight FROM _adnet_nm_df""")
        con.execute("""CREATE OR REPLACE TEMP TABLE _adnet_nw AS SELECT network_id::VARCHAR AS network_id,
            n_ads::BIGINT AS n_ads, n_phones::BIGINT AS n_phones, n_owners::BIGINT AS n_owners,
            n_addresses::BIGINT AS n_addresses, strongest_evidence::VARCHAR AS strongest_evidence,
            score::DOUBLE AS score FROM _adnet_nw_df""")
        replace_table(con, NETWORK_MEMBERS, "SELECT * FROM _adnet_nm ORDER BY network_id, member_type, member_key")
        replace_table(con, NETWORKS, _summary_sql(con))
        ensure_table(con, NETWORK_HISTORY)
        con.execute(f"""INSERT INTO {NETWORK_HISTORY.name} (run_at, network_id, event, related_ids, overlap, n_members)
            SELECT ?::TIMESTAMPTZ, network_id::VARCHAR, event::VARCHAR, related_ids::VARCHAR[], overlap::DOUBLE,
                   n_members::BIGINT FROM _adnet_nh_df""", [run_at])
        con.execute(_SNAPSHOT_DDL)
        con.execute(f"DELETE FROM {SNAPSHOT_TABLE}")
        con.execute(f"""INSERT INTO {SNAPSHOT_TABLE} SELECT network_id::VARCHAR, members::VARCHAR[], ?::TIMESTAMPTZ, ?
            FROM _adnet_ns_df""", [run_at, last_issued])
        # the counter survives a run that finds no network
        con.execute(f"INSERT INTO {SNAPSHOT_TABLE} VALUES (NULL, []::VARCHAR[], ?::TIMESTAMPTZ, ?)", [run_at, last_issued])
    finally:
        for name in ("_adnet_nm_df", "_adnet_nw_df", "_adnet_nh_df", "_adnet_ns_df"):
            con.unregister(name)
        con.execute("DROP TABLE IF EXISTS _adnet_nm")
        con.execute("DROP TABLE IF EXISTS _adnet_nw")

    by_event = Counter(r["event"] for r in hist_rows + retired)
    report.events = dict(sorted(by_event.items()))
    report.ids_kept = sorted((nid for nid in ids if nid in prev), key=_id_order)
    report.ids_new = sorted((nid for nid in ids if nid not in prev), key=_id_order)
    report.dissolved = sorted((r["network_id"] for r in retired if r["event"] == "dissolved"), key=_id_order)
    return report


def _id_order(nid: str) -> tuple[int, str]:
    m = _ID_RE.match(nid)
    return (int(m.group(1)) if m else 0, nid)
