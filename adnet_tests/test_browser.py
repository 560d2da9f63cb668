"""The Dagster UI of an investigation: its GraphQL API, and its pages in a real (headless) Chromium.

One webserver (`dagster-webserver -w workspace.yaml`, loopback, a free port) serves a small demo
market (seed 11, scale 0.05) that `adnet run` materialises while the server starts, in the
investigation's own instance (<data>/.dagster). The GraphQL tests check the asset graph, the
partitions, the sensor and the schedule; the browser tests load the asset graph and the network
pictures (PNG and SVG embedded as data URIs in markdown metadata) and save screenshots, under the
test's temporary folder and in <tmp>/adnet_browser_shots/ (printed with -s).

The browser is Debian's `chromium` + `chromium-driver` (`.ci/run` installs them when it can); the
browser tests skip, with the reason, only where neither is found.
"""

from __future__ import annotations

import io
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from adnet_assets.instance import ensure_dagster_home
from adnet_assets.layout import DataLayout
from adnet_assets.lib.windows import window_key, window_of_snapshot
from adnet_tests.test_ui import DagsterServer, free_port, server_env

PROJECT = Path(__file__).resolve().parent.parent
SHOTS = Path(tempfile.gettempdir()) / "adnet_browser_shots"
NO_CHROMIUM = "no Chromium: install the Debian packages chromium and chromium-driver (.ci/run does)"


class UI:
    def __init__(self, server: DagsterServer, root: Path):
        self.server, self.root = server, root
        self.names: dict = {}

    def wait_for_the_run(self) -> None:
        """The session's `adnet run` over the small market has finished (the fixture checked it went well)."""


@pytest.fixture(scope="module")
def ui(small_market, tmp_path_factory):
    """The webserver over the session's small market, after its `adnet run` (shared with test_cli)."""
    root, _, done = small_market
    assert done.returncode == 0, done.stderr[-3000:]
    base = tmp_path_factory.mktemp("browser")
    home = ensure_dagster_home(DataLayout.at(root))
    env = server_env(DAGSTER_HOME=str(home), ADNET_DATA_DIR=str(root))
    port = free_port()
    server = DagsterServer([sys.executable, "-m", "dagster_webserver", "-w", str(PROJECT / "workspace.yaml"),
                            "-h", "127.0.0.1", "-p", str(port)],
                           env=env, port=port, log=base / "webserver.log", cwd=str(PROJECT))
    try:
        server.wait_until_serving()
        state = UI(server, root)
        state.names = server.wait_for_code_location()
        yield state
    finally:
        server.stop()


def _asset_node(ui: UI, key: str, fields: str) -> dict:
    return ui.server.graphql(f'{{ assetNodeOrError(assetKey: {{path: ["{key}"]}}) {{ __typename ... on AssetNode {{ {fields} }} }} }}')["assetNodeOrError"]


def test_graphql_shows_the_asset_graph(ui):
    nodes = ui.server.graphql("{ assetNodes { assetKey { path } groupName dependencyKeys { path } } }")["assetNodes"]
    graph = {"/".join(n["assetKey"]["path"]): {"/".join(d["path"]) for d in n["dependencyKeys"]} for n in nodes}
    groups = {"/".join(n["assetKey"]["path"]): n["groupName"] for n in nodes}
    assert {"raw_snapshots", "ads", "links", "networks", "excel_workbook", "xmind_maps", "network_pictures"} <= set(graph)
    assert "raw_snapshots" in graph["ad_observations"]
    assert "links" in graph["networks"]
    assert {"networks", "links"} <= graph["xmind_maps"] and {"networks", "links"} <= graph["excel_workbook"]
    assert {groups[k] for k in ("raw_snapshots", "links", "networks", "xmind_maps")} == {"ingest", "evidence", "networks", "exports"}


