"""The console in a real browser (Debian's Chromium, driven by Playwright) against a real `deconflict serve`:
sign-in, the offline map, live operations and alerts from both sides, filing by drawing and the notice
inbox, the link indicator, and not one request leaving the server's origin."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import LiveServer, extent, running, wait_until
from tests.services.live_helpers import head_on

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

if not CHROMIUM.exists():  # never skipped: a run without the browser must not pass as if it had tested
    raise RuntimeError(f"{CHROMIUM} is missing: run ./scripts/setup (it installs Debian's chromium)")

from playwright.sync_api import Browser, FloatRect, Locator, Page, expect, sync_playwright  # noqa: E402

_suffixes = itertools.count()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with running(tmp_path_factory.mktemp("console")) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield b
        b.close()


@dataclass
class Party:
    name: str
    token: str


@pytest.fixture
def parties(live: LiveServer) -> tuple[Party, Party]:
    """Fresh Blue and Red (supervisors) bound by an agreement without an area."""
    n = next(_suffixes)
    blue, red = live.blue_and_red(f"-{n}")
    return Party(f"Blue-{n}", blue), Party(f"Red-{n}", red)


@dataclass
class Console:
    """One party's console in its own browser context, with every URL it asked for."""

    page: Page
    token: str
    urls: list[str] = field(default_factory=list)
    #: uncaught exceptions, Content-Security-Policy violations and files not found
    errors: list[str] = field(default_factory=list)

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


Opener = Callable[[Party], Console]


@pytest.fixture
def open_console(live: LiveServer, browser: Browser) -> Iterator[Opener]:
    """Sign a party in, each in a fresh browser context; afterwards, check every URL its page asked for:
    all on the server's origin, none carrying the token; and no script error, CSP violation or missing file."""
    consoles: list[Console] = []

    def open_(party: Party) -> Console:
        context = browser.new_context(viewport={"width": 1400, "height": 850})
        page = context.new_page()
        console = Console(page, party.token)
        page.on("request", lambda r: console.urls.append(r.url))
        page.on("websocket", lambda ws: console.urls.append(ws.url))
        page.on("pageerror", lambda e: console.errors.append(str(e)))
        page.on("console", lambda m: console.errors.append(m.text) if "Content Security Policy" in m.text else None)
        # A missing file is told by its response's status, not by "404" in a console line: a port such as 40477
        # puts "404" into every message that names a URL, the expected ones while the server is down included.
        page.on("response", lambda r: console.errors.append(f"{r.status} {r.url}") if r.status == 404 else None)
        page.goto(f"{live.url}/")
        page.fill("#token", party.token)
        page.press("#token", "Enter")
        expect(page.locator("#party")).to_have_text(party.name)
        expect(page.locator("#link")).to_have_text("live")
        consoles.append(console)
        return console

    yield open_
    origin = (f"{live.url}/", f"ws://127.0.0.1:{live.port}/")
    for console in consoles:
        assert any("/api/v1/" in u for u in console.urls)
        assert [u for u in console.urls if not u.startswith(origin)] == []
        assert [u for u in console.urls if console.token in u] == []
        assert console.errors == []
        console.page.context.close()


def test_sign_in_shows_the_party_its_channels_and_an_offline_map(
    parties: tuple[Party, Party], open_console: Opener
) -> None:
    blue, red = parties
    console = open_console(blue)
    page = console.page
    expect(page.locator("#role")).to_have_text("supervisor")
    expect(page.locator("#channels li")).to_have_count(1)
    expect(page.locator("#channels li")).to_contain_text(red.name)
    page.wait_for_function("document.querySelectorAll('path.country').length > 200")
    assert page.locator("path.graticule").count() > 30
    assert page.evaluate("sessionStorage.getItem('deconflict.token')") == blue.token
    assert page.locator(".leaflet-tile").count() == 0
    console.screenshot("console-signed-in")
    # Airports (from airportsdata, served by us): none at a continental zoom, those with airline service
    # from zoom 6, every airfield from zoom 8.
    expect(page.locator("path.airport")).to_have_count(0)
    zoom_in(page, 2)
    expect(page.locator("path.airport")).not_to_have_count(0)
    expect(page.locator("path.airport.minor")).to_have_count(0)
    zoom_in(page, 2)
    expect(page.locator("path.airport.minor")).not_to_have_count(0)
    page.locator("path.airport").first.hover()
    expect(page.locator(".leaflet-tooltip")).to_contain_text(re.compile(r"elevation -?\d+ ft \(-?\d+ m\)"))


def test_a_wrong_token_is_refused_and_sign_out_forgets_the_token(live: LiveServer, browser: Browser) -> None:
    page = browser.new_page()
    try:
        page.goto(f"{live.url}/")
        page.fill("#token", "dcf_not-a-token")
        page.press("#token", "Enter")
        expect(page.locator("#signin-error")).to_have_text("Unknown or revoked token.")
        expect(page.locator("#app")).to_be_hidden()
        assert page.evaluate("sessionStorage.getItem('deconflict.token')") is None
        assert page.url == f"{live.url}/"
    finally:
        page.context.close()


