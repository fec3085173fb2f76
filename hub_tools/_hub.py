"""The thin Hub layer: one HfApi per call (or the caller's), and HTTP errors made typed."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Iterator

from agent_core._secrets import redact

from .exceptions import (HubRequestError, HubToolsError, ToolRepoNotFoundError,
                         ToolRevisionNotFoundError)

if TYPE_CHECKING:
    from huggingface_hub import HfApi

__all__ = ["make_api", "hub_errors", "repo_url"]


def make_api(api: "HfApi | None", token: str | None) -> "HfApi":
    """The caller's ``HfApi``, or a new one (reads ``HF_ENDPOINT``/``HF_TOKEN`` as usual)."""
    if api is not None:
        return api
    from huggingface_hub import HfApi

    return HfApi(token=token)


def repo_url(api: "HfApi", repo_id: str, repo_type: str = "space") -> str:
    prefix = {"space": "spaces/", "dataset": "datasets/"}.get(repo_type, "")
    return f"{api.endpoint.rstrip('/')}/{prefix}{repo_id}"


@contextlib.contextmanager
def hub_errors(api: "HfApi", repo_id: str, revision: str | None = None,
               token: str | None = None) -> Iterator[None]:
    """Turn huggingface_hub / network errors into hub_tools' typed errors.

    Messages are redacted: a token never reaches an error.
    """
    from huggingface_hub.errors import (HfHubHTTPError, RepositoryNotFoundError,
                                        RevisionNotFoundError)

    secrets = [token] if token else []
    try:
        yield
    except HubToolsError:
        raise
    except RevisionNotFoundError:
        raise ToolRevisionNotFoundError(repo_id, revision or "main") from None
    except RepositoryNotFoundError:
        raise ToolRepoNotFoundError(repo_id, api.endpoint) from None
    except HfHubHTTPError as err:
        status = err.response.status_code if err.response is not None else None
        hint = ""
        if status in (401, 403):
            hint = " Check that the token may write to this namespace."
        message = redact(f"Hub request for {repo_id!r} failed ({status}): {err}{hint}", secrets)
        raise HubRequestError(message, status) from None
    except OSError as err:  # connection refused, DNS, timeouts (httpx errors are not OSError)
        raise HubRequestError(redact(f"Cannot reach the Hub at {api.endpoint}: {err}", secrets)) \
            from None
    except Exception as err:
        if type(err).__module__.startswith("httpx"):
            raise HubRequestError(redact(f"Cannot reach the Hub at {api.endpoint}: {err}",
                                         secrets)) from None
        raise
