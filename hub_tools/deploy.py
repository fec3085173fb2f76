"""Deploy the app to your own Hugging Face Space.

``python -m hub_tools.deploy owner/space-name [--private] [--var K=V] [--secret K=V]``
creates the Space (sdk gradio) if needed, uploads ``app.py``, the ``agent_core`` and
``hub_tools`` packages, ``requirements.txt`` and ``README.md`` in one commit (deleting
package files that no longer exist locally), then sets the Space variables and
secrets. ``--secret NAME`` without ``=value`` takes the value from the environment,
so that it does not land in the shell history. Secret values are never printed.

Example:
    >>> from hub_tools.deploy import deploy
    >>> result = deploy("me/my-agent", variables={"AGENT_MODEL": "hf:Qwen/Qwen2.5-Coder-32B-Instruct"},
    ...                 secrets={"HF_TOKEN": "hf_..."})            # doctest: +SKIP
    >>> result.url                                                  # doctest: +SKIP
    'https://huggingface.co/spaces/me/my-agent'
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from huggingface_hub import HfApi

__all__ = ["deploy", "DeployResult", "space_files", "space_readme", "main"]

PACKAGES = ("agent_core", "hub_tools")
TOP_FILES = ("app.py", "requirements.txt", "README.md")
_SKIP_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
_SKIP_SUFFIXES = (".pyc", ".pyo", ".so", ".egg-info")
_REQUIRED_CARD = {"sdk": "gradio", "app_file": "app.py"}
_DEFAULT_CARD = {"title": "Agent Space", "emoji": "🛠️", "colorFrom": "yellow",
                 "colorTo": "indigo", "pinned": False,
                 "short_description": "An agent that streams its steps into a chat"}


@dataclass
class DeployResult:
    """What :func:`deploy` did.

    Attributes:
        url: the Space's page.
        commit_sha: the commit that holds the app (None if nothing changed).
        files: the paths uploaded.
        deleted: stale package files removed from the Space.
        variables: names of the variables set.
        secrets: names of the secrets set (never their values).
    """

    url: str
    commit_sha: str | None
    files: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    variables: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)


def project_root() -> Path:
    """The folder holding ``app.py`` and the packages (this checkout)."""
    return Path(__file__).resolve().parents[1]


def space_files(root: str | Path | None = None) -> dict[str, Path]:
    """The files of the Space: repo path -> local path.

    Raises:
        FileNotFoundError: ``app.py``, ``requirements.txt`` or a package is missing.
    """
    root = Path(root) if root is not None else project_root()
    files: dict[str, Path] = {}
    for name in TOP_FILES:
        path = root / name
        if not path.is_file():
            if name == "README.md":
                continue  # space_readme() writes one
            raise FileNotFoundError(f"{path} is missing: the Space needs it")
        files[name] = path
    for package in PACKAGES:
        folder = root / package
        if not (folder / "__init__.py").is_file():
            raise FileNotFoundError(f"{folder} is not a package: the Space needs it")
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(root)
            if path.is_file() and not _SKIP_PARTS.intersection(rel.parts) \
                    and not path.name.endswith(_SKIP_SUFFIXES):
                files[rel.as_posix()] = path
    return files


def space_readme(text: str | None, title: str | None = None) -> str:
    """The README with Space card front matter that says ``sdk: gradio``, ``app_file: app.py``.

    Existing front matter is kept and completed; a README without any gets the
    defaults. (The README is committed with its front matter: the Hub validates it on
    commit, and card helpers that validate elsewhere do not work against mirrors.)
    """
    import yaml

    text = text or ""
    meta: dict[str, Any] = {}
    body = text
    if text.startswith("---"):
        end = text.find("\n---", 3)
        if end != -1:
            meta = yaml.safe_load(text[3:end]) or {}
            body = text[end + 4:].lstrip("\n")
    changed = not meta
    for key, value in {**_DEFAULT_CARD, **_REQUIRED_CARD}.items():
        if key in _REQUIRED_CARD and meta.get(key) != value or key not in meta:
            meta[key] = value
            changed = True
    if title:
        meta["title"], changed = title, True
    if not changed:
        return text
    header = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True).strip()
    return f"---\n{header}\n---\n\n{body or '# ' + str(meta['title']) + chr(10)}"


def _parse_pairs(items: Iterable[str], kind: str, env: Mapping[str, str]) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not key:
            raise ValueError(f"--{kind} {item!r}: write NAME=value")
        if not sep:
            if kind != "secret" or key not in env:
                raise ValueError(f"--{kind} {key}: no value (write {key}=value"
                                 + (f", or export {key}" if kind == "secret" else "") + ")")
            value = env[key]
        pairs[key] = value
    return pairs


def deploy(space_id: str, *, private: bool = False, variables: Mapping[str, str] | None = None,
           secrets: Mapping[str, str] | None = None, token: str | None = None,
           api: "HfApi | None" = None, root: str | Path | None = None,
           title: str | None = None) -> DeployResult:
    """Create or update a Gradio Space running this app.

    Args:
        space_id: ``owner/name`` of the Space.
        private: create it private (an existing Space keeps its visibility).
        variables: Space variables (e.g. ``AGENT_MODEL``), visible to whoever sees the Space.
        secrets: Space secrets (e.g. ``HF_TOKEN``), never shown.
        token: a Hub token with write access (default: the one huggingface_hub finds).
        api: the ``HfApi`` to use (endpoint, token); one is made if None.
        root: the project folder (default: this checkout).
        title: the Space card's title.

    Returns:
        A :class:`DeployResult`.

    Raises:
        FileNotFoundError: a file the Space needs is missing.
        huggingface_hub.errors.HfHubHTTPError: the Hub refused (bad token, no rights).
    """
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

    api = api or HfApi(token=token)
    files = space_files(root)
    readme_path = files.get("README.md")
    readme = space_readme(readme_path.read_text(encoding="utf-8") if readme_path else None,
                          title)
    repo_url = api.create_repo(space_id, repo_type="space", space_sdk="gradio", private=private,
                               exist_ok=True)
    operations: list[Any] = [CommitOperationAdd(path_in_repo=path, path_or_fileobj=str(local))
                             for path, local in files.items() if path != "README.md"]
    operations.append(CommitOperationAdd(path_in_repo="README.md",
                                         path_or_fileobj=readme.encode("utf-8")))
    remote = set(api.list_repo_files(space_id, repo_type="space"))
    stale = sorted(p for p in remote if p.split("/")[0] in PACKAGES and p not in files)
    operations += [CommitOperationDelete(path_in_repo=p) for p in stale]
    commit = api.create_commit(space_id, repo_type="space", operations=operations,
                               commit_message="Deploy the agent app")
    for key, value in (variables or {}).items():
        api.add_space_variable(space_id, key, value)
    for key, value in (secrets or {}).items():
        api.add_space_secret(space_id, key, value)
    url = str(getattr(repo_url, "url", repo_url))
    return DeployResult(url=url, commit_sha=getattr(commit, "oid", None),
                        files=sorted({*files, "README.md"}), deleted=stale,
                        variables=sorted(variables or {}), secrets=sorted(secrets or {}))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m hub_tools.deploy",
        description="Create or update a Hugging Face Space (sdk gradio) running this app.")
    parser.add_argument("space_id", help="owner/name of the Space")
    parser.add_argument("--private", action="store_true", help="create the Space private")
    parser.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                        help="a Space variable, e.g. AGENT_MODEL=hf:Qwen/Qwen2.5-Coder-32B-Instruct")
    parser.add_argument("--secret", action="append", default=[], metavar="NAME[=VALUE]",
                        help="a Space secret; NAME alone takes the value from the environment")
    parser.add_argument("--token", default=None, help="Hub token (default: HF_TOKEN or login)")
    parser.add_argument("--title", default=None, help="title of the Space card")
    parser.add_argument("--root", default=None, help="project folder (default: this checkout)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit code."""
    args = _parser().parse_args(argv)
    secrets: dict[str, str] = {}
    if args.space_id.count("/") != 1 or not all(args.space_id.split("/")):
        print(f"error: {args.space_id!r} is not owner/name", file=sys.stderr)
        return 2
    try:
        variables = _parse_pairs(args.var, "var", os.environ)
        secrets = _parse_pairs(args.secret, "secret", os.environ)
        result = deploy(args.space_id, private=args.private, variables=variables,
                        secrets=secrets, token=args.token, root=args.root, title=args.title)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # Hub errors: one readable line, no traceback, no secrets
        from agent_core._secrets import redact

        print(f"error: {redact(f'{type(err).__name__}: {err}', list(secrets.values()))}",
              file=sys.stderr)
        return 1
    print(f"Deployed {len(result.files)} files to {result.url}"
          + (f" (commit {result.commit_sha[:12]})" if result.commit_sha else ""))
    if result.deleted:
        print(f"Removed {len(result.deleted)} stale files: {', '.join(result.deleted)}")
    if result.variables:
        print(f"Variables set: {', '.join(result.variables)}")
    if result.secrets:
        print(f"Secrets set: {', '.join(result.secrets)} (values not shown)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
