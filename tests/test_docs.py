"""The README and docs/: short README, every relative link resolves, every command they give parses."""

import re
import shlex
from pathlib import Path

import pytest
from dvc.cli import DvcParserError, parse_args

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"```bash\n(.*?)```", re.S)


def relative_links(text: str) -> list[str]:
    return [target for target in LINK.findall(text) if not re.match(r"[a-z]+:", target)]


def anchors(markdown: str) -> set[str]:
    """GitHub's anchors of a Markdown file's headings."""
    headings = re.findall(r"^#+ (.+)$", markdown, re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def broken_links(doc: Path) -> list[str]:
    broken = []
    for target in relative_links(doc.read_text()):
        path, _, anchor = target.partition("#")
        file = (doc.parent / path).resolve() if path else doc
        if not file.exists() or (anchor and file.suffix == ".md" and anchor not in anchors(file.read_text())):
            broken.append(target)
    return broken


def shell_commands(text: str) -> list[list[str]]:
    """Every command line of the ```bash blocks, comments dropped, continuation lines joined."""
    commands = []
    for block in FENCE.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            for part in " ".join(words).split(" && "):
                if part.strip():
                    commands.append(part.split())
    return commands


def dvc_argv(words: list[str]) -> list[str] | None:
    """The arguments of a `dvc ...` command line (after any VAR=value), else None; placeholders filled in."""
    while words and re.fullmatch(r"\w+=\S*", words[0]):
        words = words[1:]
    if not words or words[0] != "dvc":
        return None
    return [w.replace("<name>", "exp-1").replace("<repo>", "repo") for w in words[1:]]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_relative_link_resolves(doc):
    assert broken_links(doc) == []


def test_a_broken_link_is_found(tmp_path):
    doc = tmp_path / "a.md"
    (tmp_path / "b.md").write_text("# Real heading\n")
    doc.write_text("[ok](b.md) [ok](b.md#real-heading) [gone](c.md) [bad anchor](b.md#nope) [web](https://x.org)\n")
    assert broken_links(doc) == ["c.md", "b.md#nope"]


def test_readme_is_one_screenful_of_commands():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    first_block = FENCE.search(readme).group(1).splitlines()
    targets = re.findall(r"^(\w+):", (ROOT / "Makefile").read_text(), re.M)
    assert [line.split()[:2] for line in first_block] == [["make", "run"], ["make", "test"]]
    assert {"run", "test"} <= set(targets)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_dvc_command_parses(doc):
    commands = [argv for words in shell_commands(doc.read_text()) if (argv := dvc_argv(words)) is not None]
    for argv in commands:
        parse_args(argv)  # raises DvcParserError on an unknown command or option


def test_a_misspelt_dvc_command_is_refused():
    [argv] = [dvc_argv(words) for words in shell_commands("```bash\ndvc exp show --only-chnaged\n```\n")]
    with pytest.raises(DvcParserError):
        parse_args(argv)


def test_readme_recovery_is_the_one_the_docs_test():
    """The README's way back after a failed experiment starts as docs/your-data.md's (tests/test_recovery.py runs
    that one against a stale git index)."""
    readme = (ROOT / "README.md").read_text().split("<!-- recovery -->", 1)[1]
    docs = (ROOT / "docs" / "your-data.md").read_text().split("## Recovering after a failed experiment", 1)[1]
    first_command = shell_commands(readme)[0]
    assert first_command == shell_commands(docs)[0][: len(first_command)]
    assert first_command[:2] == ["git", "show"]
