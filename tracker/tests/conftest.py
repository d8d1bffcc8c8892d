"""Fixtures for the tracking-script tests: the build, the stub servers, one headless Chromium per module."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
from stub_server import Stub

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

TRACKER = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def load_build() -> ModuleType:
    """tracker/build.py as a module (tracker/ is not a package)."""
    spec = importlib.util.spec_from_file_location("tracker_build", TRACKER / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def build() -> ModuleType:
    return load_build()


@pytest.fixture(scope="module")
def stub(build: ModuleType) -> Iterator[Stub]:
    """The site and API stubs, serving the script exactly as built from the current source."""
    server = Stub(script=build.build(), pages=(Path(__file__).parent / "pages").resolve())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def errors() -> list[str]:
    """Uncaught page errors collected by the ``page`` fixture; a test may assert it stays empty."""
    return []


@pytest.fixture
def page(browser: Browser, stub: Stub, errors: list[str]) -> Iterator[Page]:
    """A fresh browser context (no cookies) per test, with the stub reset to answer normally."""
    stub.reset()
    context = browser.new_context()
    context.set_default_timeout(5000)
    tab = context.new_page()
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()


@pytest.fixture
def open_page(page: Page, stub: Stub) -> Callable[..., Page]:
    """Loads a fixture page from the site stub, optionally with config overrides for the script."""

    def open_(name: str, **config: Any) -> Page:
        stub.config.update(config)
        page.goto(f"{stub.site}/{name}")
        return page

    return open_
