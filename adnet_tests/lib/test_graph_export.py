"""Graph export: GEXF, GraphML and i2/Maltego CSVs of the evidence graph and of one network."""

import csv
from pathlib import Path

import duckdb
import networkx as nx
import pytest

from adnet_assets.lib.graph_export import (EDGE_COLUMNS, NODE_COLUMNS, clean_text, defuse_cell, graph_stem,
                                           write_graph_files, write_network_graph_files)

EVIDENCE_MARKUP = "Annonse på Grünerløkka: <b>Søt</b> jente\x07 – ærlig"
LINKS_ROWS = [
    # kind, a, b, weight, evidence, a_type, b_type, source, strength, for_networks
    ("same_phone", "ad:site:1", "phone:+4741234567", 1.0, EVIDENCE_MARKUP, "ad", "phone",
     "snapshots: s1,s2", "strong", True),
    ("same_phone", "ad:site:2", "phone:+4741234567", 1.0, "vist på annonse", "ad", "phone", "snapshots: s3",
     "strong", True),
    ("directory", "owner:O-1", "phone:+4741234567", 0.9, "=1+1", "owner", "phone", "directory: l1", "strong", True),
    ("text", "ad:site:1", "ad:site:2", 0.3, "lik tekst", "ad", "ad", "text_links", "weak", False),
    # a second piece of evidence between the same two ads: a multigraph keeps both
    ("series", "ad:site:1", "ad:site:2", 0.7, "samme serie", "ad", "ad", "series: g1", "strong", True),
    # another network's link
    ("same_phone", "ad:site:9", "phone:+4799999999", 1.0, "Tromsø", "ad", "phone", "snapshots: s9", "strong", True),
    # a link crossing from a member to a non-member: not in the network file
    ("shared_address", "address:oslo-storgata-12b", "owner:O-1", 0.5, "bor i Storgata 12 B", "address", "owner",
     "directory: l2", "weak", True),
]
MEMBERS_ROWS = [
    # network_id, member_type, member_key, explanation, via, link_kind, weight
    ("N-1", "phone", "+4741234567", "frø: nummeret", None, None, None),
    ("N-1", "ad", "site:1", "viser +4741234567", "phone:+4741234567", "same_phone", 1.0),
    ("N-1", "ad", "site:2", "viser +4741234567", "phone:+4741234567", "same_phone", 1.0),
    ("N-1", "owner", "O-1", "eier av nummeret (Bjørn Ås)", "phone:+4741234567", "directory", 0.9),
    ("N-2", "ad", "site:9", "viser +4799999999", "phone:+4799999999", "same_phone", 1.0),
    ("N-2", "phone", "+4799999999", "frø", None, None, None),
]


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("""CREATE TABLE links (kind VARCHAR, a VARCHAR, b VARCHAR, weight DOUBLE, evidence VARCHAR,
                   a_type VARCHAR, b_type VARCHAR, source VARCHAR, strength VARCHAR, for_networks BOOLEAN)""")
    con.executemany("INSERT INTO links VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", LINKS_ROWS)
    con.execute("""CREATE TABLE network_members (network_id VARCHAR, member_type VARCHAR, member_key VARCHAR,
                   explanation VARCHAR, via VARCHAR, link_kind VARCHAR, weight DOUBLE)""")
    con.executemany("INSERT INTO network_members VALUES (?, ?, ?, ?, ?, ?, ?)", MEMBERS_ROWS)
    return con


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames), list(reader)


def readers():
    return [("gexf", nx.read_gexf), ("graphml", nx.read_graphml)]


