"""Known crawlers and headless browsers, by User-Agent: they never get a pool number."""

from __future__ import annotations

import functools
import re

BOT_PATTERN = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|headless|lighthouse|pagespeed|prerender|phantomjs|puppeteer|playwright"
    r"|python-requests|python-httpx|curl/|wget/|go-http-client|java/|okhttp|facebookexternalhit|bingpreview"
    r"|monitoring|uptime|pingdom",
    re.IGNORECASE,
)


def is_bot(user_agent: str) -> bool:
    # A site's visitors share a few hundred user agents: remember the answer for ordinary ones.
    return _is_bot(user_agent) if len(user_agent) <= 512 else _matches(user_agent)


@functools.lru_cache(maxsize=2048)
def _is_bot(user_agent: str) -> bool:
    return _matches(user_agent)


def _matches(user_agent: str) -> bool:
    return not user_agent or bool(BOT_PATTERN.search(user_agent))
