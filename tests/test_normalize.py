"""The normalizer's rules, one by one, on plain values: no files, no CLI, a fixed `now`."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from aggregator.config import LimitsConfig
from aggregator.errors import FieldError
from aggregator.model import Article, Image, Provider, Topic
from aggregator.normalize import (
    MAX_SLUG_CHARS,
    MAX_URL_CHARS,
    TRACKING_PARAMS,
    TRACKING_PREFIXES,
    canonical_url,
    clean_text,
    domain_of,
    normalize,
    parse_date,
    safe_slug,
    strip_html,
    text_field,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LIMITS = LimitsConfig()
SECRET = "TOP-SECRET-BLOB-0123456789abcdef"
PUBLISHED = "2024-05-01T10:00:00Z"


def meta(**fields: Any) -> dict[str, Any]:
    """A valid primary article's front matter; a field given as None is removed."""
    base: dict[str, Any] = {
        "title": "A story",
        "publishedDateTime": PUBLISHED,
        "webUrl": "https://www.example.com/news/story-1",
        "provider": {"name": "Example News", "domain": "example.com"},
        "secured": SECRET,
    }
    base.update(fields)
    return {key: value for key, value in base.items() if value is not None}


def related(url: str, title: str = "Coverage", published: Any = "2024-05-02T09:00:00Z",
            **fields: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"title": title, "publishedDateTime": published, "webUrl": url, **fields}
    return {key: value for key, value in item.items() if value is not None}


def run(limits: LimitsConfig = LIMITS, body: str = "", **fields: Any) -> tuple[Any, tuple[str, ...]]:
    result = normalize(meta(**fields), body, limits, NOW)
    return result.story, result.warnings


def field_error(call: Any, *args: Any) -> FieldError:
    with pytest.raises(FieldError) as caught:
        call(*args)
    return caught.value


# --- URLs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://example.com/a", "https://example.com/a"),
        ("HTTPS://WWW.Example.COM/Path/Kept?Q=Kept", "https://www.example.com/Path/Kept?Q=Kept"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("http://example.com:443/a", "http://example.com:443/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://example.com:0443/a", "https://example.com/a"),
        ("https://example.com:/a", "https://example.com/a"),
        ("https://example.com", "https://example.com/"),
        ("http://example.com?a=1", "http://example.com/?a=1"),
        ("https://example.com/a#section-2", "https://example.com/a"),
        ("https://example.com/a?b=1#frag", "https://example.com/a?b=1"),
        ("https://example.com/a#", "https://example.com/a"),
        ("  https://example.com/a \n", "https://example.com/a"),
        ("https://example.com/a%20b", "https://example.com/a%20b"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 50 else None,
)
def test_canonical_url_lowercases_scheme_and_host_drops_default_port_and_fragment(raw: str, expected: str) -> None:
    assert canonical_url(raw, "webUrl") == expected


@pytest.mark.parametrize(
    ("query", "kept"),
    [
        ("utm_source=x&utm_medium=y&utm_campaign=z", ""),
        ("b=2&utm_source=a&a=1&fbclid=3&c=4&gclid=5", "?b=2&a=1&c=4"),
        ("UTM_Source=x&FBCLID=y&keep=1", "?keep=1"),
        ("fbclid&id=7", "?id=7"),
        ("ref_src=x&via=y&td=z&ocid=w&keep=1", "?keep=1"),
        ("pk_campaign=x&mtm_source=y&hsa_ad=1&id=2", "?id=2"),
        ("autm_source=1&keep_utm=2&viaduct=3&tdx=4", "?autm_source=1&keep_utm=2&viaduct=3&tdx=4"),
        ("a=1&&b=2&", "?a=1&b=2"),
        ("z=26&a=1&m=13", "?z=26&a=1&m=13"),
        ("", ""),
    ],
)
def test_tracking_parameters_are_removed_and_the_others_kept_in_order(query: str, kept: str) -> None:
    assert canonical_url(f"https://example.com/a?{query}", "webUrl") == f"https://example.com/a{kept}"
    # the slow path (an upper-case host) gives the same result as the common one
    assert canonical_url(f"https://EXAMPLE.com/a?{query}", "webUrl") == f"https://example.com/a{kept}"


@pytest.mark.parametrize("name", sorted(TRACKING_PARAMS))
def test_every_listed_tracking_parameter_is_removed(name: str) -> None:
    assert canonical_url(f"https://example.com/a?{name}=1&id=9", "webUrl") == "https://example.com/a?id=9"


@pytest.mark.parametrize("prefix", TRACKING_PREFIXES)
def test_every_tracking_prefix_is_removed(prefix: str) -> None:
    assert canonical_url(f"https://example.com/a?{prefix}anything=1&id=9", "webUrl") == "https://example.com/a?id=9"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://bücher.de/x", "https://xn--bcher-kva.de/x"),
        ("https://BÜCHER.de/x", "https://xn--bcher-kva.de/x"),
        ("https://XN--BCHER-KVA.DE/x", "https://xn--bcher-kva.de/x"),
        ("https://münchen.de:8443/", "https://xn--mnchen-3ya.de:8443/"),
        ("https://example.com./x", "https://example.com/x"),
        ("https://example.com..:443/x", "https://example.com/x"),
        ("https://bücher.de./x", "https://xn--bcher-kva.de/x"),
        ("https://ex_ample.com/x", "https://ex_ample.com/x"),
    ],
)
def test_idna_hosts_are_stored_as_ascii_and_trailing_dots_dropped(raw: str, expected: str) -> None:
    assert canonical_url(raw, "webUrl") == expected