def test_graphql_shows_the_twice_weekly_partitions(ui):
    before = window_key(datetime.now(timezone.utc))
    node = _asset_node(ui, "raw_snapshots", "partitionKeys partitionDefinition { type description }")
    after = window_key(datetime.now(timezone.utc))
    keys = node["partitionKeys"]
    assert node["partitionDefinition"]["type"] == "TIME_WINDOW"
    assert len(keys) > 1000 and keys[0] == "2010-01-04"
    assert {"2026-06-01", "2026-06-04"} <= set(keys)  # a Monday and the Thursday after
    assert {datetime.strptime(k, "%Y-%m-%d").weekday() for k in keys} == {0, 3}
    assert keys[-1] in (before, after)  # end_offset=1: the window in progress is a partition

    ui.wait_for_the_run()
    stats = _asset_node(ui, "raw_snapshots", "partitionStats { numMaterialized numFailed }")["partitionStats"]
    windows = {window_of_snapshot(m.parent.name) for m in (ui.root / "snapshots").glob("*/*/manifest.json")}
    assert {"2026-06-01", "2026-06-04"} <= windows  # the demo market's first windows
    assert stats == {"numMaterialized": len(windows), "numFailed": 0}  # `adnet run`: every window with snapshots


def test_graphql_shows_the_sensor_and_the_schedule_stopped(ui):
    query = """query ($location: String!, $repository: String!) {
      repositoryOrError(repositorySelector: {repositoryLocationName: $location, repositoryName: $repository}) {
        ... on Repository {
          sensors { name minIntervalSeconds sensorState { status } targets { pipelineName } }
          schedules { name cronSchedule executionTimezone pipelineName scheduleState { status } }
        } } }"""
    repository = ui.server.graphql(query, {"location": ui.names["location"], "repository": ui.names["repository"]})["repositoryOrError"]
    sensors = {s["name"]: s for s in repository["sensors"]}
    schedules = {s["name"]: s for s in repository["schedules"]}
    sensor, schedule = sensors["new_snapshot_sensor"], schedules["newest_window_schedule"]
    assert sensor["sensorState"]["status"] == "STOPPED" and schedule["scheduleState"]["status"] == "STOPPED"
    assert sensor["minIntervalSeconds"] == 60 and [t["pipelineName"] for t in sensor["targets"]] == ["adnet_job"]
    assert (schedule["cronSchedule"], schedule["executionTimezone"], schedule["pipelineName"]) == ("0 12 * * 1,4", "UTC", "adnet_job")


# ---------------------------------------------------------------------------------------------
# In the browser


@pytest.fixture(scope="module")
def browser():
    chromium = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    chromedriver = shutil.which("chromedriver") or next(
        (p for p in ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver") if Path(p).is_file()), None)
    if chromium is None or chromedriver is None:
        pytest.skip(NO_CHROMIUM)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,900",
                     "--disable-gpu", "--no-first-run", "--disable-extensions"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver, condition, what: str, timeout: float = 45):
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.25).until(lambda d: condition(d))
    except Exception as error:  # TimeoutException: say what was awaited and where
        pytest.fail(f"{what}: not seen within {timeout:.0f} s on {driver.current_url} ({type(error).__name__})")


def _visible_text(driver, text: str):
    from selenium.webdriver.common.by import By

    return [e for e in driver.find_elements(By.XPATH, f"//*[normalize-space(text())='{text}']") if e.is_displayed()]


def _screenshot(driver, tmp_path: Path, name: str) -> Path:
    from PIL import Image

    time.sleep(1.0)  # let the graph's layout animation settle
    path = tmp_path / name
    assert driver.save_screenshot(str(path)), path
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / name)
    print(f"screenshot: {SHOTS / name}")
    image = Image.open(io.BytesIO(path.read_bytes())).convert("RGB")
    assert image.width >= 1000 and image.height >= 600 and path.stat().st_size > 20_000, (image.size, path.stat().st_size)
    colours = image.resize((200, 120)).getcolors(maxcolors=200 * 120)
    assert colours is not None and len(colours) > 50, "the screenshot is (nearly) one colour"
    return path