@pytest.mark.parametrize("fmt,read", readers())
def test_whole_graph_round_trips(con, tmp_path, fmt, read):
    paths = write_graph_files(con, tmp_path)
    assert paths[fmt] == tmp_path / f"evidence_graph.{fmt}"
    g = read(paths[fmt])
    assert g.number_of_nodes() == 7
    assert g.number_of_edges() == len(LINKS_ROWS)
    assert g.is_multigraph()
    node = g.nodes["phone:+4741234567"]
    assert node["type"] == "phone"
    assert node["label"] == "+4741234567"
    assert node["network_id"] == "N-1"
    assert node["explanation"] == "frø: nummeret"
    assert g.nodes["address:oslo-storgata-12b"]["network_id"] == ""
    assert g.nodes["owner:O-1"]["explanation"] == "eier av nummeret (Bjørn Ås)"
    edges = list(g.edges(data=True))
    for _, _, d in edges:
        assert isinstance(d["weight"], float)
        assert isinstance(d["kind"], str) and isinstance(d["evidence"], str)
        assert d["strength"] in {"strong", "weak"}
    (markup,) = [d for _, _, d in edges if "Grünerløkka" in d["evidence"]]
    assert markup["evidence"] == "Annonse på Grünerløkka: <b>Søt</b> jente – ærlig"  # control char gone
    assert markup["kind"] == "same_phone"
    assert markup["source"] == "snapshots: s1,s2"
    assert markup["weight"] == 1.0
    (formula,) = [d for _, _, d in edges if d["kind"] == "directory"]
    assert formula["evidence"] == "=1+1" and formula["weight"] == 0.9
    assert sorted(d["kind"] for u, v, d in edges if {u, v} == {"ad:site:1", "ad:site:2"}) == ["series", "text"]


@pytest.mark.parametrize("fmt,read", readers())
def test_network_file_holds_only_its_members(con, tmp_path, fmt, read):
    paths = write_graph_files(con, tmp_path, network_id="N-1")
    assert paths[fmt] == tmp_path / f"network_N-1.{fmt}"
    g = read(paths[fmt])
    assert set(g.nodes) == {"phone:+4741234567", "ad:site:1", "ad:site:2", "owner:O-1"}
    assert g.number_of_edges() == 5  # two same_phone, directory, text, series; not the address link
    assert {d["network_id"] for _, d in g.nodes(data=True)} == {"N-1"}
    assert g.nodes["ad:site:1"]["explanation"] == "viser +4741234567"
    assert g.nodes["ad:site:1"]["label"] == "site:1"
    assert all(isinstance(d["weight"], float) for _, _, d in g.edges(data=True))