def test_a_counterparts_filing_appears_without_reload(
    live: LiveServer, parties: tuple[Party, Party], open_console: Opener
) -> None:
    blue, red = parties
    console = open_console(blue)
    page = console.page
    expect(page.locator("path.operation")).to_have_count(0)
    assert live.file(red.token).status_code == 201
    expect(page.locator("path.operation.counterpart")).to_have_count(1)
    assert live.file(blue.token).status_code == 201  # the same circle: a conflict with Red's
    expect(page.locator("path.operation.own")).to_have_count(1)
    expect(page.locator("path.conflict")).to_have_count(1)
    console.screenshot("console-operations-and-conflict")


def test_an_operation_drawn_and_filed_by_one_party_is_acknowledged_by_the_other(
    live: LiveServer, parties: tuple[Party, Party], open_console: Opener
) -> None:
    blue, red = parties
    r = live.request("POST", "/api/v1/operations", red.token, json={"extents": [extent(hours_ahead=1.0)]})
    assert r.status_code == 201, r.text
    blue_console, red_console = open_console(blue), open_console(red)
    page = blue_console.page
    theirs = page.locator("path.operation.counterpart")
    expect(theirs).to_have_count(1)  # the map opens framed on it
    box = box_of(theirs)
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    # Draw a square around Red's operation (default times: now + minimum notice + 5 min, for an hour).
    page.locator("#new-op").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#notice-hint")).to_have_text("Agreed minimum notice: 30 min.")
    page.locator("#draw-polygon").click()
    for dx, dy in ((-40, -40), (40, -40), (40, 40), (-40, 40)):
        page.mouse.click(x + dx, y + dy)
    page.keyboard.press("Enter")
    expect(page.locator("#shape")).to_have_text("Polygon of 4 corners.")
    page.select_option("#alt-units", "FT")
    page.fill("#alt-upper", "1000")
    expect(page.locator("#alt-both")).to_have_text("0–305 m (0–1000 ft)")
    page.locator("#op-check").click()
    expect(page.locator("path.draft-conflict")).to_have_count(1)
    expect(page.locator("#op-conflicts li")).to_contain_text(red.name)
    blue_console.screenshot("console-filing-check")
    # Too short a notice is refused, and the form says why, next to the start time.
    start = page.input_value("#t-start")
    page.fill("#t-start", (datetime.now(UTC) + timedelta(minutes=10)).strftime("%Y-%m-%d %H:%M"))
    page.locator("#op-file").click()
    expect(page.locator("#op-error")).to_contain_text("extents[0].time_start: late by")
    expect(page.locator("#t-start")).to_have_attribute("aria-invalid", "true")
    page.fill("#t-start", start)
    page.locator("#op-file").click()
    expect(page.locator("#op-done")).to_contain_text("1 conflict.")
    expect(page.locator("path.draft-conflict")).to_have_count(0)
    expect(page.locator("path.operation.own")).to_have_count(1)
    sent = page.locator("#notices-out li.notice")
    expect(sent).to_have_attribute("data-status", "pending")
    expect(sent).to_contain_text(f"To {red.name}")

    # Activation waits for Red's acknowledgement: the popup says so.
    open_popup(page, x - 35, y - 35)
    page.locator(".leaflet-popup button.op-activate").click()
    expect(page.locator(".leaflet-popup .error")).to_contain_text("cannot be activated yet")

    # Red sees the notice and the conflict without reloading, and acknowledges in one click.
    red_page = red_console.page
    notice = red_page.locator("#notices-in li.notice")
    expect(notice).to_have_attribute("data-status", "pending")
    expect(notice).to_contain_text(f"From {blue.name}")
    expect(notice.locator(".countdown")).to_contain_text("answer within")
    expect(notice.locator(".conflicts")).to_have_text("⚠ 1 conflict with your activity")
    expect(notice.locator(".what")).to_contain_text("0–305 m (0–1000 ft)")
    expect(red_page.locator("path.conflict")).to_have_count(1)
    red_console.screenshot("console-inbox")
    notice.locator("button.ack").click()
    expect(notice).to_have_attribute("data-status", "acknowledged")

    # ... and Blue sees the acknowledgement without reloading.
    expect(sent).to_have_attribute("data-status", "acknowledged")
    expect(sent).to_contain_text("acknowledged at")
    blue_console.screenshot("console-notice-acknowledged")


def test_an_objection_is_sent_with_its_reason(
    live: LiveServer, parties: tuple[Party, Party], open_console: Opener
) -> None:
    blue, red = parties
    assert live.file(red.token).status_code == 201
    page = open_console(blue).page
    notice = page.locator("#notices-in li.notice")
    expect(notice).to_have_attribute("data-status", "pending")
    notice.locator("button.object").click()
    page.keyboard.type("Blue tanker")
    assert live.file(red.token).status_code == 201  # a second notice redraws the inbox mid-sentence
    expect(page.locator("#notices-in li.notice")).to_have_count(2)
    page.keyboard.type(" on station")
    page.keyboard.press("Enter")
    objected = page.locator("#notices-in li.notice[data-status=objection]")
    expect(objected).to_have_count(1)
    expect(objected).to_contain_text("objection: “Blue tanker on station”")
    expect(page.locator("#notice-count")).to_have_text("(1 to answer)")


