"""The Lua scripts of the Redis backend, read from ``lua/*.lua``.

Each script file starts with a header naming its KEYS and ARGV. Files whose name starts
with ``_`` are fragments (shared local functions), pulled into a script by a line
``--@include _name.lua``; they are never run alone. Every key a script touches arrives
through ``KEYS``: scripts build no key names, so they work on a Redis Cluster whenever the
namespace is hash-tagged.

Scripts run by ``EVALSHA`` with the SHA1 computed here; a server that does not know a script
yet (first use, restart, ``SCRIPT FLUSH``) answers ``NOSCRIPT`` and the backend then registers
the whole set once on that client (``SCRIPT LOAD``) and runs the call again.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

_INCLUDE = re.compile(r"^--@include\s+(\S+)\s*$", re.MULTILINE)

#: The names of the scripts the backend calls; ``load_scripts`` checks that each exists.
SCRIPT_NAMES = (
    "acquire_leader",
    "claim",
    "claim_many",
    "clean_worker",
    "delete_queue",
    "ensure_delayed",
    "finish",
    "finish_many",
    "incr_stats",
    "promote",
    "push",
    "push_delayed",
    "register_worker",
    "release",
    "release_leader",
    "retry_failed",
    "unregister_worker",
    "unschedule",
)


@dataclass(frozen=True)
class LuaScript:
    """One script: its file name (without ``.lua``), full source and SHA1."""

    name: str
    source: str
    sha: str


class ScriptSet(Mapping[str, LuaScript]):
    """The backend's scripts by name, loaded from the package's ``lua`` folder."""

    def __init__(self, scripts: Mapping[str, LuaScript]) -> None:
        self._scripts = dict(scripts)

    def __getitem__(self, name: str) -> LuaScript:
        return self._scripts[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._scripts)

    def __len__(self) -> int:
        return len(self._scripts)


def _read(folder: Traversable, name: str) -> str:
    return folder.joinpath(name).read_text(encoding="utf-8")


def _expand(folder: Traversable, text: str, seen: tuple[str, ...] = ()) -> str:
    def include(match: re.Match[str]) -> str:
        name = match.group(1)
        if not name.startswith("_") or name in seen:
            raise ValueError(f"bad Lua include {name!r}")
        return _expand(folder, _read(folder, name), (*seen, name))

    return _INCLUDE.sub(include, text)


def load_scripts() -> ScriptSet:
    """Read every script of ``lua/`` with its fragments expanded."""
    folder = resources.files(__package__).joinpath("lua")
    scripts: dict[str, LuaScript] = {}
    for entry in folder.iterdir():
        if not entry.name.endswith(".lua") or entry.name.startswith("_"):
            continue
        name = entry.name[: -len(".lua")]
        source = _expand(folder, entry.read_text(encoding="utf-8"))
        sha = hashlib.sha1(source.encode("utf-8")).hexdigest()
        scripts[name] = LuaScript(name, source, sha)
    missing = sorted(set(SCRIPT_NAMES) - set(scripts))
    if missing:
        raise RuntimeError(f"Lua scripts missing from the package: {', '.join(missing)}")
    return ScriptSet(scripts)
