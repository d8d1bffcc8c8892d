"""Which online source a visit belongs to: the account's ordered rules, then built-in channels.

Pure: no database, no Django. The session endpoint calls it on every new session.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

CLICK_ID_PARAMS = ("gclid", "gbraid", "wbraid", "fbclid", "msclkid", "ttclid", "li_fat_id", "twclid")
UTM_PARAMS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
MAX_URL = 2048

SEARCH_ENGINES = {"google": "Google", "bing": "Bing", "yahoo": "Yahoo", "duckduckgo": "DuckDuckGo"}
SOCIAL = (
    "facebook.com",
    "fb.com",
    "instagram.com",
    "twitter.com",
    "x.com",
    "t.co",
    "linkedin.com",
    "lnkd.in",
    "tiktok.com",
    "pinterest.com",
    "reddit.com",
    "youtube.com",
)
EMAIL = ("mail.google.com", "outlook.live.com", "mail.yahoo.com", "outlook.office.com")
PAID_MEDIA = {
    "cpc",
    "ppc",
    "paid",
    "paidsearch",
    "paid_search",
    "paidsocial",
    "paid_social",
    "display",
    "cpm",
}


@dataclass(frozen=True)
class Visit:
    landing_url: str
    referrer: str = ""
    utm: Mapping[str, str] = field(default_factory=dict)
    click_ids: Mapping[str, str] = field(default_factory=dict)

    @property
    def referrer_host(self) -> str:
        return host_of(self.referrer)

    @property
    def landing_params(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.landing_url).query, keep_blank_values=True))


def host_of(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.lower().removeprefix("www.")


def parse_visit(landing_url: str, referrer: str = "") -> Visit:
    landing_url, referrer = landing_url[:MAX_URL], referrer[:MAX_URL]
    try:
        params = dict(parse_qsl(urlsplit(landing_url).query, keep_blank_values=False))
    except ValueError:
        params = {}
    utm = {key: params[key][:200] for key in UTM_PARAMS if key in params}
    clicks = {key: params[key][:200] for key in CLICK_ID_PARAMS if key in params}
    return Visit(landing_url, referrer, utm, clicks)


@dataclass(frozen=True)
class Rule:
    """One account rule; ``kind`` says what ``value`` is matched against."""

    source_id: int
    kind: str
    value: str


RULE_KINDS = (
    "landing_param",  # "gclid" (present) or "utm_source=newsletter" (equal)
    "landing_contains",
    "landing_regex",
    "referrer_domain",  # the referrer host is this domain or a subdomain of it
    "referrer_group",  # search | social | email
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "click_id",  # gclid | fbclid | … present
    "direct",  # no referrer and no campaign parameters
)


def rule_matches(rule: Rule, visit: Visit) -> bool:
    kind, value = rule.kind, rule.value
    if kind == "landing_param":
        name, _, wanted = value.partition("=")
        params = visit.landing_params
        return name in params and (not wanted or params[name].lower() == wanted.lower())
    if kind == "landing_contains":
        return value.lower() in visit.landing_url.lower()
    if kind == "landing_regex":
        return compiled(value).search(visit.landing_url) is not None
    if kind == "referrer_domain":
        host, domain = visit.referrer_host, value.lower().removeprefix("www.")
        return bool(host) and (host == domain or host.endswith("." + domain))
    if kind == "referrer_group":
        return referrer_group(visit.referrer_host) == value
    if kind in ("utm_source", "utm_medium", "utm_campaign"):
        return visit.utm.get(kind, "").lower() == value.lower()
    if kind == "click_id":
        return value in visit.click_ids
    if kind == "direct":
        return not visit.referrer_host and not visit.utm and not visit.click_ids
    return False


def compiled(pattern: str) -> re.Pattern[str]:
    # Patterns are validated (length, syntax) when the rule is saved; compile errors never reach here.
    return _compile(pattern)


_cache: dict[str, re.Pattern[str]] = {}


def _compile(pattern: str) -> re.Pattern[str]:
    found = _cache.get(pattern)
    if found is None:
        found = _cache[pattern] = re.compile(pattern, re.IGNORECASE)
    return found


def classify(visit: Visit, rules: Iterable[Rule]) -> int | None:
    """The source of the first matching rule, in the order given."""
    return next((rule.source_id for rule in rules if rule_matches(rule, visit)), None)


def referrer_group(host: str) -> str:
    if not host:
        return ""
    if search_engine(host):
        return "search"
    if any(host == d or host.endswith("." + d) for d in EMAIL):
        return "email"
    if any(host == d or host.endswith("." + d) for d in SOCIAL):
        return "social"
    return "referral"


def search_engine(host: str) -> str:
    labels = host.split(".")
    return next((name for key, name in SEARCH_ENGINES.items() if key in labels[:-1]), "")


def default_channel(visit: Visit) -> tuple[str, str]:
    """Built-in (name, medium) when no account rule matches, in the spirit of GA's default channels."""
    medium = visit.utm.get("utm_medium", "").lower()
    host = visit.referrer_host
    engine = search_engine(host) or (
        "Google"
        if "gclid" in visit.click_ids or "gbraid" in visit.click_ids or "wbraid" in visit.click_ids
        else ""
    )
    if "msclkid" in visit.click_ids:
        return "Bing Ads", "cpc"
    if engine and (
        "gclid" in visit.click_ids
        or "gbraid" in visit.click_ids
        or "wbraid" in visit.click_ids
        or medium in PAID_MEDIA
    ):
        return f"{engine} Ads", "cpc"
    if "fbclid" in visit.click_ids or (host and any(host.endswith(d) for d in ("facebook.com", "fb.com"))):
        return "Facebook", "paid social" if medium in PAID_MEDIA else "social"
    if medium == "email" or referrer_group(host) == "email":
        return "Email", "email"
    if visit.utm.get("utm_source"):
        return visit.utm["utm_source"][:120], medium or "campaign"
    group = referrer_group(host)
    if group == "search":
        return f"{engine} Organic", "organic"
    if group == "social":
        return "Social", "social"
    if group == "referral":
        return f"Referral: {host}"[:120], "referral"
    return "Direct", "direct"