def test_a_circle_can_be_drawn_from_the_keyboard(parties: tuple[Party, Party], open_console: Opener) -> None:
    blue, _ = parties
    page = open_console(blue).page
    open_form(page)
    page.locator("#draw-circle").press("Enter")
    expect(page.locator("#shape")).to_contain_text("Click the centre")
    page.locator("#map").focus()
    page.keyboard.press("Space")  # the centre
    page.keyboard.press("ArrowRight")  # pan, then the edge
    page.keyboard.press("Space")
    expect(page.locator("#shape")).to_contain_text("Circle, radius")
    expect(page.locator("path.draft")).to_have_count(1)
    page.locator("#op-close").click()
    expect(page.locator("path.draft")).to_have_count(0)
    expect(page.locator("#new-op")).to_be_focused()


def test_converging_aircraft_raise_an_alert_on_both_consoles(
    live: LiveServer, parties: tuple[Party, Party], open_console: Opener
) -> None:
    blue, red = parties
    blue_console, red_console = open_console(blue), open_console(red)
    sound = blue_console.page.locator("#alert-sound")
    sound.click()
    expect(sound).to_have_attribute("aria-pressed", "true")
    expect(sound).to_have_attribute("data-audio", "running")  # a click allows a page to play sound
    south, north = head_on(datetime.now(UTC), gap_nm=20.0, callsign=None)
    south["callsign"], north["callsign"] = "BLU1", "RED2"
    post_reports(live, ((blue, south), (red, north)))
    for console, own, theirs in ((blue_console, "BLU1", "t-"), (red_console, "RED2", "t-")):
        page = console.page
        alert = page.locator("#alerts li.alert[data-kind=loss_of_separation]")
        expect(alert).to_have_count(1, timeout=10_000)
        expect(alert).to_contain_text("Loss of separation")
        expect(alert).to_contain_text(own)
        expect(page.locator(".track-label").filter(has_text=own)).to_contain_text("FL350 450kt")
        expect(page.locator(".track-label").filter(has_text=theirs)).to_have_count(1)
        expect(page.locator("path.track.alerting")).to_have_count(2)
        expect(page.locator("path.vector")).to_have_count(2)
        expect(page.locator("path.cpa")).to_have_count(1)  # head on: both at the same point at the CPA
    # The new caution or warning is cued: named in a live region and the title, marked, and heard (Blue
    # turned sound on, Red did not) until the officer says it was seen.
    beeps = {"caution": 1, "warning": 3}
    for console in (blue_console, red_console):
        page = console.page
        expect(page.locator("#alert-cue")).to_contain_text(re.compile(r"New (CAUTION|WARNING): Loss of separation"))
        expect(page.locator("#alerts li.alert.new")).to_have_count(1)
        expect(page).to_have_title(re.compile(r"^\(1\) (CAUTION|WARNING) – deconflict console$"))
    first_level = alert_level(blue_console.page)
    expect(sound).to_have_attribute("data-beeps", str(beeps[first_level]))
    assert red_console.page.locator("#alert-sound").get_attribute("data-beeps") is None  # Red's sound is off
    red_page = red_console.page
    red_page.locator("#alert-seen").click()
    expect(red_page.locator("#alert-cue")).to_be_hidden()
    expect(red_page.locator("#alerts li.alert.new")).to_have_count(0)
    expect(red_page).to_have_title("deconflict console")
    # Four seconds on, each has flown 0.5 NM: the next poll gives every aircraft a trail.
    south, north = head_on(datetime.now(UTC) + timedelta(seconds=4), gap_nm=19.0, callsign=None)
    south["callsign"], north["callsign"] = "BLU1", "RED2"
    post_reports(live, ((blue, south), (red, north)))
    for console in (blue_console, red_console):
        expect(console.page.locator("path.trail")).to_have_count(2)
        expect(console.page.locator("path.cpa")).to_have_count(1)
    # Blue heard it once more only if it rose from caution to warning, not at every refresh.
    rose = first_level == "caution" and alert_level(blue_console.page) == "warning"
    expect(sound).to_have_attribute("data-beeps", str(beeps[first_level] + (3 if rose else 0)))
    # Chosen from the keyboard, the alert centres the map between the two aircraft.
    page = blue_console.page
    page.locator("#alerts li.alert button").first.focus()
    page.keyboard.press("Enter")
    wait_until(lambda: off_centre_px(page) < 10, timeout_s=5, what="the map to centre on the alert")
    blue_console.screenshot("console-alert")


def open_form(page: Page) -> None:
    """'New operation', and wait until the form is ready (it has asked for the agreed notice)."""
    page.locator("#new-op").click()
    expect(page.locator("#notice-hint")).to_contain_text("Agreed minimum notice")


def in_page(live: LiveServer, browser: Browser, script: str) -> Any:
    """Evaluate `script` (an async function that may import the console's modules) in a page of the
    server's origin, as the console's own code runs."""
    page = browser.new_page()
    try:
        page.goto(f"{live.url}/")
        return page.evaluate(script)
    finally:
        page.context.close()


def alert_level(page: Page) -> str:
    """The level of the one open alert, from its list item's class."""
    classes = (page.locator("#alerts li.alert").get_attribute("class") or "").split()
    (level,) = {"caution", "warning", "advisory"} & set(classes)
    return level


def post_reports(live: LiveServer, reports: tuple[tuple[Party, dict[str, object]], ...]) -> None:
    for party, report in reports:
        r = live.request("POST", "/api/v1/tracks", party.token, json={"reports": [report]})
        assert r.status_code == 200, r.text
        assert r.json()["rejected"] == []


