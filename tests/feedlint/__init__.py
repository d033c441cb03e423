"""An offline stand-in for the W3C Feed Validation Service, for the tests.

The real service (https://validator.w3.org/feed/) cannot be reached from the test
machines and has no installable release, so this package re-implements the part of
its documented behaviour that matters for the feeds we write (RSS 2.0, Atom 1.0,
Media RSS, content:encoded, dc:creator), following the service's own rules
(github.com/w3c/feedvalidator, ``validators.py``, ``item.py``, ``channel.py``,
``link.py``, ``content.py``, ``media.py``, ``opml.py``) where we know them.

Every finding is reported as ``"<level>: line <n> <element>: <message>"`` where
level is ``error`` or ``warning`` as in the service; the service's own wording is
kept where it has one, so a message can be searched in its documentation. Our
feeds must show neither, so callers normally just assert that the list is empty.

A few checks are deliberately stricter than the service (they say so in their
message with "(our rule)"), and a few of its rules are approximated; see the notes
on each function. Public functions:

- ``lint_feed(data, served_url, now)``: an RSS 2.0 or Atom 1.0 document;
- ``lint_atom_schema(data)``: an Atom document against the RFC 4287 RELAX NG schema;
- ``lint_opml(data)``: an OPML 2.0 subscription list;
- ``lint_html_index(data)``: an HTML page with feed autodiscovery links.

The modules: ``feed`` (the entry point for feeds and document-wide checks), ``rss``,
``atom`` and ``media`` (one per vocabulary), ``text`` (plain text and escaped HTML in
element content) with ``htmlscan`` (HTML parse errors), ``uris`` and ``dates`` (value
formats), ``pages`` (the HTML index and OPML), ``schema`` (RELAX NG), and ``core``
(findings, the lint context, XML parsing, shared vocabulary). Each module's tests
are next to it, in ``test_<module>.py``.
"""

from .feed import lint_feed
from .pages import lint_html_index, lint_opml
from .schema import lint_atom_schema

__all__ = ["lint_atom_schema", "lint_feed", "lint_html_index", "lint_opml"]
