"""A profile file as one object: its path, typed header, and (lazily) its sample table."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from inferplan._util.hashing import sha256_file
from inferplan.profiles.header import ProfileHeader
from inferplan.profiles.store import SampleTable, load_profile, read_header


@dataclass(frozen=True, eq=False)
class Profile:
    """What ``fit``, ``plan`` and ``simulate`` take; ``Profile.open(path)`` or ``inferplan.profile(...)``."""

    path: Path
    header: ProfileHeader
    run: object | None = field(default=None, repr=False)  # the ProfileResult of the run that just wrote it

    @classmethod
    def open(cls, path: Path | str) -> Profile:
        path = Path(path)
        return cls(path, ProfileHeader.parse(read_header(path), path))

    @cached_property
    def table(self) -> SampleTable:
        """Every sample, as numpy arrays (read on first use, once)."""
        return load_profile(self.path)

    @cached_property
    def sha256(self) -> str:
        return sha256_file(self.path)


def as_profile(profile: Profile | Path | str) -> Profile:
    """A :class:`Profile` from a Profile or a path."""
    return profile if isinstance(profile, Profile) else Profile.open(profile)
