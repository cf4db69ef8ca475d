"""The docs stay true to the code: the generated CLI reference is current, and links resolve."""

from __future__ import annotations

import re
from pathlib import Path

from inferplan.cli.reference import render

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# [text](target) — the target up to ')' or a space (a title); images too.
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _local_links(page: Path) -> list[tuple[str, Path, str]]:
    """(target as written, file it names, #anchor or '') for every link that is not a URL."""
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)  # code blocks hold no links
    found = []
    for target in LINK.findall(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        found.append((target, (page.parent / path).resolve() if path else page, anchor))
    return found


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    anchors = set()
    for heading in re.findall(r"^#{1,6}\s+(.*?)\s*$", text, flags=re.M):
        anchors.add(re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-"))
    return anchors


def test_cli_reference_is_current() -> None:
    page = DOCS / "cli.md"
    assert page.exists(), "docs/cli.md is missing: python -m inferplan.cli.reference > docs/cli.md"
    assert page.read_text(encoding="utf-8") == render(), (
        "docs/cli.md is stale: regenerate it with python -m inferplan.cli.reference > docs/cli.md"
    )


def test_cli_reference_lists_every_command_and_option() -> None:
    import typer.main

    from inferplan.cli.app import app

    text = render()
    group = typer.main.get_command(app)
    for name, command in group.commands.items():
        assert f"## `inferplan {name}`" in text
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("-"):
                    assert f"{opt}" in text, (name, opt)
    assert "<bool>" not in text


def test_readme_docs_links_point_to_existing_files() -> None:
    links = [(t, f, a) for t, f, a in _local_links(ROOT / "README.md")]
    docs_links = [(t, f) for t, f, _ in links if t.startswith("docs/")]
    assert docs_links, "the README links no docs page"
    missing = [t for t, f, _ in links if not f.exists()]
    assert not missing, f"README links to missing files: {missing}"


def test_every_docs_page_is_linked_from_the_readme_or_the_index() -> None:
    linked = {f for _, f, _ in _local_links(ROOT / "README.md") + _local_links(DOCS / "README.md")}
    orphans = [p.name for p in DOCS.glob("*.md") if p.resolve() not in linked and p.name != "README.md"]
    assert not orphans, f"docs pages no one links to (add them to docs/README.md): {orphans}"


def test_links_between_docs_pages_resolve() -> None:
    broken = []
    for page in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        for target, file, anchor in _local_links(page):
            if not file.exists():
                broken.append(f"{page.name}: {target}")
            elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert not broken, "broken links:\n" + "\n".join(broken)
