"""VisitWebpageTool against pages served by a real http.server on 127.0.0.1."""

from __future__ import annotations

import pytest

from agent_core import VisitWebpageTool
from agent_core.exceptions import AgentToolExecutionError

from .conftest import Route

PAGE = b"""<!doctype html><html><head><title>Tool Guide</title>
<style>body { color: red }</style><script>var secret = "do not show";</script></head>
<body><h1>Agents</h1><p>An agent calls <b>tools</b>. See <a href="/docs">the docs</a>.</p>
<ul><li>search</li><li>visit</li></ul><noscript>enable js</noscript></body></html>"""


def tool(**kwargs):
    return VisitWebpageTool(allow_private_addresses=True, **kwargs)


def test_html_becomes_readable_markdown(server):
    server.routes["/page"] = Route(PAGE)
    out = tool()(server.url("/page"))
    assert "# Agents" in out
    assert "An agent calls **tools**. See [the docs](/docs)." in out
    assert "- search\n- visit" in out
    assert "secret" not in out and "color: red" not in out and "enable js" not in out
    assert "# Tool Guide" in out  # the title is kept


def test_long_pages_are_truncated_to_max_output_length_with_a_note(server):
    words = " ".join(f"word{i}" for i in range(5000))
    server.routes["/long"] = Route(f"<p>START {words} END</p>".encode())
    out = tool(max_output_length=1000)(server.url("/long"))
    assert len(out) < 1200
    assert out.startswith("START") and out.endswith("END")
    assert "truncated to stay below 1000 characters" in out


def test_pages_above_the_size_cap_are_read_partially(server):
    server.routes["/big"] = Route(b"<p>" + b"a" * 200_000 + b"</p>")
    out = tool(max_bytes=10_000)(server.url("/big"))
    assert "Only the first 10,000 bytes of the page were read" in out
    assert out.count("a") < 11_000


def test_text_and_json_come_back_as_text(server):
    server.routes["/data.json"] = Route(b'{"answer": 42}', content_type="application/json")
    server.routes["/notes.txt"] = Route(b"plain notes\n", content_type="text/plain")
    assert tool()(server.url("/data.json")) == '{"answer": 42}'
    assert tool()(server.url("/notes.txt")) == "plain notes"


def test_declared_and_undeclared_charsets_decode(server):
    server.routes["/latin"] = Route("<p>café</p>".encode("latin-1"),
                                    content_type="text/html; charset=ISO-8859-1")
    server.routes["/utf8"] = Route("<p>naïve café</p>".encode(), content_type="text/html")
    assert tool()(server.url("/latin")) == "café"
    assert tool()(server.url("/utf8")) == "naïve café"


def test_binary_content_is_a_clear_error(server):
    server.routes["/paper.pdf"] = Route(b"%PDF-1.4\x00\x01binary", content_type="application/pdf")
    with pytest.raises(AgentToolExecutionError) as info:
        tool()(server.url("/paper.pdf"))
    assert "is not a web page but application/pdf" in str(info.value)
    assert "reads only HTML and text" in str(info.value)


@pytest.mark.parametrize("status, reason", [(404, "Not Found"), (500, "Internal Server Error")])
def test_http_errors_are_clear_errors(server, status, reason):
    server.routes["/x"] = Route(b"nope", status=status)
    with pytest.raises(AgentToolExecutionError,
                       match=f"HTTP error {status} \\({reason}\\) fetching http://127.0.0.1"):
        tool()(server.url("/x"))


def test_redirects_are_followed(server):
    server.routes["/old"] = Route(b"", status=301, headers={"Location": "/page"})
    server.routes["/page"] = Route(PAGE)
    assert "# Agents" in tool()(server.url("/old"))


def test_redirect_loops_stop(server):
    server.routes["/loop"] = Route(b"", status=302, headers={"Location": "/loop"})
    with pytest.raises(AgentToolExecutionError, match="Too many redirects"):
        tool()(server.url("/loop"))


def test_slow_pages_time_out(server):
    server.routes["/slow"] = Route(PAGE, delay_s=2.0)
    with pytest.raises(AgentToolExecutionError, match="Timed out after 0.5s"):
        tool(timeout=0.5)(server.url("/slow"))


def test_pages_that_drip_time_out_as_a_whole(server):
    server.routes["/drip"] = Route(b"<p>" + b"a" * 20_000 + b"</p>", drip_s=0.1)
    with pytest.raises(AgentToolExecutionError, match="took longer than 0.5s"):
        tool(timeout=0.5)(server.url("/drip"))


def test_connection_refused_says_the_site_may_be_down(closed_port_url):
    with pytest.raises(AgentToolExecutionError, match="Could not connect.*no internet access"):
        tool()(closed_port_url)


def test_private_addresses_are_refused_by_default(server):
    server.routes["/page"] = Route(PAGE)
    with pytest.raises(AgentToolExecutionError) as info:
        VisitWebpageTool()(server.url("/page"))
    assert "127.0.0.1" in str(info.value) and "allow_private_addresses=True" in str(info.value)
    assert server.requests == []  # nothing was sent


def test_a_redirect_to_a_private_address_is_refused(server, monkeypatch):
    """The first hop is made to look public; the redirect target is checked again."""
    from agent_core.tools import _web

    real_check = _web._check_address
    checked = []

    def check(url, allow_private):
        checked.append(url)
        return real_check(url, allow_private=len(checked) == 1)

    monkeypatch.setattr(_web, "_check_address", check)
    server.routes["/hop"] = Route(b"", status=302, headers={"Location": "http://127.0.0.1:1/"})
    with pytest.raises(AgentToolExecutionError, match="local or private network"):
        VisitWebpageTool()(server.url("/hop"))
    assert checked == [server.url("/hop"), "http://127.0.0.1:1/"]


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x"])
def test_only_http_urls_are_visited(url):
    with pytest.raises(AgentToolExecutionError, match="Only http\\(s\\) URLs"):
        tool()(url)


def test_empty_pages_say_so(server):
    server.routes["/empty"] = Route(b"<html><body><script>x()</script></body></html>")
    assert "has no readable text" in tool()(server.url("/empty"))
