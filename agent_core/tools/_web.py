"""Fetching web pages for the visit_webpage tool: limits, address checks, markdown.

Every failure raises :class:`WebFetchError` (an ``OSError``) whose message says what
went wrong in words a model can act on.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

__all__ = ["WebFetchError", "FetchedPage", "fetch_page", "html_to_markdown", "truncate_content",
           "is_textual", "decode_body"]

MAX_REDIRECTS = 5
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_TEXT_TYPES = ("application/json", "application/xml", "application/javascript",
               "application/x-yaml", "application/yaml", "application/ld+json")
_DROP_TAGS = ("script", "style", "noscript", "svg", "iframe", "template", "canvas")


class WebFetchError(OSError):
    """A page could not be fetched or read; the message is meant for the model."""


@dataclass
class FetchedPage:
    """A fetched page: final URL (after redirects), status, media type and body.

    ``encoding`` is the charset the server declared, if any.
    """

    url: str
    status: int
    content_type: str
    body: bytes
    encoding: str | None
    truncated: bool


def _check_address(url: str, allow_private: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise WebFetchError(f"Only http(s) URLs can be visited, not {parts.scheme or 'no'!r} "
                            f"scheme URLs like {url!r}")
    if not parts.hostname:
        raise WebFetchError(f"{url!r} has no host name")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 80, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as err:
        raise WebFetchError(f"Could not resolve the host {parts.hostname!r} ({err}); check the "
                            "URL, or this machine may have no internet access") from err
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not ip.is_global or ip.is_multicast:
            raise WebFetchError(
                f"{url!r} points to {ip}, an address of the local or private network, which "
                "this tool does not visit (the developer can allow it with "
                "VisitWebpageTool(allow_private_addresses=True))")


def fetch_page(url: str, timeout: float = 20.0, max_bytes: int = 5_000_000,
               allow_private: bool = False, user_agent: str | None = None) -> FetchedPage:
    """GET ``url``, following up to 5 redirects, each checked like the first URL.

    Args:
        url: an http(s) URL; a bare ``example.com/page`` gets ``https://``.
        timeout: seconds for connecting and for each read.
        max_bytes: read at most this many bytes of the body (the rest is dropped
            and ``truncated`` is set).
        allow_private: allow loopback, private and link-local addresses.
        user_agent: the User-Agent header.

    Raises:
        WebFetchError: bad URL, refused address, network failure, timeout, HTTP error.
    """
    import requests

    url = url.strip()
    if "://" not in url:
        url = "https://" + url
    headers = {"User-Agent": user_agent or "Mozilla/5.0 (compatible; agent_core visit_webpage)",
               "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5"}
    for _ in range(MAX_REDIRECTS + 1):
        _check_address(url, allow_private)
        try:
            resp = requests.get(url, headers=headers, timeout=timeout, stream=True,
                                allow_redirects=False)
        except requests.Timeout as err:
            raise WebFetchError(f"Timed out after {timeout:g}s fetching {url}; the site is slow "
                                "or unreachable") from err
        except requests.RequestException as err:
            raise WebFetchError(f"Could not connect to fetch {url} ({type(err).__name__}); the "
                                "site may be down, or this machine may have no internet "
                                "access") from err
        with resp:
            if resp.is_redirect and resp.headers.get("location"):
                url = urljoin(url, resp.headers["location"])
                continue
            if resp.status_code >= 400:
                raise WebFetchError(f"HTTP error {resp.status_code} ({resp.reason}) fetching "
                                    f"{url}")
            body, truncated = _read_capped(resp, max_bytes, url, timeout)
            header = resp.headers.get("content-type", "")
            ctype = header.split(";")[0].strip().lower()
            charset = re.search(r"charset=[\"']?([\w.:-]+)", header, re.I)
            return FetchedPage(url, resp.status_code, ctype, body,
                               charset.group(1) if charset else None, truncated)
    raise WebFetchError(f"Too many redirects (more than {MAX_REDIRECTS}) from {url}")


def _read_capped(resp: Any, max_bytes: int, url: str, timeout: float) -> tuple[bytes, bool]:
    import requests

    chunks, total, start = [], 0, time.monotonic()
    # read1 returns what has arrived (urllib3 >= 2), so the deadline is checked
    # between network reads rather than after a full 64 KiB chunk.
    read1 = getattr(resp.raw, "read1", None)
    pieces = iter(lambda: read1(64 * 1024, decode_content=True), b"") if read1 else \
        resp.iter_content(64 * 1024)
    try:
        for chunk in pieces:
            chunks.append(chunk)
            total += len(chunk)
            if total >= max_bytes:
                return b"".join(chunks)[:max_bytes], True
            if time.monotonic() - start > timeout:  # a server that drips bytes
                raise WebFetchError(f"Reading {url} took longer than {timeout:g}s; the site "
                                    "is too slow")
    except (requests.RequestException, OSError, ValueError) as err:
        if isinstance(err, WebFetchError):
            raise
        raise WebFetchError(f"The connection broke while reading {url} "
                            f"({type(err).__name__}); try again") from err
    return b"".join(chunks), False


def is_textual(content_type: str, body: bytes) -> tuple[bool, bool]:
    """``(is_text, is_html)`` of a response, sniffing the body when the type is vague."""
    if content_type in _HTML_TYPES:
        return True, True
    if content_type.startswith("text/") or content_type in _TEXT_TYPES or \
            content_type.endswith(("+json", "+xml")):
        return True, False
    if content_type in ("", "application/octet-stream"):
        head = body[:1024].lstrip().lower()
        if head.startswith((b"<!doctype html", b"<html")) or b"<body" in head:
            return True, True
        if b"\x00" not in body[:4096]:
            try:
                body[:4096].decode("utf-8")
                return True, False
            except UnicodeDecodeError:
                pass
    return False, False


def html_to_markdown(html: str) -> str:
    """Readable markdown of an HTML page, without scripts, styles and blank runs."""
    from bs4 import BeautifulSoup
    from markdownify import MarkdownConverter

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(list(_DROP_TAGS)):
        tag.decompose()
    title = soup.title.get_text(strip=True) if soup.title else ""
    if soup.head:
        soup.head.decompose()
    text = MarkdownConverter(heading_style="ATX", bullets="-").convert_soup(soup)
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    if title and title not in text[:500]:
        text = f"# {title}\n\n{text}"
    return text


def truncate_content(text: str, max_length: int) -> str:
    """Keep the head and tail of ``text`` within ``max_length`` characters, saying so."""
    if len(text) <= max_length:
        return text
    half = max_length // 2
    return (text[:half] + f"\n\n..._This content has been truncated to stay below "
            f"{max_length} characters_...\n\n" + text[-half:])


def decode_body(body: bytes, encoding: str | None) -> str:
    """The text of a body: the declared charset, else UTF-8 (bad bytes replaced)."""
    try:
        return body.decode(encoding or "utf-8", errors="replace")
    except LookupError:  # an unknown charset name
        return body.decode("utf-8", errors="replace")