def off_centre_px(page: Page) -> float:
    """How far the midpoint of the alerting aircraft is from the middle of the map, in pixels."""
    map_box = page.locator("#map").bounding_box()
    dots = [page.locator("path.track.alerting").nth(i).bounding_box() for i in range(2)]
    assert map_box is not None
    x = sum(d["x"] + d["width"] / 2 for d in dots if d) / 2 - (map_box["x"] + map_box["width"] / 2)
    y = sum(d["y"] + d["height"] / 2 for d in dots if d) / 2 - (map_box["y"] + map_box["height"] / 2)
    return float((x * x + y * y) ** 0.5)


def test_the_link_indicator_shows_a_lost_server_and_reconnects(
    live: LiveServer, parties: tuple[Party, Party], open_console: Opener
) -> None:
    blue, red = parties
    page = open_console(blue).page
    live.kill()
    try:
        expect(page.locator("#link")).to_have_text("disconnected")
        expect(page.locator("#link")).to_have_class("link down")
    finally:
        live.start()
    expect(page.locator("#link")).to_have_text("live", timeout=15_000)
    assert live.file(red.token).status_code == 201  # and what happens next still arrives
    expect(page.locator("path.operation.counterpart")).to_have_count(1)


def test_a_hotline_message_is_delivered_read_and_receipted_live(
    parties: tuple[Party, Party], open_console: Opener
) -> None:
    blue, red = parties
    blue_console, red_console = open_console(blue), open_console(red)
    page = blue_console.page
    thread = page.locator("#threads button.thread")
    expect(thread).to_have_text(red.name)
    thread.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#msg-body")).to_be_focused()
    page.select_option("#msg-priority", "urgent")
    page.keyboard.type("Tanker moving to the west track")
    page.keyboard.press("Enter")
    sent = page.locator("#thread-messages li.message.out")
    expect(sent).to_have_count(1)
    expect(sent.locator(".priority")).to_have_text("URGENT")
    expect(page.locator("#msg-priority")).to_have_value("routine")

    # Red's console has it without reloading (which delivers it); opening the thread reads it.
    red_page = red_console.page
    theirs = red_page.locator("#threads button.thread")
    expect(theirs).to_contain_text("1 new")
    expect(red_page.locator("#message-count")).to_have_text("(1 new)")
    expect(sent).to_have_attribute("data-receipt", "delivered")
    expect(sent.locator(".receipt")).to_contain_text("✓ delivered")
    theirs.click()
    got = red_page.locator("#thread-messages li.message.in")
    expect(got).to_contain_text("Tanker moving to the west track")
    expect(got).to_have_attribute("data-priority", "urgent")
    expect(red_page.locator("#message-count")).to_have_text("")
    expect(theirs).not_to_contain_text("new")

    # ... and Blue sees the read receipt.
    expect(sent).to_have_attribute("data-receipt", "read")
    expect(sent.locator(".receipt")).to_contain_text("✓✓ read")
    blue_console.screenshot("console-hotline")


