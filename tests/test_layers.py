"""The documented layers hold: the networks read no files (the loading layer does), and the tiny
test set is known only to the module that says what a model folder holds."""

import ast
from pathlib import Path

import dawn_studio

PACKAGE = Path(dawn_studio.__file__).parent
#: Calls and modules that read or write files.
FILE_ACCESS = {"open", "load", "save", "read_text", "read_bytes", "write_text", "write_bytes", "load_file",
               "safe_load", "files"}
FILE_MODULES = {"pickle", "yaml", "safetensors", "importlib.resources", "os", "pathlib", "io", "json"}


def _problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            found += [f"imports {n}" for n in names if n in FILE_MODULES or n.split(".")[0] in FILE_MODULES]
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in FILE_ACCESS:
                found.append(f"calls {name}() on line {node.lineno}")
    return found


def test_networks_do_no_file_io():
    problems = {str(p.relative_to(PACKAGE)): _problems(p) for p in (PACKAGE / "networks").rglob("*.py")}
    assert {k: v for k, v in problems.items() if v} == {}


def test_only_the_model_folder_module_knows_the_tiny_set_marker():
    users = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                   if "architecture.json" in p.read_text() or "ARCHITECTURE_FILE" in p.read_text())
    assert users == ["loading/model_folder.py"]