LONG_LABEL = "a" * 250 + ".com"  # one label of 250 characters: DNS allows 63
LONG_NAME = ".".join(["a" * 60] * 5) + ".com"  # 309 characters: DNS allows 253


@pytest.mark.parametrize("host", [LONG_LABEL, LONG_NAME], ids=["label-250", "name-309"])
def test_a_host_longer_than_dns_allows_is_not_a_domain(host: str) -> None:
    error = field_error(canonical_url, f"https://{host}/x", "webUrl")
    assert error.reason == "URL host is not a valid domain name"
    assert domain_of(host) is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("javascript:alert(1)", "'javascript:' URL rejected: only absolute http(s) URLs are accepted"),
        (" JaVaScRiPt:alert(1)", "'javascript:' URL rejected: only absolute http(s) URLs are accepted"),
        ("data:text/html,<b>x</b>", "'data:' URL rejected: only absolute http(s) URLs are accepted"),
        ("file:///etc/passwd", "'file:' URL rejected: only absolute http(s) URLs are accepted"),
        ("ftp://example.com/x", "'ftp:' URL rejected: only absolute http(s) URLs are accepted"),
        ("mailto:someone@example.com", "'mailto:' URL rejected: only absolute http(s) URLs are accepted"),
        ("/news/story-1", "relative URL rejected: only absolute http(s) URLs are accepted"),
        ("//example.com/x", "relative URL rejected: only absolute http(s) URLs are accepted"),
        ("example.com/x", "relative URL rejected: only absolute http(s) URLs are accepted"),
        ("https://example.com/a b", "URL contains white space or control characters"),
        ("https://example.com/a\x00b", "URL contains white space or control characters"),
        ("https://user:pw@example.com/", "URL has user credentials"),
        ("https://[::1]/", "URL host is an IPv6 literal: not a news site's address"),
        ("https://example.com:99999/", "malformed URL (bad port)"),
        ("https://example.com:abc/", "malformed URL (bad port)"),
        ("https:///x", "URL has no host"),
        ("https://./x", "URL has no host"),
        ("https://-bad.example.com/", "URL host is not a valid domain name"),
        ("https://exa<mple.com/", "URL host is not a valid domain name"),
        ("https://example.com/" + "a" * MAX_URL_CHARS, f"URL longer than {MAX_URL_CHARS} characters"),
    ],
    ids=lambda v: v[:40] if isinstance(v, str) else None,
)
def test_urls_that_are_not_absolute_http_are_rejected_naming_the_field(raw: str, reason: str) -> None:
    error = field_error(canonical_url, raw, "related[2].webUrl")
    assert (error.field, error.reason) == ("related[2].webUrl", reason)
    assert str(error) == f"related[2].webUrl: {reason}"


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_a_missing_url_is_none_not_an_error(raw: str | None) -> None:
    assert canonical_url(raw, "webUrl") is None


