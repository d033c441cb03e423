"""URIs: is a value a valid URI, and what is its canonical form.

Validity follows the service's rfc2396 / rfc2396_full rules, with its own checks of
tag:, urn: and urn:uuid: values and its warning for unregistered schemes; where a
full URL is not required the value is an IRI. The canonical form (RFC 3986 normal
form) is the one the service compares atom:id values and self links in.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from lxml import etree

from .core import _Lint, _qname, _words

URI_CHAR = r"[0-9a-zA-Z;/?:@&=+$.\-_!~*'()%,#]"
FULL_URI = re.compile(r"[a-zA-Z][0-9a-zA-Z+\-.]*:(//)?" + URI_CHAR + r"+$")
URI_REFERENCE = re.compile(r"([a-zA-Z][0-9a-zA-Z+\-.]*:)?/{0,2}(\[[0-9A-Fa-f:]+\])?" + URI_CHAR + r"*$")
TAG_URI = re.compile(
    r"^tag:([a-z0-9\-._]+?@)?[a-z0-9.\-]+?,\d{4}(-\d{2}(-\d{2})?)?:"
    r"[0-9a-zA-Z;/?:@&=+$.\-_!~*'()%,]*(#[0-9a-zA-Z;/?:@&=+$.\-_!~*'()%,]*)?$"
)
URN = re.compile(r"^[Uu][Rr][Nn]:[a-zA-Z0-9][a-zA-Z0-9-]{1,31}:([a-zA-Z0-9()+,.:=@;$_!*'\-]|%[0-9A-Fa-f]{2})+$")
UUID_URN = re.compile(
    r"^[Uu][Rr][Nn]:[Uu][Uu][Ii][Dd]:[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-"
    r"[a-fA-F0-9]{4}-[a-fA-F0-9]{12}$"
)
# URI schemes registered at IANA when the service's list was made (abridged).
IANA_SCHEMES = _words(
    "ftp http https gopher mailto news nntp telnet wais file prospero cid mid data "
    "dav sip sips tel fax ldap urn tag dns info imap pop rtsp xmpp go im pres snmp "
    "dict tftp ipp shttp tv"
)


def _uri_problem(value: str, *, full: bool) -> tuple[str, str] | None:
    """(level, message) when value is not a valid URI (full: with a scheme), after
    the service's rfc2396 / rfc2396_full rules; None when it is fine."""
    scheme = value.split(":")[0].lower()
    pattern = FULL_URI if full else URI_REFERENCE
    if scheme == "tag" and ":" in value:
        return None if TAG_URI.match(value) else ("error", "is not a valid TAG")
    if scheme == "urn" and ":" in value:
        if value.lower().startswith("urn:uuid:") and not UUID_URN.match(value):
            return ("error", "is not a valid UUID")
        return None if URN.match(value) else ("error", "is not a valid URN")
    if not value or not pattern.match(value):
        for char in value:
            if ord(char) < 128 and not re.match(URI_CHAR, char):
                return ("error", f"Invalid character in a URI: {char!r}")
        if any(ord(char) >= 128 for char in value):
            return ("error", "IRI found where URL expected")
        return ("error", "must be a full and valid URL" if full else "must be a valid URI")
    if scheme in ("http", "https", "ftp") and not re.match(r"^\w+://[^/].*", value):
        return ("error", "must be a full and valid URL")
    if ":" in value and scheme.isalpha() and scheme not in IANA_SCHEMES:
        return ("warning", f"URI scheme not IANA registered: {scheme}")
    return None


def _uri_is_valid(value: str, *, full: bool) -> bool:
    problem = _uri_problem(value, full=full)
    return problem is None or problem[0] != "error"


def _check_uri(ctx: _Lint, el: etree._Element, value: str, *, full: bool, what: str = "") -> bool:
    """Report value if it is not a valid URI; True when it is usable. Where a full
    URL is not required the value is an IRI, so non-ASCII characters are allowed."""
    checked = value if full else re.sub(r"[^\x00-\x7f]", "a", value)
    problem = _uri_problem(checked, full=full)
    if problem is None:
        return True
    level, message = problem
    subject = what or _qname(el)
    # The service's own messages either start with the subject or stand alone.
    text = f"{subject} {message}: {value!r}" if message[0].islower() else f"{message} (in {subject}: {value!r})"
    if level == "error":
        ctx.error(el, text)
        return False
    ctx.warn(el, text)
    return True


def _is_absolute_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and FULL_URI.match(value) is not None


_UNRESERVED = re.compile(r"[A-Za-z0-9\-._~]")
_PCHAR_SAFE = "-._~!$&'()*+,;=:@"
_DEFAULT_PORTS = {"http": "80", "https": "443", "ftp": "21"}
_URI_PARTS = re.compile(r"^(([^:/?#]+):)?(//([^/?#]*))?([^?#]*)(\?([^#]*))?(#(.*))?$")


def _normalize_component(text: str, safe: str) -> str:
    """Percent-encoding normalized as the service does: escapes of unreserved
    characters decoded, other escapes upper-cased, unsafe characters escaped."""
    out = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "%":
            code = text[index + 1 : index + 3]
            if not re.match(r"^[0-9A-Fa-f]{2}$", code):
                raise ValueError("bad percent escape")
            decoded = chr(int(code, 16))
            out.append(decoded if _UNRESERVED.match(decoded) else "%" + code.upper())
            index += 3
            continue
        if _UNRESERVED.match(char) or char in safe:
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
        index += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    output: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
        elif segment == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    return "/".join(output)


def _canonical_uri(value: str) -> str | None:
    """The RFC 3986 normal form the service compares ids and self links in: lower-case
    scheme and host, no default port, "/" for an empty path, dot segments removed,
    percent-encoding normalized. None for what it cannot normalize."""
    match = _URI_PARTS.match(value)
    if not match:
        return None
    scheme = (match.group(2) or "").lower() or None
    authority, path = match.group(4), match.group(5)
    try:
        if authority is None:
            if scheme is None and not path.startswith("/"):
                return None
            path = _normalize_path(path) if path.startswith("/") else _normalize_component(path, _PCHAR_SAFE + "/")
        else:
            authority = _normalize_authority(authority, scheme)
            path = _normalize_path(path)
        query = match.group(7)
        fragment = match.group(9)
        result = f"{scheme}:" if scheme else ""
        if authority is not None:
            result += "//" + authority
        result += path
        if query is not None:
            result += "?" + _normalize_component(query, _PCHAR_SAFE + "/?")
        if fragment is not None:
            result += "#" + _normalize_component(fragment, _PCHAR_SAFE + "/?")
        return result
    except ValueError:
        return None


def _normalize_path(path: str) -> str:
    path = _remove_dot_segments(path) or "/"
    return "/".join(_normalize_component(segment, _PCHAR_SAFE) for segment in path.split("/"))


def _normalize_authority(authority: str, scheme: str | None) -> str:
    userinfo, _, host = authority.rpartition("@")
    host = host.lower()
    port_match = re.search(r":(\d*)$", host)
    port = ""
    if port_match:
        port = port_match.group(1)
        host = host[: port_match.start()]
    if host.endswith(".") and host.rfind(".", 0, -2) >= 0:
        host = host[:-1]
    if host.startswith("[") != host.endswith("]"):
        raise ValueError("bad IPv6 literal")
    if port and port != _DEFAULT_PORTS.get(scheme or "", ""):
        host = f"{host}:{int(port)}"
    return f"{userinfo}@{host}" if userinfo and userinfo != ":" else host
