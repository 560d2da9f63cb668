"""Ad content is never executed or rendered as live markup: UI metadata, exports, pictures.

A tiny demo market has every ad of its planted networks rewritten (title, text, name, city, url, image
urls, contact values, tour cities) to carry hostile content: script and image tags, markdown links and
images, spreadsheet formulas, CDATA and comment ends, entities, template and JNDI strings, a
right-to-left override, zero-width and control characters. The manifests are rewritten so the crawls
stay valid, and the real CLI runs the whole pipeline once. Then:

* every markdown value of every materialization and check in the investigation's Dagster instance holds
  no raw HTML, no link, no image but our own ``data:`` pictures, and nothing GitHub-flavoured markdown
  (which the UI renders) would turn into a link (``http://``, ``www.``, e-mail); hostile strings are
  there, escaped; text values hold none of them; the travel pictures (SVG) hold no script, no event
  attribute and no link;
* the workbook has no formula and no hyperlink; text a spreadsheet would read as a formula is marked
  as text (quote prefix); the XMind maps (JSON and XML) are well-formed, with hostile text only as text
  and no hyperlink; GEXF and GraphML parse; no i2/Maltego CSV cell starts a formula; FtM lines parse and
  their URLs are only ever the ad's page on its own site; no export holds a bidirectional override.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import dagster as dg
import openpyxl
import pytest
from dagster._core.instance.ref import InstanceRef
from markdown_it import MarkdownIt

from adnet_assets.lib.graph_export import clean_text, defuse_cell
from adnet_assets.lib.safe_text import strip_controls
from adnet_assets.lib.travel_picture import network_travel_svg
from adnet_tests.conftest import run_adnet

PAYLOADS = (
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[x](javascript:alert(1))",
    "![t](http://evil.example/t.png)", '<a href="http://evil.example">', '=HYPERLINK("http://evil.example","x")',
    "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", "]]>", "&amp;", "<!--", "{{7*7}}", "${jndi:ldap://x}",
    "\u202e", "\u200b\u200d\ufeff", "\x07\x1b[31m\x00",
)
FORMULAS = PAYLOADS[5:9]                       # names start with one of these
VISIBLE = PAYLOADS[:14]                         # the payloads with visible text
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def _pick(key: str, choices=PAYLOADS) -> str:
    return choices[int(hashlib.sha256(key.encode()).hexdigest(), 16) % len(choices)]


# A city keeps its name and gains one of these (the ones a preview or a map could make live first), and
# an ESC sequence that would colour (or retitle) the terminal the run's report is printed on.
CITY_PAYLOADS = ("![t](http://evil.example/t.png)", "<img src=x onerror=alert(1)>", "\u202e", "[x](javascript:alert(1))",
                 "www.evil.example", '<a href="http://evil.example">', "x@evil.example", "<script>alert(1)</script>",
                 "]]>", "<!--", "{{7*7}}", "${jndi:ldap://x}", "&amp;")
TERMINAL = "\x1b]0;pwned\x07\x1b[31m"


def _hostile(obj: dict, cities: dict[str, str]) -> dict:
    """The ad with hostile content in every free-text field; equal values stay equal (moves stay moves)."""
    obj["title"] = f"{PAYLOADS[0]} {obj.get('title')}"
    obj["text"] = f"{obj.get('text')} {' '.join(PAYLOADS)}"
    obj["name"] = f"{_pick(str(obj['ad_id']), FORMULAS)} {obj.get('name')}"
    if obj.get("city"):
        obj["city"] = cities[obj["city"]]
    obj["url"] = _pick(str(obj["ad_id"]), (f"javascript:alert(1)//{obj.get('url')}",
                                           f"https://evil.example/phish?u={obj.get('url')}"))
    for image in obj.get("images") or []:
        image["url"] = f"![t](http://evil.example/t.png){image.get('url', '')}"
    for stop in obj.get("tour") or []:
        if stop.get("city"):
            stop["city"] = cities.get(stop["city"], stop["city"])
    contact = obj.get("contact") or {}
    if contact.get("telegram"):
        contact["telegram"] = f"{contact['telegram']}{PAYLOADS[4]}"
    contact["note"] = " ".join(PAYLOADS)
    obj["contact"] = contact
    return obj


def _json(line: bytes):
    try:
        return json.loads(line)
    except ValueError:
        return None


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    """A tiny demo market whose planted networks' ads carry hostile content, after one ``adnet run``."""
    from adnet_assets.demo.generator import generate_market

    root = tmp_path_factory.mktemp("hostile") / "data"
    generate_market(root, seed=11, scale=0.03)
    with open(root / "demo-truth" / "ads.csv", newline="", encoding="utf-8") as handle:
        targets = {row["ad_key"] for row in csv.DictReader(handle) if row["network_id"]}
    crawls = {path: [_json(line) for line in path.read_bytes().split(b"\n")]
              for path in sorted(root.glob("snapshots/*/*/ads.jsonl"))}

    def targeted(path: Path, obj) -> bool:
        return isinstance(obj, dict) and f"{path.parent.parent.name}:{obj.get('ad_id')}" in targets

    names = sorted({str(o["city"]) for path, objs in crawls.items() for o in objs if targeted(path, o) and o.get("city")}
                   | {str(t["city"]) for path, objs in crawls.items() for o in objs if targeted(path, o)
                      for t in o.get("tour") or [] if isinstance(t, dict) and t.get("city")})
    cities = {c: f"{c} {CITY_PAYLOADS[i % len(CITY_PAYLOADS)]}{TERMINAL}" for i, c in enumerate(names)}
    rewritten = 0
    for path, objs in crawls.items():
        out = []
        for line, obj in zip(path.read_bytes().split(b"\n"), objs):
            if targeted(path, obj):
                out.append(json.dumps(_hostile(obj, cities), ensure_ascii=False).encode("utf-8"))
                rewritten += 1
            else:
                out.append(line)  # other ads, and the generator's own bad lines, stay as they are
        data = b"\n".join(out)
        path.write_bytes(data)
        manifest = json.loads((path.parent / "manifest.json").read_text())
        manifest["files"]["ads.jsonl"] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        (path.parent / "manifest.json").write_text(json.dumps(manifest))
    assert rewritten > 50
    done = run_adnet("run", "--data-dir", str(root))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    _printed[root] = done.stdout + done.stderr
    return root