@pytest.mark.parametrize(
    ("raw", "described"),
    [(42, "a number (quote it if it is text)"), (True, "true/false (quote it if it is text)"),
     ({"a": 1}, "a mapping"), (["x"], "a list"), (date(2024, 5, 1), "date")],
)
def test_a_url_that_is_not_text_is_an_error_naming_its_type_not_its_value(raw: Any, described: str) -> None:
    error = field_error(canonical_url, raw, "webUrl")
    assert (error.field, error.reason) == ("webUrl", f"expected text, got {described}")


def test_text_field_keeps_text_as_given_and_none_as_none() -> None:
    assert text_field("  as <b>given</b> ", "title") == "  as <b>given</b> "
    assert text_field(None, "title") is None
    error = field_error(text_field, 3.5, "provider.name")
    assert (error.field, error.reason) == ("provider.name", "expected text, got a number (quote it if it is text)")


# --- text ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("e\u0301te\u0301", "\u00e9t\u00e9"),  # NFC: combining accents composed
        ("  a \t b\n\nc  ", "a b c"),
        ("\u00a0non-breaking\u2003em space", "non-breaking em space"),
        ("a\x00b\x07c\x0bd\x7fe\x85f\ufffeg\uffffh", "abcdefgh"),
        ("tab\tnew\nline\rcr", "tab new line cr"),
        ("<b>Bold</b> and <i>italic</i>", "Bold and italic"),
        ('<a href="https://example.com/">link</a>', "link"),
        ("<script>alert(1)</script>Safe", "Safe"),
        ("<style>p { color: red }</style>Styled", "Styled"),
        ("<p>one</p><p>two</p>", "one two"),
        ("line<br>break", "line break"),
        ("<!-- a comment -->shown", "shown"),
        ("a < b", "a < b"),
        ("I <3 feeds", "I <3 feeds"),
        ("<3<3", "<3<3"),
        ("if a<b then", "if a<b then"),
        ("5 > 3", "5 > 3"),
        ("Tom &amp; Jerry", "Tom & Jerry"),
        ("&lt;b&gt;not a tag&lt;/b&gt;", "<b>not a tag</b>"),
        ("x &bogus; y", "x &bogus; y"),
        ("plain ascii", "plain ascii"),
    ],
    ids=repr,
)
def test_clean_text_applies_nfc_strips_markup_drops_forbidden_characters_and_collapses_space(
        raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("no markup", "no markup"), ("a &amp; b", "a & b"), ("<i>a</i> &lt;", "a <"), ("a < b", "a < b"),
     ("  kept  \n space ", "  kept  \n space ")],
)
def test_strip_html_removes_tags_and_resolves_references_but_keeps_space(raw: str, expected: str) -> None:
    assert strip_html(raw) == expected


def test_title_is_cleaned_and_truncated_with_a_warning() -> None:
    story, warnings = run(title="  <b>Big</b>\n\tnews &amp; more  ")
    assert story.article.title == "Big news & more"
    assert warnings == ()
    story, warnings = run(LimitsConfig(max_title_chars=10), title="abcdefghij klmnop")
    assert story.article.title == "abcdefghi…"
    assert warnings == ("title: truncated from 17 to 10 characters",)


def test_excerpt_is_cleaned_and_a_non_text_excerpt_is_dropped_with_a_warning() -> None:
    story, warnings = run(excerpt="<p>Some <b>excerpt</b></p>")
    assert story.article.excerpt == "Some excerpt"
    story, warnings = run(excerpt=["a", "list"])
    assert story.article.excerpt is None
    assert warnings == ("excerpt: expected text, got a list; dropped",)


@pytest.mark.parametrize("title", [None, "", "   ", "<b></b>", "\x00\x01"])
def test_a_missing_or_empty_title_is_a_field_error(title: str | None) -> None:
    error = field_error(normalize, meta(title=title), "", LIMITS, NOW)
    assert (error.field, error.reason) == ("title", "missing or empty title")


