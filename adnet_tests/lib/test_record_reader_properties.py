"""Property tests for the record readers: whatever the bytes, nothing raises and nothing is lost.

(a) The snapshot line reader (``snapshot_lines`` through ``window_ingest.ingest_window``): a crawl
    file mixing valid ad lines with arbitrary bytes and texts (invalid UTF-8, truncated JSON, JSON of
    the wrong type, huge numbers, NUL, lone surrogates escaped in JSON, over-long lines) is read without
    raising; every non-blank line is in ``ad_observations`` or in ``quarantine`` exactly once, with its
    1-based line number; every valid line keeps its fields.
(b) The CSV reader (``csv_records.read_csv_files``, shared by the directory and billing readers): any
    file Python's csv writer makes, with any supported delimiter, quoting style, line end and encoding
    (utf-8, utf-8-sig, cp1252, utf-16), loads every row with its values and physical line number; and
    arbitrary bytes after a header, through ``load_directory`` and ``load_billing``, never raise.
"""

from __future__ import annotations

import csv
import io
import json

import duckdb
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from adnet_assets.layout import DataLayout
from adnet_assets.lib.billing import load_billing
from adnet_assets.lib.csv_records import DELIMITERS, FIELD_WHITESPACE, CsvSpec, read_csv_files
from adnet_assets.lib.directory import load_directory
from adnet_assets.lib.snapshots import discover
from adnet_assets.lib.window_ingest import ingest_window
from adnet_tests.conftest import write_snapshot

SITE = "prop.example"
SNAP = "2026-06-01T0614Z"
WINDOW = "2026-06-01"
T = "2026-06-01T06:20:00Z"
MAX_LINE = 4000

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])

# ----------------------------------------------------------------------------- (a) ad lines

# Text an ad may hold: any Unicode but surrogates (those are junk below), markup and formulas included.
_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@st.composite
def _good_ad(draw, ad_id: str) -> dict:
    ad = {"ad_id": ad_id, "seen_at": draw(st.sampled_from([T, "2026-06-01T08:20:00+02:00", "2026-06-01 06:20:00.5z"])),
          "phones": draw(st.lists(st.text(alphabet="0123456789 +-./tlf:", max_size=20), max_size=3))}
    for field in ("city", "title", "text", "name", "url"):
        if draw(st.booleans()):
            ad[field] = draw(_TEXT)
    if draw(st.booleans()):
        ad["extra"] = {"kept": draw(_TEXT)}  # unknown fields stay in the raw line
    return ad


_JSON_SCALAR = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT
_JSON = st.recursive(_JSON_SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
                     max_leaves=8)

_JUNK = st.one_of(
    st.binary(max_size=80),                                                        # arbitrary bytes, invalid UTF-8
    _TEXT.map(lambda t: t.encode("utf-8")),                                        # arbitrary text
    _JSON.map(lambda v: json.dumps(v).encode()),                                   # JSON of any type
    st.dictionaries(st.sampled_from(["ad_id", "seen_at", "phones", "age"]), _JSON, max_size=4)
      .map(lambda d: json.dumps(d).encode()),                                      # ad-like, wrong types
    st.integers(min_value=10 ** 19, max_value=10 ** 60).map(
        lambda n: ('{"ad_id": %d, "seen_at": "%s", "phones": [], "age": %d}' % (n, T, n)).encode()),  # huge numbers
    st.sampled_from([
        b'{"ad_id": "s1", "seen_at": "2026-06-01T06:20:00Z", "phones": ["\\ud800"]}',  # lone surrogate, escaped
        b'{"ad_id": "s2", "seen_at": "2026-06-01T06:20:00Z", "phones": [], "text": "\\udc00"}',
        b'{"ad_id": "n1", "seen_at": "2026-06-01T06:20:00Z", "phones": []}\x00',      # a raw NUL
        b'{"ad_id": "n2\x00", "seen_at": "2026-06-01T06:20:00Z", "phones": []}',
        b"\xef\xbb\xbf" + b'{"ad_id"',                                               # a BOM, then truncated
        b"x" * (MAX_LINE + 10),                                                    # over the line limit
        b'{"ad_id": "' + b"y" * MAX_LINE + b'", "seen_at": "2026-06-01T06:20:00Z", "phones": []}',
    ]),
)


def _truncated(line: bytes, cut: int) -> bytes:
    return line[: max(1, min(cut, len(line) - 1))]