def test_the_timeline_and_altitude_filter_choose_the_volumes_shown(
    live: LiveServer, parties: tuple[Party, Party], open_console: Opener
) -> None:
    blue, red = parties
    low_soon = extent(hours_ahead=1.0)  # 0–500 m, from now + 1 h for an hour
    high_later = extent(hours_ahead=5.0)
    high_later["volume"]["altitude_lower"] = {"value": 3000}
    high_later["volume"]["altitude_upper"] = {"value": 4000}
    for e in (low_soon, high_later):
        r = live.request("POST", "/api/v1/operations", red.token, json={"extents": [e]})
        assert r.status_code == 201, r.text
    console = open_console(blue)
    page = console.page
    shown = page.locator("path.operation.counterpart")
    expect(page.locator("#t-all")).to_have_attribute("aria-pressed", "true")
    expect(shown).to_have_count(2)  # the whole next 24 h
    expect(page.locator("#t-strip .counterpart .bar")).to_have_count(2)

    page.locator("#t-now").click()  # nothing is active yet
    expect(page.locator("#t-all")).to_have_attribute("aria-pressed", "false")
    expect(shown).to_have_count(0)
    expect(page.locator("#t-at")).to_contain_text("(now + 0 h 00 min)")

    slider = page.locator("#t-slider")  # from the keyboard: 18 steps of 5 min
    slider.focus()
    for _ in range(18):
        page.keyboard.press("ArrowRight")
    expect(page.locator("#t-at")).to_contain_text("(now + 1 h 30 min)")
    expect(shown).to_have_count(1)
    expect(page.locator("#t-strip .cursor")).to_be_visible()
    console.screenshot("console-timeline")
    for _ in range(48):  # to now + 5 h 30 min: the high one only
        page.keyboard.press("ArrowRight")
    expect(page.locator("#t-at")).to_contain_text("(now + 5 h 30 min)")
    expect(shown).to_have_count(1)

    # An altitude band that only the low operation reaches hides the high one, on the map and the strip.
    page.locator("#t-all").click()
    page.fill("#f-upper", "2000")  # ft
    expect(page.locator("#f-both")).to_have_text("ground – FL020 / 610 m")
    expect(shown).to_have_count(1)
    expect(page.locator("#t-strip .counterpart .bar")).to_have_count(1)
    page.locator("#t-slider").focus()
    page.keyboard.press("Home")  # now: the low one is not active yet
    expect(shown).to_have_count(0)
    page.fill("#f-upper", "")
    page.locator("#t-all").click()
    expect(shown).to_have_count(2)

    # Filed for the day after tomorrow: not in the next 24 h, but under "All filed".
    far = extent(hours_ahead=30.0)
    assert live.request("POST", "/api/v1/operations", red.token, json={"extents": [far]}).status_code == 201
    expect(page.locator("#t-strip .counterpart .bar")).to_have_count(2)
    expect(shown).to_have_count(2)
    page.locator("#t-filed").click()
    expect(page.locator("#t-filed")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#t-all")).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#t-at")).to_contain_text("All filed, from")
    expect(shown).to_have_count(3)


def test_a_corridor_is_drawn_filed_with_its_details_and_edited_with_a_version_check(
    live: LiveServer, parties: tuple[Party, Party], open_console: Opener
) -> None:
    blue, _ = parties
    console = open_console(blue)
    page = console.page
    open_form(page)
    zoom_in(page, 3)  # to 8 or more: a pixel is at most 400 m here, the corridor at least 18 px wide
    page.fill("#half-width", "2")  # NM
    page.locator("#draw-corridor").click()
    box = page.locator("#map").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for dx, dy in ((-150, 0), (0, -60), (150, 0)):
        page.mouse.click(x + dx, y + dy)
    page.keyboard.press("Enter")
    expect(page.locator("#shape")).to_have_text("Corridor of 3 points, 2.0 NM (3.7 km) either side.")
    expect(page.locator("path.draft")).not_to_have_count(0)
    page.fill("#op-callsigns", "BLUE11, BLUE12")
    page.fill("#op-purpose", "tanker track")
    console.screenshot("console-corridor")
    page.locator("#op-file").click()
    expect(page.locator("#op-done")).to_contain_text("Filed operation")
    own = page.locator("path.operation.own")
    assert own.count() == 1, "the confirmation came before the map showed the operation"
    (filed,) = live.request("GET", "/api/v1/operations", blue.token).json()
    assert filed["private"]["callsigns"] == ["BLUE11", "BLUE12"]
    assert filed["private"]["purpose"] == "tanker track"
    assert len(filed["extents"][0]["volume"]["outline_polygon"]["vertices"]) > 20  # rounded ends and bend

    # Edit: raise the ceiling; the form holds the extent as filed and saves against its version.
    click_inside(page)
    page.locator(".leaflet-popup button.op-edit").click()
    expect(page.locator("#op-form-title")).to_contain_text("Edit operation")
    expect(page.locator("#alt-units")).to_have_value("M")
    expect(page.locator("#op-callsigns")).to_have_value("BLUE11, BLUE12")
    page.fill("#alt-upper", "900")
    page.locator("#op-file").click()
    expect(page.locator("#op-done")).to_contain_text("Saved operation")
    (saved,) = live.request("GET", "/api/v1/operations", blue.token).json()
    assert saved["extents"][0]["volume"]["altitude_upper"]["value"] == 900
    assert saved["version"] != filed["version"]
    assert saved["extents"][0]["volume"]["outline_polygon"] == filed["extents"][0]["volume"]["outline_polygon"]

    # Someone else changes it while the form is open: saving is refused, and nothing is written.
    click_inside(page)
    page.locator(".leaflet-popup button.op-edit").click()
    expect(page.locator("#alt-upper")).to_have_value("900")
    meanwhile = {"extents": saved["extents"], "version": saved["version"], "private": {"purpose": "changed elsewhere"}}
    r = live.request("PUT", f"/api/v1/operations/{saved['id']}", blue.token, json=meanwhile)
    assert r.status_code == 200, r.text
    page.fill("#alt-upper", "1200")
    page.locator("#op-file").click()
    expect(page.locator("#op-error")).to_contain_text("Someone changed this operation")
    console.screenshot("console-edit-refused")
    (current,) = live.request("GET", "/api/v1/operations", blue.token).json()
    assert current["extents"][0]["volume"]["altitude_upper"]["value"] == 900
    assert current["private"]["purpose"] == "changed elsewhere"


def test_a_filing_is_confirmed_even_when_the_map_cannot_reload_it(
    live: LiveServer, parties: tuple[Party, Party], open_console: Opener
) -> None:
    blue, _ = parties
    page = open_console(blue).page
    open_form(page)
    page.locator("#draw-circle").click()
    box = box_of(page.locator("#map"))
    page.mouse.click(box["x"] + 100, box["y"] + 100)
    page.mouse.click(box["x"] + 120, box["y"] + 100)
    # The confirmation waits for the map's reload of the operations, which here never answers.
    page.route(re.compile(r".*/api/v1/operations\?.*"), lambda route: None)
    page.locator("#op-file").click()
    expect(page.locator("#op-done")).to_contain_text("Filed operation")
    expect(page.locator("path.operation.own")).to_have_count(0)  # the map is behind, the form says it is filed
    assert len(live.request("GET", "/api/v1/operations", blue.token).json()) == 1


def test_an_open_popup_stays_open_where_it_was_when_its_operation_changes_elsewhere(
    live: LiveServer, parties: tuple[Party, Party], open_console: Opener
) -> None:
    blue, _ = parties
    filed = live.file(blue.token)
    assert filed.status_code == 201, filed.text
    op = filed.json()["operation"]
    page = open_console(blue).page
    zoom_in(page, 2)
    box = box_of(page.locator("path.operation.own"))
    open_popup(page, box["x"] + box["width"] / 3, box["y"] + box["height"] / 3)  # well off its centre
    popup = page.locator(".leaflet-popup")
    before = box_of(popup)
    changed = {"extents": op["extents"], "version": op["version"], "private": {"callsigns": ["BLUE7"]}}
    r = live.request("PUT", f"/api/v1/operations/{op['id']}", blue.token, json=changed)
    assert r.status_code == 200, r.text
    expect(popup).to_contain_text("callsigns: BLUE7")  # redrawn with the change, and open again
    after = box_of(popup)
    assert abs(after["x"] - before["x"]) < 1, (before, after)
    assert abs(after["y"] - before["y"]) < 1, (before, after)


def click_inside(page: Page) -> None:
    """Click the own corridor (an inverted V) near its apex: the middle of the top of its bounding box."""
    box = box_of(page.locator("path.operation.own"))
    open_popup(page, box["x"] + box["width"] / 2, box["y"] + 9)


def open_popup(page: Page, x: float, y: float) -> None:
    """Click a layer at (x, y) and wait for its popup to be still: one that opens over the edge of the map
    pans it, and a click on one of its buttons mid-pan lands on the map instead."""
    page.mouse.click(x, y)
    expect(page.locator(".leaflet-popup")).to_be_visible()
    expect(page.locator("#map")).not_to_have_attribute("aria-busy", "true")


def box_of(layer: Locator) -> FloatRect:
    """The on-screen box of a map layer, once the map is still. A refresh redraws the layers (an event after
    a filing asks for one), so the path found can be gone before it is measured: look again until it is."""
    boxes: list[FloatRect] = []

    def measured() -> bool:
        box = layer.bounding_box()
        if box is not None:
            boxes.append(box)
        return box is not None

    expect(layer.page.locator("#map")).not_to_have_attribute("aria-busy", "true")  # not mid-zoom
    wait_until(measured, timeout_s=5, what="a drawn layer to measure")
    return boxes[-1]


def zoom_in(page: Page, times: int) -> None:
    """Press the map's + button, waiting each time for the zoom to end (Leaflet ignores a zoom mid-animation)."""
    scale = "() => document.querySelector('.leaflet-proxy').style.transform.split('scale(')[1]"
    animating = "() => document.querySelector('.leaflet-map-pane').classList.contains('leaflet-zoom-anim')"
    for _ in range(times):
        expect(page.locator("#map")).not_to_have_attribute("aria-busy", "true")  # e.g. still framing at start
        before = page.evaluate(scale)
        page.locator("a.leaflet-control-zoom-in").click()
        done = lambda b=before: page.evaluate(scale) != b and not page.evaluate(animating)  # noqa: E731
        wait_until(done, timeout_s=5, what="a zoom")


def test_signing_out_leaves_nothing_of_the_party_for_the_next(
    live: LiveServer, parties: tuple[Party, Party], open_console: Opener
) -> None:
    blue, red = parties
    assert live.file(blue.token).status_code == 201
    console = open_console(blue)
    page = console.page
    expect(page.locator("path.operation.own")).to_have_count(1)
    page.locator("#signout").click()
    expect(page.locator("#signin")).to_be_visible()
    expect(page.locator("#token")).to_be_focused()
    assert page.evaluate("sessionStorage.getItem('deconflict.token')") is None
    # Red signs in on the same screen: its own picture only, and one filing makes one operation.
    console.token = red.token
    page.fill("#token", red.token)
    page.press("#token", "Enter")
    expect(page.locator("#party")).to_have_text(red.name)
    expect(page.locator("path.operation.counterpart")).to_have_count(1)
    expect(page.locator("path.operation.own")).to_have_count(0)
    open_form(page)
    page.locator("#draw-circle").click()
    box = page.locator("#map").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 100, box["y"] + 100)
    page.mouse.click(box["x"] + 120, box["y"] + 100)
    page.locator("#op-file").click()
    expect(page.locator("#op-done")).to_contain_text("Filed operation")
    expect(page.locator("path.operation.own")).to_have_count(1)
    assert len(live.request("GET", "/api/v1/operations", red.token).json()) == 2  # Blue's and the one of Red's