# --- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, 0, tzinfo=UTC)),
        ("2024-05-01T12:30:00+02:30", datetime(2024, 5, 1, 10, 0, tzinfo=UTC)),
        ("2024-05-01T05:00:00-05:00", datetime(2024, 5, 1, 10, 0, tzinfo=UTC)),
        ("2024-05-01T10:00:00.250000Z", datetime(2024, 5, 1, 10, 0, 0, 250000, tzinfo=UTC)),
        ("2024-05-01 10:00:00+00:00", datetime(2024, 5, 1, 10, 0, tzinfo=UTC)),
        ("  2024-05-01T10:00:00Z  ", datetime(2024, 5, 1, 10, 0, tzinfo=UTC)),
        (datetime(2024, 5, 1, 10, 0, tzinfo=UTC), datetime(2024, 5, 1, 10, 0, tzinfo=UTC)),
        (datetime(2024, 5, 1, 13, 0, tzinfo=timezone(timedelta(hours=3))), datetime(2024, 5, 1, 10, 0, tzinfo=UTC)),
        ("1990-01-01T00:00:00Z", datetime(1990, 1, 1, tzinfo=UTC)),
    ],
    ids=str,
)
def test_dates_with_an_offset_become_utc_without_a_warning(raw: Any, expected: datetime) -> None:
    warnings: list[str] = []
    parsed = parse_date(raw, "publishedDateTime", warnings)
    assert parsed == expected and parsed is not None and parsed.tzinfo == UTC
    assert warnings == []


@pytest.mark.parametrize(
    ("raw", "warning"),
    [
        ("2024-05-01T10:00:00", "publishedDateTime: no time zone offset, taken as UTC"),
        (datetime(2024, 5, 1, 10, 0), "publishedDateTime: no time zone offset, taken as UTC"),
        ("2024-05-01", "publishedDateTime: date without a time, taken as midnight UTC"),
        (date(2024, 5, 1), "publishedDateTime: date without a time, taken as midnight UTC"),
    ],
    ids=str,
)
def test_naive_dates_and_bare_days_are_taken_as_utc_with_a_warning(raw: Any, warning: str) -> None:
    warnings: list[str] = []
    parsed = parse_date(raw, "publishedDateTime", warnings)
    assert parsed is not None and parsed.tzinfo == UTC
    assert parsed == (datetime(2024, 5, 1, 10, 0, tzinfo=UTC) if "offset" in warning
                      else datetime(2024, 5, 1, tzinfo=UTC))
    assert warnings == [warning]


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_a_missing_date_is_none(raw: str | None) -> None:
    warnings: list[str] = []
    assert parse_date(raw, "updatedDateTime", warnings) is None
    assert warnings == []


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("1989-12-31T23:59:59Z", "implausible date 1989-12-31 (before 1990)"),
        ("1990-01-01T00:30:00+01:00", "implausible date 1989-12-31 (before 1990)"),
        (date(1970, 1, 1), "implausible date 1970-01-01 (before 1990)"),
        ("not a date", "not an ISO 8601 date: 'not a date'"),
        ("2024-02-30", "not an ISO 8601 date: '2024-02-30'"),
        ("9999-12-31T23:00:00-05:00", "date out of range"),
        (1714557600, "expected a date, got a number (quote it if it is text)"),
        (True, "expected a date, got true/false (quote it if it is text)"),
        (["2024-05-01"], "expected a date, got a list"),
    ],
    ids=str,
)
def test_bad_and_pre_1990_dates_are_field_errors(raw: Any, reason: str) -> None:
    error = field_error(parse_date, raw, "related[0].publishedDateTime", [])
    assert (error.field, error.reason) == ("related[0].publishedDateTime", reason)


def test_a_future_publication_date_is_kept_as_is_to_be_held_back_until_then() -> None:
    story, warnings = run(publishedDateTime="2030-01-01T00:00:00Z")
    assert story.article.published == datetime(2030, 1, 1, tzinfo=UTC)
    assert warnings == ()


