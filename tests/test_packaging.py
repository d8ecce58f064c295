"""Packaging: the sdist carries what its tests need, the metadata a package index shows, and an
editable install that is a plain path entry (no import hook, no setuptools warning).

Each test builds from a copy of the source tree, with the installed setuptools (no download),
so the working tree is left as it was.
"""

from __future__ import annotations

import email
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.message import Message
from pathlib import Path

import pytest

import autograd_mini
from autograd_mini import cli

ROOT = Path(__file__).resolve().parents[1]
# Made by tools or by running things; none of it belongs in a package.
SKIP = shutil.ignore_patterns(".git", ".venv", "venv*", "*.egg-info", "__pycache__",
                              ".hypothesis", ".pytest_cache", ".mypy_cache", ".ruff_cache",
                              "autograd_mini_out", "build", "dist", "*.pyc")

pytest.importorskip("build", reason="the `test` extra installs build")


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the source tree (links kept as links), as a fresh checkout would have it."""
    if not (ROOT / "pyproject.toml").is_file():
        pytest.skip("not run from a source tree")
    copy = tmp_path_factory.mktemp("source") / "autograd_mini_src"
    shutil.copytree(ROOT, copy, symlinks=True, ignore=SKIP)
    return copy


def build(source: Path, kind: str, out: Path) -> Path:
    """`python -m build --KIND` without isolation (the installed setuptools); the file made."""
    done = subprocess.run([sys.executable, "-m", "build", f"--{kind}", "--no-isolation",
                           "--outdir", str(out)], cwd=source, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (made,) = out.iterdir()
    return made


@pytest.fixture(scope="module")
def sdist(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(source, "sdist", tmp_path_factory.mktemp("sdist"))


def sdist_files(sdist: Path) -> set[str]:
    """The files in the tarball, relative to its top folder."""
    with tarfile.open(sdist) as tar:
        return {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}


def test_sdist_ships_the_tests_with_their_helpers_and_golden_files(sdist: Path) -> None:
    files = sdist_files(sdist)
    wanted = {"tests/conftest.py", "tests/helpers.py", "tests/__init__.py", "README.md",
              "LICENSE", "docs/when-gradients-go-wrong.md"}
    wanted |= {p.relative_to(ROOT).as_posix() for p in (ROOT / "tests").rglob("*")
               if p.is_file() and p.suffix != ".pyc" and "__pycache__" not in p.parts}
    assert any(f.startswith("tests/golden/") for f in wanted)
    for name in cli.EXAMPLES:  # run as scripts by the tests, and imported by the CLI
        wanted |= {f"examples/{name}.py", f"autograd_mini/examples/{name}.py"}
    assert wanted <= files, sorted(wanted - files)
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]


def test_tests_run_from_the_unpacked_sdist(sdist: Path, tmp_path: Path) -> None:
    """Collect every test and run the ones that read golden files and docs, in the unpacked
    folder with its own copy of the package."""
    with tarfile.open(sdist) as tar:
        if hasattr(tarfile, "data_filter"):  # Python 3.10.12+, 3.11.4+
            tar.extractall(tmp_path, filter="data")
        else:
            tar.extractall(tmp_path)
    (unpacked,) = tmp_path.iterdir()
    env = {**os.environ, "PYTHONPATH": str(unpacked)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--collect-only", "tests"], cwd=unpacked, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # The golden files, the docs page whose snippets are checked, the README's quick start.
    done = subprocess.run([sys.executable, "-m", "pytest", "-o", "addopts=", "-p",
                           "no:cacheprovider", "tests/test_explain.py", "tests/test_viz.py",
                           "tests/test_docs_errors.py", "tests/test_readme.py", "-k",
                           "golden or test_docs_errors or test_readme"],
                          cwd=unpacked, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = done.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "skipped" not in summary, summary
    check = subprocess.run([sys.executable, "-c", "import autograd_mini; print(autograd_mini."
                            "__file__)"], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=60)
    assert Path(check.stdout.strip()).is_relative_to(unpacked), check.stdout + check.stderr


def metadata(sdist: Path) -> Message:
    with tarfile.open(sdist) as tar:
        member = next(m for m in tar.getmembers() if m.name.count("/") == 1
                      and m.name.endswith("/PKG-INFO"))
        data = tar.extractfile(member)
        assert data is not None
        return email.message_from_bytes(data.read())


def test_metadata_a_package_index_shows(sdist: Path) -> None:
    meta = metadata(sdist)
    assert meta["Version"] == autograd_mini.__version__  # written once, in __init__.py
    assert meta["Author"] == "autograd_mini developers"
    assert meta["License-Expression"] == "MIT"
    assert "automatic differentiation" in meta["Keywords"]
    classifiers = meta.get_all("Classifier") or []
    assert "Programming Language :: Python :: 3 :: Only" in classifiers
    assert "Typing :: Typed" in classifiers
    assert any(c.startswith("Development Status ::") for c in classifiers)
    requires = meta.get_all("Requires-Dist") or []
    runtime = sorted(r.split(">")[0].split("=")[0].strip() for r in requires if ";" not in r)
    assert runtime == ["graphviz", "numpy"]
    extras = {r.split(";")[1].split("==")[1].strip().strip("'\"") for r in requires if ";" in r}
    assert {"examples", "test", "dev"} <= extras
    for tool in ("ruff", "mypy"):
        (line,) = [r for r in requires if r.startswith(tool)]
        assert line.endswith('extra == "dev"'), line


def test_editable_install_is_a_plain_path_entry_without_warnings(source: Path,
                                                                  tmp_path: Path) -> None:
    """setuptools warns ("Editable installation ...") whenever it needs an import hook; a
    layout where every package sits at its dotted path gets a plain .pth line instead."""
    code = ("import warnings, setuptools.build_meta as backend\n"
            "warnings.simplefilter('always')\n"
            f"print(backend.build_editable({str(tmp_path)!r}))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=source, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Warning" not in done.stderr and "!!" not in done.stderr, done.stderr[-3000:]
    (wheel,) = tmp_path.glob("*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        assert not [n for n in names if "finder" in n], names
        (pth,) = [n for n in names if n.endswith(".pth")]
        assert z.read(pth).decode().split() == [str(source.resolve())]
    # The entry makes the examples importable under the package, and they are the scripts.
    assert (source / "autograd_mini" / "examples" / "two_points.py").samefile(
        source / "examples" / "two_points.py")


def test_every_subpackage_is_listed_for_setuptools() -> None:
    """A package folder missing from pyproject's list is left out of the wheel: a regular
    install then fails on import, while an editable one (this venv) hides it."""
    import re

    root = Path(__file__).resolve().parent.parent
    line = re.search(r"^packages = \[(.*)\]$", (root / "pyproject.toml").read_text(), re.M)
    assert line is not None
    listed = set(re.findall(r'"([\w.]+)"', line.group(1)))
    found = {".".join(Path(folder).relative_to(root).parts)
             for folder, _, files in os.walk(root / "autograd_mini", followlinks=True)
             if "__init__.py" in files}
    assert found == listed