def test_a_message_about_a_counterparts_operation_names_it(
    live: LiveServer, parties: tuple[Party, Party], open_console: Opener
) -> None:
    blue, red = parties
    filed = live.file(red.token)
    assert filed.status_code == 201
    op_id = filed.json()["operation"]["id"]
    blue_page, red_page = open_console(blue).page, open_console(red).page
    theirs = blue_page.locator("path.operation.counterpart")
    expect(theirs).to_have_count(1)
    box = box_of(theirs)
    open_popup(blue_page, box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    blue_page.locator(".leaflet-popup button.op-message").click()
    expect(blue_page.locator("#thread-title")).to_have_text(f"With {red.name}")
    expect(blue_page.locator("#msg-about")).to_have_text(re.compile(f"about operation {op_id[:8]}"))
    expect(blue_page.locator("#msg-body")).to_be_focused()
    blue_page.keyboard.type("Can you hold this one until 14Z?")
    blue_page.keyboard.press("Enter")
    expect(blue_page.locator("#thread-messages li.message.out .about")).to_have_text(f"re: operation {op_id[:8]}")
    expect(blue_page.locator("#msg-about")).to_be_hidden()
    (sent,) = live.request("GET", "/api/v1/messages", red.token).json()
    assert sent["operation_ids"] == [op_id]
    red_page.locator("#threads button.thread").click()
    expect(red_page.locator("#thread-messages li.message.in .about")).to_have_text(f"re: operation {op_id[:8]}")


def test_own_operations_are_listed_with_their_actions_for_the_keyboard(
    live: LiveServer, parties: tuple[Party, Party], open_console: Opener
) -> None:
    blue, _ = parties
    filed = live.file(blue.token)
    assert filed.status_code == 201
    op = filed.json()["operation"]
    page = open_console(blue).page
    expect(page.locator("#own-op-count")).to_have_text("(1)")
    page.locator("#own-ops-box summary").focus()
    page.keyboard.press("Enter")
    item = page.locator("#own-ops li.own-op")
    expect(item).to_have_attribute("data-id", op["id"])
    expect(item).to_contain_text("0–500 m (0–1640 ft)")
    item.locator("button.op-pick").focus()
    page.keyboard.press("Enter")  # shows it on the map, its popup open
    expect(page.locator(".leaflet-popup")).to_contain_text(f"Operation {op['id'][:8]}")
    item.locator("button.op-cancel").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#own-ops li.own-op")).to_have_count(0)
    expect(page.locator("#own-op-count")).to_have_text("(0)")
    assert live.request("GET", f"/api/v1/operations/{op['id']}", blue.token).json()["state"] == "cancelled"


AXE = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "axe-core" / "axe.min.js"


def test_the_main_views_pass_an_accessibility_audit(
    live: LiveServer, parties: tuple[Party, Party], browser: Browser
) -> None:
    """axe-core (from npm, a test-only dependency) on the signed-in console with operations, a conflict,
    a notice awaiting an answer, the filing form and a hotline thread open: WCAG 2 A and AA, which
    include colour contrast. The page's CSP is bypassed only to inject axe itself."""
    blue, red = parties
    assert live.file(blue.token).status_code == 201
    assert live.file(red.token).status_code == 201
    context = browser.new_context(viewport={"width": 1400, "height": 850}, bypass_csp=True)
    page = context.new_page()
    try:
        page.goto(f"{live.url}/")
        page.fill("#token", red.token)
        page.press("#token", "Enter")
        expect(page.locator("#notices-in li.notice")).to_have_count(1)
        expect(page.locator("path.conflict")).to_have_count(1)
        page.locator("#new-op").click()
        page.locator("#threads button.thread").click()
        page.locator("#own-ops-box summary").click()
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("() => axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] })")
        problems = [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:5]]}"
            for v in result["violations"]
        ]
        assert problems == []
        checked = {rule["id"] for rule in result["passes"]}
        assert {"color-contrast", "label", "button-name", "aria-valid-attr-value"} <= checked  # it did look
    finally:
        context.close()