@pytest.mark.parametrize(
    ("updated", "expected", "warnings"),
    [
        ("2024-05-03T00:00:00Z", datetime(2024, 5, 3, tzinfo=UTC), ()),
        ("2024-05-01T10:00:00Z", None, ()),  # not after the publication: no update
        ("2024-04-01T00:00:00Z", None, ()),
        ("2030-01-01T00:00:00Z", None, ("updatedDateTime: in the future; dropped",)),
        ("garbage", None, ("updatedDateTime: not an ISO 8601 date: 'garbage'; dropped",)),
    ],
)
def test_update_time_is_kept_only_between_publication_and_now(
        updated: str, expected: datetime | None, warnings: tuple[str, ...]) -> None:
    story, got = run(updatedDateTime=updated)
    assert (story.article.updated, got) == (expected, warnings)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [(None, "missing publication date"), ("1985-06-01T00:00:00Z", "implausible date 1985-06-01 (before 1990)")],
)
def test_primary_publication_date_missing_or_bad_raises_naming_the_field(raw: str | None, reason: str) -> None:
    error = field_error(normalize, {**meta(), "publishedDateTime": raw}, "", LIMITS, NOW)
    assert (error.field, error.reason) == ("publishedDateTime", reason)


# --- providers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Example.COM", "example.com"),
        ("www.example.com", "example.com"),
        ("WWW.Example.com.", "example.com"),
        ("https://www.Example.com/some/path?q=1", "example.com"),
        ("example.com:8080", "example.com"),
        ("example.com/path", "example.com"),
        ("sub.www.example.com", "sub.www.example.com"),
        ("wwwexample.com", "wwwexample.com"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("WWW.BÜCHER.DE", "xn--bcher-kva.de"),
        ("not a domain", None),
        ("", None),
        ("http://[", None),
    ],
)
def test_domain_of_gives_a_lower_case_idna_domain_without_www(raw: str, expected: str | None) -> None:
    assert domain_of(raw) == expected


@pytest.mark.parametrize(
    ("provider", "url", "expected", "warnings"),
    [
        ({"name": "Ex", "domain": "WWW.Example.org"}, "https://news.example.com/a", Provider("example.org", "Ex"), ()),
        ({"name": "Ex"}, "https://www.Example.com/a", Provider("example.com", "Ex"), ()),
        (None, "https://www.example.com:8443/a", Provider("example.com", None), ()),
        ({"domain": "  "}, "https://bücher.de/a", Provider("xn--bcher-kva.de", None), ()),
        ({"name": "<b>Bold</b>  Name", "domain": "example.com"}, "https://x.org/", Provider("example.com", "Bold Name"),
         ()),
        ({"domain": "not a domain"}, "https://www.example.com/a", Provider("example.com", None),
         ("provider.domain: not a valid domain name; taken from the URL",)),
        ({"domain": 42}, "https://www.example.com/a", Provider("example.com", None),
         ("provider.domain: expected text, got a number (quote it if it is text); taken from the URL",)),
        ({"name": ["x"], "domain": "example.com"}, "https://x.org/", Provider("example.com", None),
         ("provider.name: expected text, got a list; the domain is shown instead",)),
        ("Example News", "https://www.example.com/a", Provider("example.com", None),
         ("provider: expected a mapping, got str; ignored",)),
    ],
)
def test_provider_is_its_domain_else_the_url_host(
        provider: Any, url: str, expected: Provider, warnings: tuple[str, ...]) -> None:
    story, got = run(provider=provider, webUrl=url)  # None: no provider field at all
    assert story.article.provider == expected
    assert got == warnings


# --- topics ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("AI", "ai"),
        ("Machine Learning", "machine-learning"),
        ("  Clean   Energy ", "clean-energy"),
        ("Café", "cafe"),
        ("Ünïcödé", "unicode"),
        ("Work & Life", "work-life"),
        ("a--b", "a-b"),
        ("-x-", "x"),
        ("C++", "c"),
        ("../../etc/passwd", "etc-passwd"),
        ("CON", "con-"),
        ("com1", "com1-"),
        ("!!!", ""),
        ("", ""),
        ("a" * 100, "a" * MAX_SLUG_CHARS),
    ],
)
def test_safe_slug_is_ascii_lower_case_letters_digits_and_dashes_of_bounded_length(raw: str, expected: str) -> None:
    slug = safe_slug(raw)
    assert slug == expected
    assert len(slug) <= MAX_SLUG_CHARS + 1 and set(slug) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")