_printed: dict[Path, str] = {}


def test_the_run_prints_no_escape_sequence(market):
    """What the run printed (its log, and its report naming cities and evidence) never drives the terminal."""
    printed = _printed[market]
    assert "Networks:" in printed and "\x1b" not in printed, [
        line for line in printed.splitlines() if "\x1b" in line][:5]


# ----------------------------------------------------------------------------- the UI's metadata

_SVG = re.compile(r"\]\(data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)")
_DATA_IMAGE = re.compile(r"\]\(data:image/(?:png|svg\+xml);base64,[A-Za-z0-9+/=]+\)")
# What GitHub-flavoured markdown (which the UI renders) turns into a link without any markup, for the
# hostile content's host: "http://evil.example", "www.evil.example", "x@evil.example" (a backslash
# before ':', '.' or '@' keeps it text).
_AUTOLINK = re.compile(r"(?i)(?:https?|ftp)://evil\.example|(?<![\w\\.])www\.evil\.example|[\w.+-]+@evil\.example")


def _metadata(root: Path) -> list[tuple[str, str, object]]:
    """(asset, key, value) of every materialization and check evaluation of the investigation's runs."""
    out = []
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(root / ".dagster"))) as instance:
        runs = instance.get_runs()
        assert runs, "the run left no record in <data>/.dagster"
        for run in runs:
            for entry in instance.all_logs(run.run_id, of_type={dg.DagsterEventType.ASSET_MATERIALIZATION,
                                                                 dg.DagsterEventType.ASSET_CHECK_EVALUATION}):
                event = entry.dagster_event
                data = event.event_specific_data
                if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
                    key, metadata = data.materialization.asset_key.to_user_string(), data.materialization.metadata
                else:
                    key, metadata = f"{data.asset_key.to_user_string()}:{data.check_name}", data.metadata
                out += [(key, name, value) for name, value in metadata.items()]
    return out


def _tokens(md: str):
    stack = list(MarkdownIt("commonmark", {"html": True}).enable("table").parse(md))
    while stack:
        token = stack.pop()
        yield token
        stack.extend(token.children or [])


