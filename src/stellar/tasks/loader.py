"""Find and import ``modules/<module>/tasks/**/*.py`` and collect their tasks.

Every module-level :class:`~stellar.tasks.definition.Task` object in a task file is
registered. Files and folders whose names start with ``.`` or ``_`` are skipped. All
problems (syntax errors, import errors, invalid fields, duplicate names) are collected and
raised together as one :class:`~stellar.errors.TaskDefinitionError`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import traceback
from pathlib import Path
from types import ModuleType

from stellar.errors import TaskDefinitionError
from stellar.tasks.definition import Task
from stellar.tasks.registry import Registry


def task_files(root: Path, modules: str = "modules") -> list[Path]:
    """Task files of the application at ``root``, in a stable order."""
    base = root / modules
    if not base.is_dir():
        return []
    files: list[Path] = []
    for module in sorted(p for p in base.iterdir() if p.is_dir() and p.name[0] not in "._"):
        tasks_dir = module / "tasks"
        if not tasks_dir.is_dir():
            continue
        for path in sorted(tasks_dir.rglob("*.py")):
            relative = path.relative_to(tasks_dir).parts
            if any(part[0] in "._" for part in relative):
                continue
            files.append(path)
    return files


def _import(path: Path) -> ModuleType:
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    name = f"_stellar_tasks.{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - .py files always have one
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):
        return f"{type(exc).__name__}: {exc.msg} (line {exc.lineno})"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "importlib" not in f.filename]
    where = f" (line {frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _home(definition: Task) -> str | None:
    code = getattr(definition.run, "__code__", None)
    return str(Path(code.co_filename).resolve()) if code is not None else None


def load_tasks(root: Path, modules: str = "modules", extra: list[Task] | None = None) -> Registry:
    """Import every task file of the application and return the validated registry."""
    root = root.resolve()
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    found: list[tuple[str, Task]] = []
    problems: list[tuple[str, str, str]] = []
    files = task_files(root, modules)
    homes = {str(p.resolve()) for p in files}
    for path in files:
        shown = str(path.relative_to(root))
        try:
            module = _import(path)
        except Exception as exc:
            problems.append((shown, "import", _describe(exc)))
            continue
        seen: set[int] = set()
        for value in vars(module).values():
            if not isinstance(value, Task) or id(value) in seen:
                continue
            seen.add(id(value))
            home = _home(value)
            if home in homes and home != str(path.resolve()):
                continue  # imported from another task file: counted there
            found.append((shown, value))
    found += [("<App(tasks=...)>", t) for t in extra or []]
    try:
        registry = Registry(found)
    except TaskDefinitionError as exc:
        problems += exc.problems
    if problems:
        raise TaskDefinitionError(problems)
    return registry