def test_the_consoles_clock_follows_the_servers_pace(live: LiveServer, browser: Browser) -> None:
    """clock.js in the browser: real time, a replay at 10x, one standing still, and one restarted."""
    runs = in_page(
        live,
        browser,
        """async () => {
              const { ServerClock } = await import("/static/clock.js");
              const run = (readings, at) => {
                const clock = new ServerClock();
                for (const [serverMs, wallMs] of readings) clock.read(serverMs, wallMs);
                return clock.now(at).getTime();
              };
              return {
                real: run([[5000, 1000], [20000, 16000]], 17000),
                tenfold: run([[0, 0], [150000, 15000]], 16000),
                paused: run([[7000, 0], [7000, 15000]], 20000),
                restarted: run([[900000, 0], [1000, 15000]], 17000),
                unread: run([], 1234),
              };
            }""",
    )
    assert runs == {"real": 21000, "tenfold": 160000, "paused": 7000, "restarted": 3000, "unread": 1234}


def test_a_conflict_through_the_time_buffer_is_shown_when_its_operations_fly(
    live: LiveServer, parties: tuple[Party, Party], open_console: Opener
) -> None:
    """The two operations do not overlap in time but come within the agreed 5-minute buffer: the API gives
    the conflict no window, and the console places it from the first's start to the second's end."""
    blue, red = parties
    first = extent(hours_ahead=2.0)  # for an hour
    second = extent(hours_ahead=3.0 + 2 / 60)  # two minutes after the first ends
    for party, e in ((red, first), (blue, second)):
        r = live.request("POST", "/api/v1/operations", party.token, json={"extents": [e]})
        assert r.status_code == 201, r.text
    conflict = r.json()["conflicts"][0]
    assert conflict["time_start"] is None
    assert conflict["time_gap_s"] > 0
    page = open_console(blue).page
    drawn = page.locator("path.conflict")
    expect(drawn).to_have_count(1)  # the next 24 h
    bar = page.locator("#t-strip .conflict .bar")
    expect(bar).to_have_count(1)
    strip = page.locator("#t-strip").bounding_box()
    box = bar.bounding_box()
    assert strip is not None
    assert box is not None
    assert 0.05 < box["width"] / strip["width"] < 0.12  # about 2 h of 24, not the whole day
    page.locator("#t-now").click()
    expect(drawn).to_have_count(0)
    page.locator("#t-slider").focus()
    for _ in range(30):  # now + 2 h 30: the first one flies
        page.keyboard.press("ArrowRight")
    expect(drawn).to_have_count(1)


