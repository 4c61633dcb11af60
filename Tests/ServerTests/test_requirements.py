"""Every module the Python tests import is either the standard library, one of the tests' own files, or provided by
a distribution that `Tests/requirements.txt` (and the files it includes) names. `make test` and `.ci/run` install
those files alone into a new virtual environment, so this check also proves that the tests import nothing that
only a hand-installed package provides."""
import ast
import importlib
import importlib.metadata
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
TESTS = ROOT / "Tests"
REQUIREMENTS = TESTS / "requirements.txt"


def normalized(name):
    """PEP 503 normalisation: `PyJWT`, `pyjwt` and `py_jwt` are one project."""
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(path):
    """Project names in a requirements file and the files it includes with `-r`."""
    names = set()
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(("-r ", "--requirement ")):
            names |= declared(path.parent / line.split(None, 1)[1])
            continue
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
        assert match, f"{path.relative_to(ROOT)}: cannot read the requirement {raw!r}"
        names.add(normalized(match.group(0)))
    return names


def imported_modules():
    """Top-level module names imported anywhere in the Python test files (inside functions too), with where."""
    found = {}
    for file in sorted(TESTS.rglob("*.py")):
        for node in ast.walk(ast.parse(file.read_text(), str(file))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], f"{file.relative_to(ROOT)}:{node.lineno}")
    return found


def local_modules():
    return {file.stem for file in TESTS.rglob("*.py")}


def third_party():
    local = local_modules()
    return {name: where for name, where in imported_modules().items()
            if name not in sys.stdlib_module_names and name not in local}


def test_the_requirements_parse_and_name_projects():
    names = declared(REQUIREMENTS)
    assert {"pytest", "python-socketio", "pyjwt", "cryptography", "python-hcl2"} <= names, names


def test_every_third_party_import_is_declared():
    distributions = importlib.metadata.packages_distributions()
    names = declared(REQUIREMENTS)
    undeclared = []
    for module, where in sorted(third_party().items()):
        providers = {normalized(d) for d in distributions.get(module, [])}
        if not providers & names:
            undeclared.append(f"{where}: imports {module!r}, which no requirement provides"
                              f" (installed from: {sorted(providers) or 'nowhere'})")
    assert not undeclared, "\n".join(undeclared)


def test_every_import_resolves():
    failures = []
    for module, where in sorted(imported_modules().items()):
        if module in local_modules():
            continue
        try:
            importlib.import_module(module)
        except ImportError as error:
            failures.append(f"{where}: {error}")
    assert not failures, "\n".join(failures)


def test_the_check_sees_imports_inside_functions(tmp_path, monkeypatch):
    """The scan is what the check rests on: an import hidden in a function body is still found."""
    (tmp_path / "test_sample.py").write_text("def f():\n    import jwt\n    from a.b import c\n")
    monkeypatch.setattr(sys.modules[__name__], "TESTS", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert set(imported_modules()) == {"jwt", "a"}