def _svg_problems(svg: str) -> list[str]:
    problems = []
    tree = ElementTree.fromstring(svg)
    for el in tree.iter():
        tag = el.tag.rsplit("}", 1)[-1]
        if tag in ("script", "foreignObject", "a", "image", "iframe"):
            problems.append(f"<{tag}>")
        for name, value in el.attrib.items():
            local = name.rsplit("}", 1)[-1]
            if local.lower().startswith("on") or local == "href" or ("url(" in value and "url(#" not in value):
                problems.append(f"{tag} {local}={value[:40]}")
    return problems


def test_ui_metadata_is_inert_and_shows_hostile_text_escaped(market):
    entries = _metadata(market)
    problems, rendered_text, svg_texts = [], [], []
    for asset, key, value in entries:
        where = f"{asset} {key}"
        if isinstance(value, dg.MarkdownMetadataValue):
            md = value.md_str or ""
            for token in _tokens(md):
                if token.type in ("html_inline", "html_block"):
                    problems.append(f"{where}: raw HTML {token.content[:60]!r}")
                elif token.type == "link_open":
                    problems.append(f"{where}: link to {token.attrGet('href')!r}")
                elif token.type == "image":
                    src = str(token.attrGet("src") or "")
                    if not src.startswith(("data:image/png;base64,", "data:image/svg+xml;base64,")):
                        problems.append(f"{where}: image from {src[:60]!r}")
                elif token.type == "text":
                    rendered_text.append(token.content)
            # The travel pictures (markdown-it leaves SVG data URIs unrendered, so they are found in the source).
            for encoded in _SVG.findall(md):
                svg = base64.b64decode(encoded).decode("utf-8")
                problems += [f"{where}: travel picture {p}" for p in _svg_problems(svg)]
                svg_texts += ["".join(el.itertext()) for el in ElementTree.fromstring(svg).iter()]
            bare = _DATA_IMAGE.sub("](data)", md)
            problems += [f"{where}: GFM would link {m.group()!r} in {bare[max(0, m.start() - 40):m.end() + 20]!r}"
                         for m in _AUTOLINK.finditer(bare)]
        elif isinstance(value, (dg.TextMetadataValue, dg.UrlMetadataValue, dg.PathMetadataValue)):
            text = str(value.value)
            problems += [f"{where}: {type(value).__name__} holds {p!r}" for p in VISIBLE if p in text]
    assert not problems, "\n".join(sorted(set(problems))[:40])
    shown = "\n".join(rendered_text)
    # The content is there, shown as text: the city previews carry the payloads, escaped.
    assert sum(p in shown for p in ("<img src=x onerror=alert(1)>", "[x](javascript:alert(1))", "]]>", "{{7*7}}",
                                    "<!--", "${jndi:ldap://x}", "![t](http://evil.example/t.png)",
                                    "<script>alert(1)</script>", '<a href="http://evil.example">')) >= 2
    assert svg_texts and any(p in t for t in svg_texts for p in VISIBLE), "no travel picture shows a hostile city"
    assert not any(BIDI.search(t) for t in svg_texts)


# ----------------------------------------------------------------------------- the exports

def test_workbook_has_no_formula_and_no_link(market):
    path = market / "exports" / "adnet.xlsx"
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            data = archive.read(name)
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                assert not re.search(rb"<f[ >]", data), f"{name} holds a formula"
                assert b"<hyperlink" not in data, f"{name} holds a hyperlink"
            if name.endswith(".rels"):
                assert b"/hyperlink" not in data, f"{name} relates a hyperlink"
    workbook = openpyxl.load_workbook(path)
    texts, unmarked = [], []
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f" and cell.hyperlink is None, (sheet.title, cell.coordinate)
                if isinstance(cell.value, str):
                    texts.append(cell.value)
                    if cell.value.startswith(("=", "+", "-", "@")) and not cell.quotePrefix:
                        unmarked.append((sheet.title, cell.coordinate, cell.value[:40]))
    assert not unmarked, unmarked[:10]
    every = "\n".join(texts)
    assert all(p in every for p in ("<script>alert(1)</script>", *FORMULAS, "{{7*7}}", "]]>"))
    assert any(t.startswith(FORMULAS) for t in texts)  # a name that starts a formula is there, as text
    assert not BIDI.search(every)


