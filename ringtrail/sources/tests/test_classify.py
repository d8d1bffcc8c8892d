"""Source classification: account rules in order, then built-in channels (pure, no database)."""

from __future__ import annotations

import pytest

from ringtrail.sources.classify import Rule, classify, default_channel, parse_visit, referrer_group


@pytest.mark.parametrize(
    "url, referrer, expected",
    [
        ("https://acme.test/?gclid=abc", "https://www.google.com/", ("Google Ads", "cpc")),
        ("https://acme.test/?gbraid=x", "", ("Google Ads", "cpc")),
        ("https://acme.test/", "https://www.google.co.uk/", ("Google Organic", "organic")),
        ("https://acme.test/?msclkid=1", "https://www.bing.com/", ("Bing Ads", "cpc")),
        ("https://acme.test/?utm_medium=cpc", "https://www.bing.com/", ("Bing Ads", "cpc")),
        ("https://acme.test/", "https://bing.com/search", ("Bing Organic", "organic")),
        ("https://acme.test/?fbclid=1", "https://m.facebook.com/", ("Facebook", "social")),
        ("https://acme.test/", "https://www.linkedin.com/feed", ("Social", "social")),
        ("https://acme.test/?utm_medium=email&utm_source=nl", "", ("Email", "email")),
        ("https://acme.test/?utm_source=radio", "", ("radio", "campaign")),
        ("https://acme.test/", "https://blog.example.org/post", ("Referral: blog.example.org", "referral")),
        ("https://acme.test/", "", ("Direct", "direct")),
    ],
)
def test_default_channels(url: str, referrer: str, expected: tuple[str, str]) -> None:
    assert default_channel(parse_visit(url, referrer)) == expected


def test_rules_apply_in_order_first_match_wins() -> None:
    rules = [
        Rule(1, "utm_campaign", "Spring"),
        Rule(2, "landing_param", "gclid"),
        Rule(3, "referrer_domain", "yelp.com"),
        Rule(4, "landing_regex", r"/promo/\d+"),
        Rule(5, "referrer_group", "search"),
        Rule(6, "direct", ""),
    ]
    assert classify(parse_visit("https://a.test/?utm_campaign=spring&gclid=1"), rules) == 1
    assert classify(parse_visit("https://a.test/?gclid=1"), rules) == 2
    assert classify(parse_visit("https://a.test/", "https://m.yelp.com/biz"), rules) == 3
    assert classify(parse_visit("https://a.test/promo/42"), rules) == 4
    assert classify(parse_visit("https://a.test/", "https://duckduckgo.com/"), rules) == 5
    assert classify(parse_visit("https://a.test/"), rules) == 6
    assert classify(parse_visit("https://a.test/", "https://notyelp.com/"), rules[:4]) is None


def test_landing_param_with_value_and_click_ids_and_utm_capture() -> None:
    visit = parse_visit("https://a.test/?utm_source=Google&utm_medium=cpc&gclid=G1&ttclid=T1&x=1")
    assert visit.utm == {"utm_source": "Google", "utm_medium": "cpc"}
    assert visit.click_ids == {"gclid": "G1", "ttclid": "T1"}
    assert classify(visit, [Rule(9, "landing_param", "utm_source=google")]) == 9
    assert classify(visit, [Rule(9, "click_id", "ttclid")]) == 9


def test_hostile_urls_do_not_raise() -> None:
    for url in ("http://[::1", "not a url", "javascript:alert(1)", "https://a.test/?" + "x=1&" * 5000):
        visit = parse_visit(url, "http://[bad")
        assert default_channel(visit)[0]
    assert referrer_group("") == ""