def test_a_callsign_is_shown_as_text_never_as_markup(
    live: LiveServer, parties: tuple[Party, Party], open_console: Opener
) -> None:
    blue, _ = parties
    page = open_console(blue).page
    south, _ = head_on(datetime.now(UTC), gap_nm=20.0, callsign=None)
    south["callsign"] = "<i id=pwn>X</i>"  # 15 printable characters: a valid callsign
    post_reports(live, ((blue, south),))
    label = page.locator(".track-label")
    expect(label).to_contain_text("<i id=pwn>X</i> FL350")
    assert page.locator("#pwn").count() == 0
    page.locator("path.track").first.click(force=True)
    expect(page.locator(".leaflet-popup")).to_contain_text("<i id=pwn>X</i>")
    assert page.locator("#pwn").count() == 0


def test_editing_one_extent_keeps_the_rest_of_the_operation_exactly(
    live: LiveServer, parties: tuple[Party, Party], open_console: Opener
) -> None:
    """Only what the officer changed changes: the other extent, the untouched fields of the edited one
    (times to the microsecond, altitudes to the millimetre) and the private details the form does not show."""
    blue, _ = parties
    first, second = extent(hours_ahead=1.0), extent(hours_ahead=3.0)
    second["volume"]["altitude_upper"] = {"value": 512.345}
    private = {"callsigns": ["BLUE7"], "aircraft_ids": ["3c4b26"], "aircraft_count": 3, "purpose": "survey"}
    r = live.request("POST", "/api/v1/operations", blue.token, json={"extents": [first, second], "private": private})
    assert r.status_code == 201, r.text
    filed = r.json()["operation"]
    page = open_console(blue).page
    page.locator("#own-ops-box summary").click()
    item = page.locator("#own-ops li.own-op")
    expect(item.locator("button.op-edit")).to_have_count(2)
    item.locator("button.op-edit", has_text="Edit extent 2").click()
    expect(page.locator("#op-form-title")).to_contain_text("extent 2 of 2")
    expect(page.locator("#alt-upper")).to_have_value("512.345")
    page.fill("#op-purpose", "survey, second pass")
    page.locator("#op-check").click()  # an edit's dry run judges only its changes: nothing to say
    expect(page.locator("#op-done")).to_have_text("No conflicts.")
    page.locator("#op-file").click()
    expect(page.locator("#op-done")).to_contain_text("Saved operation")
    saved = live.request("GET", f"/api/v1/operations/{filed['id']}", blue.token).json()
    assert saved["extents"] == filed["extents"]
    assert saved["private"] == {**private, "purpose": "survey, second pass"}
    assert saved["version"] != filed["version"]


def test_sound_after_a_reload_waits_for_a_click_and_says_so(parties: tuple[Party, Party], open_console: Opener) -> None:
    blue, _ = parties
    page = open_console(blue).page
    page.locator("#alert-sound").click()
    expect(page.locator("#alert-sound")).to_have_attribute("data-audio", "running")
    page.reload()  # signed in again from the tab's session; the sound setting is remembered
    sound = page.locator("#alert-sound")
    expect(sound).to_have_attribute("aria-pressed", "true")
    expect(sound).not_to_have_attribute("data-audio", "none")
    # Chromium usually keeps a reloaded page's sound suspended until a click (it sometimes carries the
    # earlier click over): whichever it does, the button says it.
    if sound.get_attribute("data-audio") == "running":
        expect(sound).to_have_text("Sound on")
    else:
        expect(sound).to_have_attribute("data-audio", "suspended")
        expect(sound).to_have_text("Sound on: click the page to allow it")
    page.locator("#party").click()
    expect(sound).to_have_attribute("data-audio", "running")
    expect(sound).to_have_text("Sound on")


def test_the_alert_cue_ends_when_its_alert_closes(live: LiveServer, browser: Browser) -> None:
    """alerts.js's AlertCue in the browser, fed lists of open alerts as the console gets them."""
    seen = in_page(
        live,
        browser,
        """async () => {
              const { AlertCue } = await import("/static/alerts.js");
              const make = (tag) => document.body.appendChild(document.createElement(tag));
              const cue = new AlertCue({ cue: make("p"), dismiss: make("button"), sound: make("button") });
              const alert = (id, level) => ({ id, level, kind: "intrusion", tracks: [{ track: id }], detail: {} });
              const states = [];
              const note = () => states.push({ cue: cue.cue.hidden ? "" : cue.cue.textContent, title: document.title });
              cue.update([]);  // the first list: nothing is new
              cue.update([alert("a", "advisory")]); note();
              cue.update([alert("a", "caution")]); note();
              cue.update([alert("a", "caution"), alert("b", "warning")]); note();
              cue.update([alert("a", "caution")]); note();  // b closed
              cue.update([]); note();  // a closed too
              return states;
            }""",
    )
    title = "deconflict console"
    assert seen == [
        {"cue": "", "title": title},
        {"cue": "New CAUTION: Intrusion a", "title": f"(1) CAUTION – {title}"},
        {"cue": "New WARNING: Intrusion b (+1 more)", "title": f"(2) WARNING – {title}"},
        {"cue": "New CAUTION: Intrusion a", "title": f"(1) CAUTION – {title}"},
        {"cue": "", "title": title},
    ]