def test_csvs_for_i2_and_maltego(con, tmp_path):
    paths = write_graph_files(con, tmp_path)
    raw = paths["edges_csv"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM for Excel
    header, nodes = read_csv(paths["nodes_csv"])
    assert tuple(header) == NODE_COLUMNS
    assert len(nodes) == 7
    phone = next(n for n in nodes if n["id"] == "phone:+4741234567")
    assert phone["label"] == "+4741234567"  # a bare E.164 number cannot be a formula: left as i2 should show it
    assert phone["network_id"] == "N-1"
    header, edges = read_csv(paths["edges_csv"])
    assert tuple(header) == EDGE_COLUMNS
    assert len(edges) == len(LINKS_ROWS)
    (directory,) = [e for e in edges if e["kind"] == "directory"]
    assert directory["evidence"] == "'=1+1"
    assert (directory["source"], directory["target"]) == ("owner:O-1", "phone:+4741234567")  # a -> b kept
    assert float(directory["weight"]) == 0.9
    (markup,) = [e for e in edges if "Grünerløkka" in e["evidence"]]
    assert markup["evidence"] == "Annonse på Grünerløkka: <b>Søt</b> jente – ærlig"
    assert "Tromsø" in {e["evidence"] for e in edges}


def test_network_csvs_and_returned_paths(con, tmp_path):
    paths = write_graph_files(con, tmp_path / "out", network_id="N-2")
    assert set(paths) == {"gexf", "graphml", "nodes_csv", "edges_csv"}
    assert all(p.exists() and p.parent == tmp_path / "out" for p in paths.values())
    assert paths["nodes_csv"].name == "network_N-2.nodes.csv"
    _, nodes = read_csv(paths["nodes_csv"])
    assert {n["id"] for n in nodes} == {"ad:site:9", "phone:+4799999999"}
    _, edges = read_csv(paths["edges_csv"])
    assert [e["evidence"] for e in edges] == ["Tromsø"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths.values())  # no temp


def test_rewrite_replaces_files(con, tmp_path):
    write_graph_files(con, tmp_path)
    con.execute("DELETE FROM links WHERE kind = 'text'")
    paths = write_graph_files(con, tmp_path)
    assert nx.read_graphml(paths["graphml"]).number_of_edges() == len(LINKS_ROWS) - 1
    assert len(list(tmp_path.iterdir())) == 4


def test_without_network_members(tmp_path):
    con = duckdb.connect()
    con.execute("""CREATE TABLE links (kind VARCHAR, a VARCHAR, b VARCHAR, weight DOUBLE, evidence VARCHAR,
                   a_type VARCHAR, b_type VARCHAR, source VARCHAR, strength VARCHAR, for_networks BOOLEAN)""")
    con.executemany("INSERT INTO links VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", LINKS_ROWS[:1])
    g = nx.read_gexf(write_graph_files(con, tmp_path)["gexf"])
    assert g.number_of_nodes() == 2 and g.number_of_edges() == 1
    assert g.nodes["ad:site:1"]["network_id"] == "" and g.nodes["ad:site:1"]["explanation"] == ""
    with pytest.raises(ValueError):
        write_graph_files(con, tmp_path, network_id="N-1")


def test_unknown_network_is_an_error(con, tmp_path):
    with pytest.raises(ValueError):
        write_graph_files(con, tmp_path, network_id="N-404")


def test_clean_text_and_defuse():
    assert clean_text("a\x00b\x07c\x1bd\x7fe\x85f\ud800g\ufffe") == "abcdefg"
    assert clean_text("æøå\tÆØÅ\r\nx\ry") == "æøå\tÆØÅ\nx\ny"
    assert clean_text(None) == ""
    for start in "=+-@\t\r":
        assert defuse_cell(start + "x") == "'" + start + "x"
    assert defuse_cell("ok=1") == "ok=1"
    assert defuse_cell("+4741234567") == "+4741234567"
    assert defuse_cell("+47412=1") == "'+47412=1"
    assert defuse_cell("+4741234567+1") == "'+4741234567+1"
    assert graph_stem(None) == "evidence_graph"
    assert graph_stem("N-1") == "network_N-1"
    assert graph_stem("../x y") == "network_.._x_y"


def test_all_networks_in_one_pass_write_the_same_bytes(con, tmp_path):
    # a key with a control character cleans to a member's key: the one-pass filter cleans as the per-network one
    con.execute("""INSERT INTO links VALUES ('photo', 'ad:site:\x071', 'ad:site:2', NULL, 'samme bilde', 'ad', 'ad',
                   'photos: p1', 'strong', True)""")
    one_by_one = {nid: write_graph_files(con, tmp_path / "each", network_id=nid) for nid in ("N-1", "N-2")}
    done = []
    together = write_network_graph_files(con, tmp_path / "all", ["N-1", "N-2"], progress=lambda *a: done.append(a))
    assert done == [(1, 2), (2, 2)]
    assert set(together) == {"N-1", "N-2"}
    for nid, paths in one_by_one.items():
        assert {k: p.name for k, p in together[nid].items()} == {k: p.name for k, p in paths.items()}
        for kind, path in paths.items():
            assert together[nid][kind].read_bytes() == path.read_bytes(), (nid, kind)
    _, edges = read_csv(together["N-1"]["edges_csv"])
    assert len(edges) == 6 and "samme bilde" in {e["evidence"] for e in edges}
    with pytest.raises(ValueError):
        write_network_graph_files(con, tmp_path / "none", ["N-1", "N-404"])


AWKWARD = ['"quoted" and \'apostrophes\'', "a & b < c > d ]]> e", "line one\nline two\r\nthree\rfour",
           "\ttab first", "  spaces around  ", "=HYPERLINK(\"http://x\")", "+4741234567", "-1", "@SUM(A1)",
           "comma, inside", "", "æøå ÆØÅ \u202egnp.exe \u200f", "x\x00\x1f\x7f\x85\x9f\ufffe\uffffy", "ok=1"]


def test_sql_cleaning_is_clean_text():
    con = duckdb.connect()
    from adnet_assets.lib.graph_export import clean_sql
    samples = [*AWKWARD, None, "".join(chr(c) for c in range(0, 0x300)),
               "".join(chr(c) for c in range(0x2000, 0x2100)), "".join(chr(c) for c in range(0xFFF0, 0x10000))]
    for text in samples:
        assert con.execute(f"SELECT {clean_sql('t')} FROM (SELECT CAST(? AS VARCHAR) AS t)", [text]).fetchone()[0] \
            == clean_text(text), repr(text)


def test_awkward_text_round_trips_in_every_file(tmp_path):
    con = duckdb.connect()
    con.execute("""CREATE TABLE links (kind VARCHAR, a VARCHAR, b VARCHAR, weight DOUBLE, evidence VARCHAR,
                   a_type VARCHAR, b_type VARCHAR, source VARCHAR, strength VARCHAR, for_networks BOOLEAN)""")
    rows = [(f"k{i}", f"ad:s:{text}", "phone:+4741234567", i / 7, text, "ad", None, text, text, True)
            for i, text in enumerate(AWKWARD)]
    con.executemany("INSERT INTO links VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    paths = write_graph_files(con, tmp_path)
    expected = {clean_text(f"ad:s:{text}"): clean_text(text) for text in AWKWARD}
    for read in (nx.read_gexf, nx.read_graphml):
        g = read(paths["gexf" if read is nx.read_gexf else "graphml"])
        assert g.nodes["phone:+4741234567"]["type"] == "phone"  # NULL b_type: the key's prefix
        for key, text in expected.items():
            assert g.nodes[key]["label"] == key.partition(":")[2]
            assert not g.is_multigraph()  # no two edges join the same nodes: the readers give a simple graph
            edge = g.edges[key, "phone:+4741234567"]
            assert (edge["evidence"], edge["source"], edge["strength"]) == (text, text, text), read
    # the CSVs are what Python's csv module writes for the same cleaned, defused cells
    import io
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(EDGE_COLUMNS)
    for kind, a, b, weight, evidence, *_ in sorted(rows, key=lambda row: row[1]):  # links order: a first
        writer.writerow([defuse_cell(clean_text(v)) for v in (a, b, kind)] + [weight]
                        + [defuse_cell(clean_text(evidence)), defuse_cell(clean_text(evidence))])
    assert paths["edges_csv"].read_bytes() == text.getvalue().encode("utf-8-sig")


def test_same_database_same_bytes(con, tmp_path):
    first = write_graph_files(con, tmp_path / "a")
    second = write_graph_files(con, tmp_path / "b")
    for kind in first:
        assert first[kind].read_bytes() == second[kind].read_bytes(), kind
    assert b"lastmodifieddate" not in first["gexf"].read_bytes()


def test_empty_graph(tmp_path):
    con = duckdb.connect()
    con.execute("""CREATE TABLE links (kind VARCHAR, a VARCHAR, b VARCHAR, weight DOUBLE, evidence VARCHAR,
                   a_type VARCHAR, b_type VARCHAR, source VARCHAR, strength VARCHAR, for_networks BOOLEAN)""")
    paths = write_graph_files(con, tmp_path)
    for read in (nx.read_gexf, nx.read_graphml):
        assert read(paths["gexf" if read is nx.read_gexf else "graphml"]).number_of_nodes() == 0
    assert read_csv(paths["edges_csv"]) == (list(EDGE_COLUMNS), [])


def test_reads_the_tables_the_connection_sees(tmp_path):
    """Temporary tables (as a pseudonymised copy may be) are read like any other: the query runs on ``con``."""
    con = duckdb.connect()
    con.execute("""CREATE TEMP TABLE links (kind VARCHAR, a VARCHAR, b VARCHAR, weight DOUBLE, evidence VARCHAR,
                   a_type VARCHAR, b_type VARCHAR, source VARCHAR, strength VARCHAR, for_networks BOOLEAN)""")
    con.executemany("INSERT INTO links VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", LINKS_ROWS)
    g = nx.read_graphml(write_graph_files(con, tmp_path)["graphml"])
    assert g.number_of_edges() == len(LINKS_ROWS)
    assert con.execute("SELECT count(*) FROM links").fetchone()[0] == len(LINKS_ROWS)  # con still usable