@st.composite
def _crawl(draw) -> list[tuple[str, object]]:
    """Lines as ("good", ad dict) | ("junk", bytes); good ads get ids no junk line can hold."""
    kinds = draw(st.lists(st.sampled_from(["good", "junk", "cut"]), min_size=1, max_size=14))
    lines: list[tuple[str, object]] = []
    for i, kind in enumerate(kinds):
        if kind == "good":
            lines.append(("good", draw(_good_ad(f"good-{i}"))))
        elif kind == "cut":  # a valid ad line cut short: truncated JSON
            full = json.dumps(draw(_good_ad(f"cut-{i}")), ensure_ascii=draw(st.booleans())).encode("utf-8")
            lines.append(("junk", _truncated(full, draw(st.integers(min_value=1, max_value=len(full))))))
        else:
            lines.append(("junk", draw(_JUNK).replace(b"\n", b" ")))
    return lines


def _encode(kind: str, value: object, ascii_only: bool) -> bytes:
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8") if kind == "good" else value  # type: ignore[return-value]


def _blank(raw: bytes) -> bool:
    """A line the reader may skip: nothing but whitespace, line ends and BOMs."""
    return not raw.decode("utf-8", "replace").strip(" \t\r\n\x0b\x0c\x1c\x1d\x1e\x1f\x85\ufeff" + FIELD_WHITESPACE)


def _python_rejects(raw: bytes) -> bool:
    """Lines no reader could take for an ad: not UTF-8 JSON holding an object."""
    try:
        value = json.loads(raw.decode("utf-8").lstrip("\ufeff"))
    except ValueError:
        return True
    return not isinstance(value, dict)


@SETTINGS
@given(lines=_crawl(), ascii_only=st.booleans(), bom=st.booleans(), crlf=st.booleans())
@example(lines=[("good", {"ad_id": "good-0", "seen_at": "2026-06-01 06:20:00.5z", "phones": []}),  # a 'z' zone
                ("junk", b'{"ad_id": "u", "seen_at": "2026-06-01T06:20:00Z", "phones": [], "age": 18446744073709551615}'),
                ("junk", b'{"ad_id": "a", "ad_id": "b", "seen_at": "2026-06-01T06:20:00Z", "phones": []}')],
         ascii_only=True, bom=False, crlf=False)
def test_every_line_of_any_crawl_file_is_loaded_or_quarantined_exactly_once(tmp_path_factory, lines, ascii_only,
                                                                            bom, crlf):
    root = tmp_path_factory.mktemp("lines") / "data"
    layout = DataLayout.at(root)
    raw = [_encode(kind, value, ascii_only) for kind, value in lines]
    if crlf:
        raw = [r + b"\r" for r in raw]
    write_snapshot(root, SITE, SNAP, raw, prefix=b"\xef\xbb\xbf" if bom else b"")
    report = ingest_window(layout, WINDOW, discover(layout).in_windows({WINDOW}), max_line_bytes=MAX_LINE)
    con = duckdb.connect()
    try:
        obs = con.execute(
            f"SELECT line_no, ad_id, city, title, text, name, url, phones_raw, raw_line, source_file "
            f"FROM read_parquet('{layout.window_file('observations', WINDOW)}')").fetchall()
        quarantined = con.execute(
            f"SELECT line_no, reason, level, source_file FROM read_parquet('{layout.window_file('quarantine', WINDOW)}')"
        ).fetchall()
    finally:
        con.close()
    loaded_at = [r[0] for r in obs]
    set_aside_at = [r[0] for r in quarantined]
    assert len(loaded_at) == len(set(loaded_at)) and len(set_aside_at) == len(set(set_aside_at))
    assert not set(loaded_at) & set(set_aside_at), "a line both loaded and quarantined"
    must = {n for n, r in enumerate(raw, 1) if not _blank(r)}
    seen = set(loaded_at) | set(set_aside_at)
    assert must <= seen, f"lines lost: {sorted(must - seen)}"
    assert seen <= set(range(1, len(raw) + 1))
    assert all(level == "line" and reason and src == f"snapshots/{SITE}/{SNAP}/ads.jsonl"
               for _, reason, level, src in quarantined)
    assert report.n_observations == len(obs) and report.n_quarantined_lines == len(quarantined)

    by_line = {r[0]: r for r in obs}
    for n, (kind, value) in enumerate(lines, 1):
        if kind == "good":
            got = by_line.get(n)
            assert got is not None, f"valid line {n} not loaded: {dict((q[0], q[1]) for q in quarantined).get(n)}"
            ad = value
            assert got[1] == ad["ad_id"]
            assert got[2:7] == tuple(ad.get(f) for f in ("city", "title", "text", "name", "url"))
            assert list(got[7]) == ad["phones"]
            assert json.loads(got[8]) == ad  # the raw line is kept whole (unknown fields too)
        elif _python_rejects(raw[n - 1]) and not _blank(raw[n - 1]):
            assert n in set_aside_at, f"junk line {n} {raw[n - 1][:60]!r} was loaded"


# ----------------------------------------------------------------------------- (b) CSV files

COLUMNS = ("phone", "name", "address", "postcode", "city", "listed_at")
SPEC = CsvSpec(columns=COLUMNS, required=("phone",), max_row_lines=8)

