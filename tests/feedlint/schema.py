"""``lint_atom_schema``: an Atom document against RFC 4287's RELAX NG schema.

The schema (tests/schemas/atom.rng, generated from atom.rnc) checks the structure
independently of the hand-written rules in atom.py, so each catches what the other
might miss.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from .core import _xml_parser

ATOM_SCHEMA = Path(__file__).parent.parent / "schemas" / "atom.rng"


def lint_atom_schema(data: bytes) -> list[str]:
    """Violations of the RFC 4287 RELAX NG schema (tests/schemas/atom.rng)."""
    schema = etree.RelaxNG(etree.parse(str(ATOM_SCHEMA)))
    try:
        doc = etree.fromstring(data, _xml_parser())
    except etree.XMLSyntaxError as exc:
        return [f"error: XML parsing error: {exc}"]
    if schema.validate(doc):
        return []
    return [f"error: line {e.line}: {e.message}" for e in schema.error_log]
