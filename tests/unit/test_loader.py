from pathlib import Path

import pytest

from stellar import Task, TaskDefinitionError, UnknownTask
from stellar.tasks.loader import load_tasks

GOOD = """
from stellar import task

@task(name="auth.sessionValidation", description="Validate sessions", frequency=60)
async def validate(api, params):
    return None
"""


def app_with(tmp_path: Path, files: dict[str, str]) -> Path:
    for relative, source in files.items():
        path = tmp_path / "modules" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return tmp_path


def test_loads_tasks_from_modules_and_subfolders(tmp_path: Path) -> None:
    root = app_with(tmp_path, {
        "auth/tasks/session.py": GOOD,
        "mail/tasks/deep/send.py": (
            "from stellar import Task\n"
            "def send(api, params):\n    return params\n"
            "send_task = Task(name='mail.send', description='Send', run=send, queue='mail')\n"
        ),
        "mail/tasks/_private.py": "raise RuntimeError('skipped: starts with _')\n",
        "mail/tasks/.hidden/x.py": "raise RuntimeError('skipped: hidden')\n",
    })  # fmt: skip
    registry = load_tasks(root)
    assert [t.name for t in registry] == ["auth.sessionValidation", "mail.send"]
    validate = registry.get("auth.sessionValidation")
    assert validate.periodic and validate.frequency == 60 and validate.queue == "default"
    assert validate.is_async
    send = registry.get("mail.send")
    assert send.queue == "mail" and not send.periodic and not send.is_async
    with pytest.raises(UnknownTask, match="unknown task 'nope'"):
        registry.get("nope")


def test_every_problem_is_reported_at_once_with_file_and_field(tmp_path: Path) -> None:
    bad = "from stellar import Task\n"
    root = app_with(tmp_path, {
        "a/tasks/no_name.py": bad + "t = Task(name='', description='d', run=print)\n",
        "a/tasks/no_description.py": bad + "t = Task(name='x.d', description='  ', run=print)\n",
        "a/tasks/not_callable.py": bad + "t = Task(name='x.r', description='d', run=42)\n",
        "a/tasks/negative.py": bad + "t = Task(name='x.n', description='d', run=print, frequency=-1)\n",
        "a/tasks/text_frequency.py": bad + "t = Task(name='x.t', description='d', run=print, frequency='1s')\n",
        "a/tasks/syntax.py": "def broken(:\n",
        "a/tasks/imports.py": "import module_that_does_not_exist\n",
        "a/tasks/one.py": GOOD,
        "b/tasks/two.py": GOOD,
    })  # fmt: skip
    with pytest.raises(TaskDefinitionError) as caught:
        load_tasks(root)
    text = str(caught.value)
    expected = [
        ("modules/a/tasks/no_name.py", "<task>.name", "must be a non-empty string"),
        ("modules/a/tasks/no_description.py", "x.d.description", "must be a non-empty string"),
        ("modules/a/tasks/not_callable.py", "x.r.run", "must be a function, got int"),
        ("modules/a/tasks/negative.py", "x.n.frequency", "must be >= 0"),
        ("modules/a/tasks/text_frequency.py", "x.t.frequency", "must be a number of seconds"),
        ("modules/a/tasks/syntax.py", "import", "SyntaxError"),
        ("modules/a/tasks/imports.py", "import", "ModuleNotFoundError"),
        ("modules/b/tasks/two.py", "auth.sessionValidation.name",
         "duplicate task name, also defined in modules/a/tasks/one.py"),
    ]  # fmt: skip
    assert len(caught.value.problems) == len(expected)
    for file, field, message in expected:
        assert any(
            p[0] == file and p[1] == field and message in p[2] for p in caught.value.problems
        ), (file, field, message, text)
        assert file in text


def test_task_imported_into_another_file_counts_once(tmp_path: Path) -> None:
    root = app_with(tmp_path, {
        "auth/tasks/session.py": GOOD,
        "auth/tasks/reexport.py": "from modules.auth.tasks.session import validate\n",
    })  # fmt: skip
    assert [t.name for t in load_tasks(root)] == ["auth.sessionValidation"]


def test_timedelta_frequency_and_direct_call() -> None:
    from datetime import timedelta

    t = Task(
        name="x", description="d", run=lambda api, p: p["v"] * 2, frequency=timedelta(minutes=5)
    )
    assert t.frequency == 300 and t.periodic
    assert t(None, {"v": 21}) == 42


def test_objects_with_an_async_call_are_async_tasks() -> None:
    class Handler:
        async def __call__(self, api: object, params: object) -> None:
            return None

    assert Task(name="x", description="d", run=Handler()).is_async
    assert not Task(name="y", description="d", run=lambda api, p: None).is_async