# Field text: any character but surrogates and CR (a lone CR inside a field is a line end to
# spreadsheet exports too); at most one line break per field keeps a record within max_row_lines.
_FIELD_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\x85\u2028\u2029")
_FIELD = st.text(alphabet=_FIELD_CHARS | st.sampled_from(['"', ",", ";", "\t", "|", " ", "'", "\ufeff"]), max_size=12)
_CP1252_FIELD = st.text(alphabet=st.sampled_from(list("abcXYZ 019-'\",;|\tæøåÆØÅéü")), max_size=12)


def _one_break(value: str) -> str:
    head, sep, tail = value.partition("\n")
    return head + sep + tail.replace("\n", " ")


@st.composite
def _csv_case(draw):
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    field = _CP1252_FIELD if encoding == "cp1252" else _FIELD
    rows = draw(st.lists(st.tuples(*[field.map(_one_break)] * 5), min_size=1, max_size=6))
    return (encoding, draw(st.sampled_from(DELIMITERS)), draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])),
            draw(st.sampled_from(["\n", "\r\n"])), rows)


def _staging(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TEMP TABLE rows (source_file VARCHAR, line_no BIGINT, " +
                ", ".join(f'"{c}" VARCHAR' for c in COLUMNS) + ", record VARCHAR)")
    con.execute("CREATE TEMP TABLE q (source_file VARCHAR, line_no BIGINT, reason VARCHAR, raw_line VARCHAR)")


@SETTINGS
@given(case=_csv_case())
def test_any_csv_writer_output_loads_every_row_with_its_line_number(tmp_path_factory, case):
    encoding, delim, quoting, line_end, rows = case
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delim, quoting=quoting, lineterminator=line_end)
    writer.writerow(COLUMNS)
    expected, line = {}, 2
    for i, values in enumerate(rows):
        before = buf.tell()
        writer.writerow([f"4123{i:04d}", *values])
        expected[line] = (f"4123{i:04d}", *((v.strip(FIELD_WHITESPACE) or None) for v in values))
        line += buf.getvalue()[before:].count("\n")
    folder = tmp_path_factory.mktemp("csv")
    path = folder / "x.csv"
    path.write_bytes(buf.getvalue().encode(encoding))
    con = duckdb.connect()
    _staging(con)
    info = read_csv_files(con, [(path, "directory/x.csv")], SPEC, rows_table="rows", quarantine_table="q", root=folder)[0]
    assert con.execute("SELECT line_no, reason FROM q").fetchall() == []
    got = {r[0]: tuple(r[1:]) for r in con.execute(
        "SELECT line_no, " + ", ".join(f'"{c}"' for c in COLUMNS) + " FROM rows").fetchall()}
    assert got == expected
    assert info.delimiter == {"\t": "tab"}.get(delim, delim) and info.n_records == len(rows)
    assert info.encoding.replace("-sig", "") in (encoding.replace("-sig", ""), "utf-8")  # ASCII-only cp1252 is UTF-8


def _lines_of(data: bytes) -> int:
    return data.replace(b"\r\n", b"\n").count(b"\n") + 1


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(body=st.binary(max_size=300) | _FIELD.map(lambda t: t.encode("utf-8", "surrogatepass")),
       which=st.sampled_from(["directory", "billing"]))
@example(body=b"\r\x00", which="directory")             # a lone CR in a field stopped DuckDB's reader
@example(body=b"41234567,a\rb,,,,\n\xff\xfe", which="directory")
def test_arbitrary_bytes_after_a_header_never_raise(tmp_path_factory, body, which):
    """Directory and billing readers on junk: no exception, loaded and quarantined lines distinct and in the file."""
    layout = DataLayout.at(tmp_path_factory.mktemp("junk"))
    header = {"directory": ",".join(COLUMNS),
              "billing": "subscriber,timestamp,direction,kind,counterpart,duration_s,network,country"}[which]
    data = header.encode() + b"\n" + body
    folder = layout.directory if which == "directory" else layout.billing
    folder.mkdir(parents=True)
    (folder / "junk.csv").write_bytes(data)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    report = (load_directory if which == "directory" else load_billing)(con, layout)
    table = "directory_listings" if which == "directory" else "billing_events"
    loaded = [r[0] for r in con.execute(f"SELECT line_no FROM {table}").fetchall()]
    quarantined = [q[1] for q in report.quarantine]
    assert len(loaded) == len(set(loaded))
    assert not set(loaded) & {q for q in quarantined if q is not None}
    assert all(q is None or 1 <= q <= _lines_of(data) for q in quarantined)
    assert all(2 <= n <= _lines_of(data) for n in loaded)
    assert all(reason for _, _, reason, _ in report.quarantine)