def test_the_asset_graph_page_shows_the_assets(ui, browser, tmp_path):
    base = f"http://127.0.0.1:{ui.server.port}"
    # The global lineage (left menu "Lineage") with the ingest group opened; group ids are `global@global:<group>`.
    browser.get(f"{base}/asset-groups?expanded=global@global:ingest")
    _wait(browser, lambda d: _visible_text(d, "raw_snapshots"), "the asset raw_snapshots in the global asset graph")
    assert _visible_text(browser, "ad_observations") and _visible_text(browser, "phones")
    _screenshot(browser, tmp_path, "asset_graph.png")

    # The lineage of `networks`: evidence in, exports out.
    browser.get(f"{base}/assets/networks?view=lineage")
    _wait(browser, lambda d: all(_visible_text(d, n) for n in ("links", "networks", "excel_workbook", "xmind_maps")),
          "links, networks, excel_workbook and xmind_maps in the lineage of networks")
    _screenshot(browser, tmp_path, "networks_lineage.png")


def _markdown_pictures(ui: UI, browser, tmp_path: Path, asset: str, mime: str, shot: str) -> list:
    """Opens the `pictures` markdown metadata of the asset's latest materialisation in its page; the <img>s shown."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    entries = _asset_node(ui, asset, "assetMaterializations(limit: 1) { metadataEntries { label ... on MarkdownMetadataEntry { mdStr } } }")
    markdown = {e["label"]: e.get("mdStr") for e in entries["assetMaterializations"][0]["metadataEntries"]}["pictures"]
    embedded = markdown.count(f"(data:{mime};base64,")
    assert embedded > 0, markdown[:500]

    browser.get(f"http://127.0.0.1:{ui.server.port}/assets/{asset}")
    row = "//tr[td[normalize-space()='pictures']]"
    link = _wait(browser, lambda d: [e for e in d.find_elements(By.XPATH, f"{row}//*[contains(text(), 'Show Markdown')]")
                                     if e.is_displayed()], f"the 'pictures' metadata of {asset}")[0]
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", link)
    link.click()
    dialog = "//*[contains(@class, 'dialog') or @role='dialog'][.//*[normalize-space(text())='pictures']]"

    def pictures(d):
        images = [i for i in d.find_elements(By.XPATH, f"{dialog}//img")
                  if (i.get_attribute("src") or "").startswith(f"data:{mime};base64,")]
        # naturalWidth > 0: the browser decoded the data URI, not just kept the tag
        decoded = [i for i in images if d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", i)]
        return decoded if len(decoded) == embedded else None

    images = _wait(browser, pictures, f"{embedded} decoded <img src=\"data:{mime};base64,...\"> in the markdown of {asset}")
    assert all(i.size["width"] > 200 and i.size["height"] > 200 for i in images), [i.size for i in images]
    _screenshot(browser, tmp_path, shot)
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    return images


def test_network_pictures_render_from_data_uris_in_markdown_metadata(ui, browser, tmp_path):
    ui.wait_for_the_run()
    images = _markdown_pictures(ui, browser, tmp_path, "network_pictures", "image/png", "network_pictures.png")
    networks = _asset_node(ui, "network_pictures", "assetMaterializations(limit: 1) { metadataEntries { label ... on IntMetadataEntry { intValue } } }")
    count = {e["label"]: e.get("intValue") for e in networks["assetMaterializations"][0]["metadataEntries"]}["networks"]
    assert len(images) == count > 0


def test_travel_pictures_render_from_svg_data_uris_in_markdown_metadata(ui, browser, tmp_path):
    ui.wait_for_the_run()
    assert _markdown_pictures(ui, browser, tmp_path, "network_travel", "image/svg+xml", "network_travel.png")
