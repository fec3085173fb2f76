"""DuckDuckGoSearchTool.

These machines cannot reach the internet, so no test talks to a real search engine.
Most tests run the real ``ddgs`` library (its HTTP client, HTML parsing and ranking)
with its DuckDuckGo engine pointed at a fake DuckDuckGo HTML page served on
127.0.0.1; the tests of ddgs' rate-limit and timeout exceptions replace the backend
call (``tool.ddgs.text``) instead, as those cannot be provoked reliably by a page.
"""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs

import pytest

from agent_core import DuckDuckGoSearchTool, ScriptedModel, ToolCallingAgent
from agent_core.exceptions import AgentToolExecutionError

from .conftest import Route

ddgs = pytest.importorskip("ddgs")


def ddg_html(results):
    """A page shaped like html.duckduckgo.com's results."""
    items = "".join(
        f'<div class="result results_links web-result"><div class="links_main result__body">'
        f'<h2 class="result__title"><a class="result__a" href="{href}">{title}</a></h2>'
        f'<a class="result__snippet" href="{href}">{body}</a></div></div>'
        for title, href, body in results)
    return f"<html><body><div id='links'>{items}</div></body></html>".encode()


RESULTS = [(f"Python result {i}", f"https://example.org/python/{i}",
            f"Snippet about python number {i}.") for i in range(5)]


@pytest.fixture
def fake_ddg(server, monkeypatch):
    """Point ddgs' DuckDuckGo engine at the local server's /html/ page."""
    from ddgs.engines.duckduckgo import Duckduckgo

    monkeypatch.setattr(Duckduckgo, "search_url", server.url("/html/"))
    server.routes["/html/"] = Route(ddg_html(RESULTS))
    return server


def make_tool(**kwargs):
    return DuckDuckGoSearchTool(backend="duckduckgo", rate_limit=None, **kwargs)


def test_results_are_a_markdown_list_of_title_link_and_snippet(fake_ddg):
    out = make_tool(max_results=10)("python")
    assert out.startswith("## Search Results\n\n")
    assert "[Python result 0](https://example.org/python/0)\nSnippet about python number 0." in out
    assert out.count("](https://example.org/python/") == 5


def test_max_results_and_search_kwargs_reach_ddgs(fake_ddg):
    out = make_tool(max_results=2, region="fr-fr")("python")
    assert out.count("](https://example.org/python/") == 2
    method, _, body = fake_ddg.requests[-1]
    form = parse_qs(body.decode())
    assert method == "POST" and form["q"] == ["python"] and form["l"] == ["fr-fr"]


def test_no_results_is_a_clear_observation(fake_ddg):
    fake_ddg.routes["/html/"] = Route(ddg_html([]))
    out = make_tool()("zzqx nothing matches")
    assert "No results found for 'zzqx nothing matches'" in out
    assert "shorter" in out


def test_a_refusing_engine_reads_as_no_results_with_the_rate_limit_hint(fake_ddg):
    # DuckDuckGo answers 202 when it throttles; ddgs then reports no results.
    fake_ddg.routes["/html/"] = Route(b"", status=202)
    out = make_tool()("python")
    assert "No results found" in out and "rate-limiting" in out


def test_no_network_raises_an_error_the_agent_can_show(monkeypatch, closed_port_url):
    from ddgs.engines.duckduckgo import Duckduckgo

    monkeypatch.setattr(Duckduckgo, "search_url", closed_port_url)
    with pytest.raises(AgentToolExecutionError) as info:
        make_tool()("python")
    msg = str(info.value)
    assert "could not reach the search engines" in msg and "no internet access" in msg
    assert "Traceback" not in msg


@pytest.mark.parametrize("exc_name, expected", [
    ("RatelimitException", "rate-limited"), ("TimeoutException", "timed out")])
def test_rate_limit_and_timeout_from_ddgs_become_clear_errors(exc_name, expected):
    """ddgs.text is replaced by a function raising ddgs' own exception."""
    exc = getattr(ddgs.exceptions, exc_name)
    tool = make_tool()
    tool._ensure_setup()

    def raising(*args, **kwargs):
        raise exc("https://html.duckduckgo.com/html 202 Ratelimit")

    tool.ddgs.text = raising
    with pytest.raises(AgentToolExecutionError, match=expected):
        tool("python")


def test_rate_limit_spaces_searches():
    """The backend call is replaced by a recorder: only the spacing is under test."""
    tool = DuckDuckGoSearchTool(rate_limit=5.0)
    tool._ensure_setup()
    times = []
    tool.ddgs.text = lambda q, **kw: times.append(time.monotonic()) or [
        {"title": "t", "href": "https://e.org", "body": "b"}]
    tool("a"), tool("b")
    assert times[1] - times[0] >= 0.19


def test_unknown_constructor_arguments_are_refused():
    with pytest.raises(TypeError, match="unknown arguments \\['colour'\\]"):
        DuckDuckGoSearchTool(colour="red")


def test_empty_query_is_refused_with_a_message():
    with pytest.raises(AgentToolExecutionError, match="query is empty"):
        DuckDuckGoSearchTool(rate_limit=None)("  ")


def test_an_agent_sees_the_search_error_as_an_observation(monkeypatch, closed_port_url):
    from ddgs.engines.duckduckgo import Duckduckgo

    monkeypatch.setattr(Duckduckgo, "search_url", closed_port_url)
    calls = [json.dumps({"name": "web_search", "arguments": {"query": "python"}}),
             json.dumps({"name": "final_answer", "arguments": {"answer": "offline"}})]
    model = ScriptedModel(calls)
    agent = ToolCallingAgent(tools=[make_tool()], model=model, verbosity_level=0)
    assert agent.run("search") == "offline"
    step = [s for s in agent.logs if s["type"] == "action"][0]
    assert "could not reach the search engines" in step["error"]
    assert "could not reach the search engines" in json.dumps(model.calls[1])