def test_topics_are_identified_case_insensitively_keeping_the_first_name() -> None:
    story, warnings = run(topics=["Science", "SCIENCE", " science ", "Machine Learning", "machine-learning"])
    assert story.topics == (Topic("science", "Science"), Topic("machine-learning", "Machine Learning"))
    assert warnings == ()


def test_a_single_topic_may_be_text_rather_than_a_list() -> None:
    story, _ = run(topics="Space")
    assert story.topics == (Topic("space", "Space"),)


def test_topic_name_is_cleaned_and_its_slug_bounded() -> None:
    story, warnings = run(topics=["<b>Deep</b>\n  Space", "x" * 300])
    assert story.topics == (Topic("deep-space", "Deep Space"), Topic("x" * MAX_SLUG_CHARS, "x" * 100))
    assert warnings == ()


@pytest.mark.parametrize(
    ("topics", "warnings"),
    [
        (["!!!", "Fine"], ("topics[0]: '!!!' has no usable letters or digits; dropped",)),
        (["Fine", "   "], ("topics[1]: '   ' has no usable letters or digits; dropped",)),
        (["Fine", 7], ("topics[1]: expected text, got a number (quote it if it is text); dropped",)),
        (["Fine", {"a": 1}], ("topics[1]: expected text, got a mapping; dropped",)),
    ],
)
def test_a_topic_without_a_usable_slug_is_dropped_with_a_warning(topics: list[Any], warnings: tuple[str, ...]) -> None:
    story, got = run(topics=topics)
    assert story.topics == (Topic("fine", "Fine"),)
    assert got == warnings


def test_topics_beyond_the_limit_are_dropped_with_a_warning() -> None:
    story, warnings = run(LimitsConfig(max_topics=2), topics=["One", "Two", "Three"])
    assert [t.slug for t in story.topics] == ["one", "two"]
    assert warnings == ("topics: only the first 2 kept",)


def test_topics_that_are_not_a_list_are_ignored_with_a_warning() -> None:
    story, warnings = run(topics={"a": 1})
    assert story.topics == ()
    assert warnings == ("topics: expected a list, got a mapping; ignored",)


# --- related coverage ------------------------------------------------------------------------


def test_related_coverage_is_deduplicated_by_canonical_url_keeping_the_first() -> None:
    story, warnings = run(related=[
        related("https://other.net/r1", "First"),
        related("https://OTHER.net:443/r1?fbclid=1#top", "Same article again"),
        related("https://third.org/r2", "Second"),
    ])
    assert [(a.url, a.title) for a in story.related] == [("https://other.net/r1", "First"),
                                                         ("https://third.org/r2", "Second")]
    assert warnings == ()


def test_the_primary_article_cited_as_its_own_coverage_is_dropped() -> None:
    story, warnings = run(related=[related("https://WWW.example.com/news/story-1?utm_source=x", "Me again"),
                                   related("https://other.net/r1")])
    assert [a.url for a in story.related] == ["https://other.net/r1"]
    assert warnings == ()


@pytest.mark.parametrize(
    ("item", "warning"),
    [
        ({"publishedDateTime": PUBLISHED, "webUrl": "https://other.net/a"},
         "related[1].title: missing or empty title; related item dropped"),
        ({"title": "No URL", "publishedDateTime": PUBLISHED},
         "related[1].webUrl: missing: neither webUrl nor originalUrl is set; related item dropped"),
        ({"title": "No date", "webUrl": "https://other.net/a"},
         "related[1].publishedDateTime: missing publication date; related item dropped"),
        ({"title": "Old", "webUrl": "https://other.net/a", "publishedDateTime": "1980-01-01T00:00:00Z"},
         "related[1].publishedDateTime: implausible date 1980-01-01 (before 1990); related item dropped"),
        ({"title": "Evil", "webUrl": "javascript:alert(1)", "publishedDateTime": PUBLISHED},
         "related[1].webUrl: 'javascript:' URL rejected: only absolute http(s) URLs are accepted; "
         "related item dropped"),
        ("https://other.net/a", "related[1]: expected a mapping, got str; dropped"),
    ],
)
def test_a_related_item_missing_title_url_or_date_is_dropped_naming_its_field(item: Any, warning: str) -> None:
    story, warnings = run(related=[related("https://other.net/ok"), item])
    assert [a.url for a in story.related] == ["https://other.net/ok"]
    assert warnings == (warning,)


