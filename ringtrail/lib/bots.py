"""Known crawlers and headless browsers, by User-Agent: they never get a pool number."""

from __future__ import annotations

import re

BOT_PATTERN = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|headless|lighthouse|pagespeed|prerender|phantomjs|puppeteer|playwright"
    r"|python-requests|python-httpx|curl/|wget/|go-http-client|java/|okhttp|facebookexternalhit|bingpreview"
    r"|monitoring|uptime|pingdom",
    re.IGNORECASE,
)


def is_bot(user_agent: str) -> bool:
    return not user_agent or bool(BOT_PATTERN.search(user_agent))
