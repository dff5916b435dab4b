"""The registry of an application's tasks, by name. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from stellar.errors import TaskDefinitionError, UnknownTask
from stellar.tasks.definition import Task, problems


class Registry:
    """Validated tasks by name. Building it refuses any invalid or duplicate task."""

    def __init__(self, tasks: Iterable[tuple[str, Task]] = ()) -> None:
        """``tasks`` are ``(origin, task)`` pairs; origin (a file) names where a problem is."""
        self._tasks: dict[str, Task] = {}
        origins: dict[str, str] = {}
        found: list[tuple[str, str, str]] = []
        for origin, definition in tasks:
            bad = problems(definition)
            found += [(origin, f"{_label(definition)}.{f}", m) for f, m in bad]
            if bad:
                continue
            if definition.name in self._tasks:
                found.append(
                    (
                        origin,
                        f"{definition.name}.name",
                        f"duplicate task name, also defined in {origins[definition.name]}",
                    )
                )
                continue
            self._tasks[definition.name] = definition
            origins[definition.name] = origin
        if found:
            raise TaskDefinitionError(found)

    def get(self, name: str) -> Task:
        try:
            return self._tasks[name]
        except KeyError:
            raise UnknownTask(name) from None

    def __contains__(self, name: object) -> bool:
        return name in self._tasks

    def __iter__(self) -> Iterator[Task]:
        return iter(sorted(self._tasks.values(), key=lambda t: t.name))

    def __len__(self) -> int:
        return len(self._tasks)

    def periodic(self) -> list[Task]:
        return [t for t in self if t.periodic]


def _label(definition: Task) -> str:
    name = definition.name
    return name if isinstance(name, str) and name.strip() else "<task>"