def test_a_related_item_falls_back_to_original_url_with_a_warning() -> None:
    story, warnings = run(related=[related("javascript:x", originalUrl="https://third.org/r8")])
    assert [a.url for a in story.related] == ["https://third.org/r8"]
    assert warnings == ("related[0].webUrl: 'javascript:' URL rejected: only absolute http(s) URLs are accepted; "
                        "used originalUrl",)


def test_warnings_inside_a_related_item_name_its_field_path() -> None:
    story, warnings = run(related=[related("https://other.net/a", excerpt=3, provider={"domain": "bad domain"},
                                           updatedDateTime="2099-01-01T00:00:00Z")])
    assert [a.provider.domain for a in story.related] == ["other.net"]
    assert warnings == (
        "related[0].updatedDateTime: in the future; dropped",
        "related[0].excerpt: expected text, got a number (quote it if it is text); dropped",
        "related[0].provider.domain: not a valid domain name; taken from the URL",
    )


def test_related_beyond_the_limit_are_dropped_with_a_warning() -> None:
    items = [related(f"https://other.net/{n}") for n in range(3)]
    story, warnings = run(LimitsConfig(max_related=2), related=items)
    assert [a.url for a in story.related] == ["https://other.net/0", "https://other.net/1"]
    assert warnings == ("related: 3 items, only the first 2 kept",)


def test_related_that_is_not_a_list_is_ignored_with_a_warning() -> None:
    story, warnings = run(related={"title": "x"})
    assert story.related == ()
    assert warnings == ("related: expected a list, got a mapping; ignored",)


# --- secured ---------------------------------------------------------------------------------


def test_secured_never_appears_in_a_warning() -> None:
    bad = {"title": "", "webUrl": "javascript:x", "secured": SECRET}
    result = normalize(meta(excerpt=42, topics=["!!!", 3], published="yes", quality="q",
                            updatedDateTime="garbage", provider={"name": 1, "domain": "bad domain"},
                            images=[{"url": "data:x", "width": -1}], related=[bad, "x", {"secured": SECRET}]),
                       "", LIMITS, NOW)
    assert len(result.warnings) == 12
    for warning in result.warnings:
        assert SECRET not in warning and "secured" not in warning


@pytest.mark.parametrize("missing", ["title", "webUrl", "publishedDateTime"])
def test_secured_never_appears_in_a_field_error(missing: str) -> None:
    error = field_error(normalize, {k: v for k, v in meta().items() if k != missing}, "", LIMITS, NOW)
    assert error.field == missing
    assert SECRET not in str(error) and "secured" not in str(error)


def test_secured_is_not_carried_into_the_story() -> None:
    story, _ = run(related=[related("https://other.net/a", secured=SECRET)])
    assert SECRET not in repr(story)


# --- the entry point -------------------------------------------------------------------------


def test_normalize_returns_the_story_of_a_complete_seed() -> None:
    result = normalize(meta(
        title="<b>The</b> Download", excerpt="About  it", updatedDateTime="2024-05-02T00:00:00+02:00",
        webUrl="HTTPS://www.Example.com:443/news/story-1?utm_source=feed#top",
        topics=["AI", "ai"], images=[{"url": "https://img.example.com/a.jpg", "width": 800, "height": 450}],
        related=[related("https://other.net/r1", "Elsewhere", provider={"name": "Other", "domain": "other.net"})],
        published=False, quality=14), "Hello *world*", LIMITS, NOW)
    story = result.story
    assert story.article == Article(
        url="https://www.example.com/news/story-1", title="The Download", excerpt="About it",
        published=datetime(2024, 5, 1, 10, 0, tzinfo=UTC), updated=datetime(2024, 5, 1, 22, 0, tzinfo=UTC),
        provider=Provider("example.com", "Example News"), image=Image("https://img.example.com/a.jpg", 800, 450))
    assert story.topics == (Topic("ai", "AI"),)
    assert [(a.url, a.title, a.provider) for a in story.related] == [
        ("https://other.net/r1", "Elsewhere", Provider("other.net", "Other"))]
    assert story.body_html == "<p>Hello <em>world</em></p>"
    assert (story.published_flag, story.quality) == (False, 14)
    assert story.id == f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'https://www.example.com/news/story-1')}"
    assert result.warnings == ()