def _walk(value, path=""):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield f"{path}/{key}", key, inner
            yield from _walk(inner, f"{path}/{key}")
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from _walk(inner, f"{path}[{i}]")


def test_xmind_maps_hold_hostile_text_only_as_text(market):
    maps = sorted((market / "exports" / "networks").glob("*.xmind"))
    assert maps
    titles = []
    for path in maps:
        with zipfile.ZipFile(path) as archive:
            content = json.loads(archive.read("content.json"))
            root = ElementTree.fromstring(archive.read("content.xml"))
        for where, key, value in _walk(content):
            assert key not in ("href", "hyperlink", "xlink:href", "realHTML", "html"), f"{path.name} {where}"
            if key == "src":
                assert str(value).startswith("xap:resources/"), f"{path.name} {where} = {value!r}"
            if key == "title" and isinstance(value, str):
                titles.append(value)
        for el in root.iter():
            tag = el.tag.rsplit("}", 1)[-1]
            assert tag not in ("script", "a", "html", "hyperlink"), f"{path.name} <{tag}>"
            for name, value in el.attrib.items():
                local = name.rsplit("}", 1)[-1]
                assert local != "href", f"{path.name} {tag} {name}={value[:60]}"
                if local == "src":
                    assert value.startswith("xap:attachments/"), f"{path.name} {tag} src={value[:60]}"
        xml_titles = ["".join(t.itertext()) for t in root.iter() if t.tag.rsplit("}", 1)[-1] == "title"]
        assert not BIDI.search("".join(titles + xml_titles))
    assert any(p in t for t in titles for p in VISIBLE), "no map shows the hostile names and cities"


def test_graph_files_parse_and_no_csv_cell_starts_a_formula(market):
    folder = market / "exports" / "graphs"
    for path in sorted([*folder.glob("*.gexf"), *folder.glob("*.graphml")]):
        ElementTree.parse(path)
    csvs = sorted(folder.glob("*.csv"))
    assert csvs
    cells = []
    for path in csvs:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            for row in csv.reader(handle):
                for cell in row:
                    cells.append(cell)
                    if cell[:1] in ("=", "+", "-", "@", "\t", "\r", "\n") and not E164.fullmatch(cell):
                        pytest.fail(f"{path.name}: cell starts a formula: {cell[:60]!r}")
    every = "\n".join(cells)
    assert "evil.example" in every     # the hostile Telegram handles are in the evidence, as text
    assert not BIDI.search(every)


def test_ftm_lines_parse_and_urls_are_http(market):
    files = sorted((market / "exports" / "aleph").glob("*.ftm.json"))
    assert files
    names, urls = [], 0
    for path in files:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                entity = json.loads(line)
                props = entity["properties"]
                for url in props.get("sourceUrl", []):  # an ad's own page, never a host the ad chose
                    urls += 1
                    site = props["service"][0]
                    host = re.match(r"https?://([^/?#:]+)", url)
                    assert host and (host.group(1) == site or host.group(1).endswith("." + site)), url
                names += props.get("name", [])
                assert not BIDI.search(line)
    assert urls and any(n.startswith(FORMULAS) for n in names)  # pages of the other ads; hostile names as plain values


# ----------------------------------------------------------------------------- the rules themselves

def test_cleaning_never_undoes_the_defusing_and_drops_direction_overrides():
    """A leading CR becomes LF when cleaned; the CSV cell must still be defused. Overrides go everywhere."""
    for raw in ("\r=HYPERLINK(\"http://evil.example\",\"x\")", "\r\n+cmd|' /C calc'!A0", "\n@SUM(1)"):
        assert defuse_cell(clean_text(raw)).startswith("'"), raw
    assert strip_controls("Oslo\u202e, +4741234567\u2066x\u2069") == "Oslo, +4741234567x"
    svg = network_travel_svg([("Oslo\u202e", "Bergen <img src=x onerror=alert(1)>", 2)], "N-1\u202e")
    assert not BIDI.search(svg) and not _svg_problems(svg)
    assert "Bergen <img src=x onerror=alert(1)>" in "".join(ElementTree.fromstring(svg).itertext())
