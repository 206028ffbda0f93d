"""Every repository path the prose documentation names exists.

The documents point readers at files and folders (`shared/worker.py`,
`services/pairing/entrypoints/importer/`, `tests/unit/shared/test_clock.py`). When code moves,
those pointers rot silently; this test reads the documents, pulls out every path written in
backticks, in a code block or as a relative link, and names each one that no longer exists,
with its document and line, in a single failure.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The prose documents: the two READMEs, the guides and the decision records.
DOCUMENTS = (
    [ROOT / "README.md", ROOT / "deploy" / "README.md"]
    + sorted((ROOT / "docs").glob("*.md"))
    + sorted((ROOT / "docs" / "adr").glob("*.md"))
)

# The top-level folders a repository path starts with.
PREFIXES = ("services/", "shared/", "carepair/", "tests/", "deploy/", "bench/", "docs/")

# Paths the documents name that the reader creates and git never holds.
MADE_BY_THE_READER = {"deploy/.env"}

_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE_CODE = re.compile(r"(`+)(.+?)\1")
_LINK = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_STARTS = "|".join(map(re.escape, PREFIXES))
_PATH_IN_CODE = re.compile(rf"(?<![\w./-])((?:{_STARTS})[^\s`'\",;()]*)")
_NOT_A_PATH = re.compile(r"[*?<>{}\[\]$]")  # globs and placeholders such as `<name>`


def _clean(path: str) -> str | None:
    """The path without a `:name`, `#anchor` or trailing punctuation; None for globs and placeholders."""
    if _NOT_A_PATH.search(path):
        return None
    path = path.split("#", 1)[0].split(":", 1)[0].rstrip(".")
    return path or None


def _paths_in_code(code: str) -> list[str]:
    return [path for match in _PATH_IN_CODE.finditer(code) if (path := _clean(match.group(1)))]


def _mentions(document: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, repository path) for every path the document names in code or a relative link."""
    here = document.parent.relative_to(root).as_posix()
    found: list[tuple[int, str]] = []
    fenced = False
    for number, line in enumerate(document.read_text(encoding="utf-8").splitlines(), start=1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:  # a command or a tree: every path on the line counts
            found.extend((number, path) for path in _paths_in_code(line))
            continue
        for span in _INLINE_CODE.finditer(line):
            found.extend((number, path) for path in _paths_in_code(span.group(2)))
        for match in _LINK.finditer(_INLINE_CODE.sub("", line)):
            target = match.group(1)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith(("#", "/")):
                continue  # a web address, a mail address or an anchor in the same page
            path = _clean(target)
            if path is None:
                continue
            resolved = posixpath.normpath(posixpath.join(here, path))
            if path.endswith("/"):
                resolved += "/"
            if resolved.startswith(PREFIXES):
                found.append((number, resolved))
    return found


def test_the_documents_are_found() -> None:
    names = {document.relative_to(ROOT).as_posix() for document in DOCUMENTS}
    assert {"README.md", "deploy/README.md", "docs/architecture.md", "docs/adr/README.md"} <= names


def test_every_path_the_documents_name_exists() -> None:
    missing = []
    for document in DOCUMENTS:
        for line, path in _mentions(document):
            if path in MADE_BY_THE_READER or (ROOT / path).exists():
                continue
            missing.append(f"{document.relative_to(ROOT).as_posix()}:{line}: {path}")
    assert not missing, "the documentation names paths that do not exist:\n" + "\n".join(missing)


def test_the_extraction_finds_what_a_reader_sees(tmp_path: Path) -> None:
    """The parser itself: code and links count; globs, placeholders, prose and web addresses do not."""
    page = tmp_path / "docs" / "page.md"
    page.parent.mkdir()
    page.write_text(
        "See `shared/worker.py:Worker` and `services/pairing/handlers.py#accept`, not shared/prose.py.\n"
        "Run `.venv/bin/pytest tests/unit/shared -q`; not `services/*/domain/` nor `services/<name>/`.\n"
        "Read [operations](operations.md#logs), [adr](adr/), [deploy](../deploy/README.md), [web](https://x.org/a).\n"
        "```sh\n"
        "docker compose -f deploy/docker-compose.yml up   # bench/results/<file>.json\n"
        "```\n",
        encoding="utf-8",
    )
    assert _mentions(page, root=tmp_path) == [
        (1, "shared/worker.py"),
        (1, "services/pairing/handlers.py"),
        (2, "tests/unit/shared"),
        (3, "docs/operations.md"),
        (3, "docs/adr/"),
        (3, "deploy/README.md"),
        (5, "deploy/docker-compose.yml"),
    ]