def test_normalize_uses_original_url_when_web_url_is_missing() -> None:
    story, warnings = run(webUrl=None, originalUrl="https://example.org/orig")
    assert story.url == "https://example.org/orig" and warnings == ()


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"webUrl": None}, "webUrl", "missing: neither webUrl nor originalUrl is set"),
        ({"webUrl": "ftp://example.com/x"}, "webUrl", "'ftp:' URL rejected: only absolute http(s) URLs are accepted"),
        ({"webUrl": "/relative", "originalUrl": "javascript:x"}, "webUrl",
         "relative URL rejected: only absolute http(s) URLs are accepted"),
        ({"title": 5}, "title", "expected text, got a number (quote it if it is text)"),
        ({"publishedDateTime": "yesterday"}, "publishedDateTime", "not an ISO 8601 date: 'yesterday'"),
    ],
)
def test_normalize_raises_a_field_error_naming_the_field_path(fields: dict[str, Any], field: str, reason: str) -> None:
    error = field_error(normalize, meta(**fields), "", LIMITS, NOW)
    assert (error.field, error.reason) == (field, reason)


def test_a_bad_web_url_with_a_good_original_url_is_a_warning() -> None:
    story, warnings = run(webUrl="/relative", originalUrl="https://example.org/orig")
    assert story.url == "https://example.org/orig"
    assert warnings == ("webUrl: relative URL rejected: only absolute http(s) URLs are accepted; used originalUrl",)


@pytest.mark.parametrize(
    ("body", "html"),
    [("", None), ("  \n\t ", None), ("Hello *world*", "<p>Hello <em>world</em></p>"),
     ("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"),
     ("e\u0301\x00", "<p>\u00e9</p>")],
)
def test_the_body_is_markdown_rendered_with_raw_html_escaped(body: str, html: str | None) -> None:
    story, _ = run(body=body)
    assert story.body_html == html


@pytest.mark.parametrize(
    ("fields", "flag", "quality", "warnings"),
    [
        ({"published": True, "quality": 0}, True, 0, ()),
        ({"published": "yes"}, None, None, ("published: expected true or false, got str; ignored",)),
        ({"quality": 1.5}, None, None, ("quality: expected a whole number, got a number (quote it if it is text); "
                                        "ignored",)),
        ({"quality": 2**60}, None, None, ("quality: 1.15e+18 is out of range; ignored",)),
        ({"quality": True}, None, None, ("quality: expected a whole number, got true/false (quote it if it is text); "
                                         "ignored",)),
    ],
)
def test_published_flag_and_quality_are_kept_only_when_of_the_right_type(
        fields: dict[str, Any], flag: bool | None, quality: int | None, warnings: tuple[str, ...]) -> None:
    story, got = run(**fields)
    assert (story.published_flag, story.quality, got) == (flag, quality, warnings)


def test_the_largest_image_is_kept_and_bad_ones_dropped_with_warnings() -> None:
    story, warnings = run(images=[
        {"url": "https://img.example.com/small.jpg", "width": 10, "height": 10},
        {"url": "javascript:x"},
        {"url": "https://img.example.com/big.jpg?utm_source=x", "width": 800, "height": 600},
        {"url": "https://img.example.com/odd.jpg", "width": -5, "height": True},
        "not a mapping",
    ])
    assert story.article.image == Image("https://img.example.com/big.jpg", 800, 600)
    assert warnings == (
        "images[1].url: 'javascript:' URL rejected: only absolute http(s) URLs are accepted; image dropped",
        "images[3].width: not a plausible pixel size; dropped",
        "images[3].height: not a plausible pixel size; dropped",
        "images[4]: expected a mapping; dropped",
    )


def test_a_story_without_an_image_takes_the_best_of_its_coverage() -> None:
    story, _ = run(related=[
        related("https://other.net/a", images=[{"url": "https://img.other.net/a.jpg", "width": 100, "height": 100}]),
        related("https://other.net/b", images=[{"url": "https://img.other.net/b.jpg", "width": 400, "height": 300}]),
    ])
    assert story.article.image == Image("https://img.other.net/b.jpg", 400, 300)
