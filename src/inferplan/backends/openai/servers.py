"""Several OpenAI-compatible servers of one model as one backend.

``--model http://gpu0:8000/v1,http://gpu1:8000/v1``: every server is opened as its
own :class:`~inferplan.backends.openai.backend.OpenAIBackend` (its own ``n``
probe, connection pool and ``--parallel`` requests in flight), and each
submitted request goes whole to the server with the fewest samples outstanding,
so a slow or busy server gets less. A request's samples stay on one server, which
keeps its prompt cache warm there. Completions of all servers come back in one
finish order; cancelling a request cancels it where it runs.
"""

from __future__ import annotations

import queue
from dataclasses import replace
from typing import Iterator, Sequence

from inferplan.backends.base import BackendInfo, Completion, SampleRequest
from inferplan.backends.openai.backend import OpenAIBackend
from inferplan.backends.openai.stream import OpenAIStream
from inferplan.errors import InputError


def server_urls(spec: str) -> list[str]:
    """The comma-separated base URLs of a model spec (one or more)."""
    urls = [u.strip() for u in spec.split(",") if u.strip()]
    if len(set(urls)) != len(urls):
        raise InputError(f"--model lists a server twice: {spec}")
    return urls


class ServersBackend:
    """One backend over several servers (see the module docstring)."""

    name = "openai"

    def __init__(self, urls: Sequence[str], settings) -> None:
        self.servers: list[OpenAIBackend] = []
        try:
            for url in urls:
                self.servers.append(OpenAIBackend(url, settings))
        except BaseException:
            self.close()
            raise
        self.samples_sent = [0] * len(self.servers)  # per server, for reports and tests
        first = self.servers[0].info
        self.info = BackendInfo(
            name="openai", model=",".join(s.base_url for s in self.servers), device="server",
            supports_shared_prefix=all(s.n_supported for s in self.servers),
            parallel_slots=sum(s.parallel for s in self.servers),
            settings={"servers": [s.info.settings for s in self.servers], "model_name": first.settings["model_name"]},
        )

    def sample(self, requests: Sequence[SampleRequest]) -> ServersStream:
        return ServersStream(self, requests)

    def close(self) -> None:
        for server in self.servers:
            server.close()


class ServersStream:
    """One SampleStream over one OpenAIStream per server, sharing their results queue."""

    def __init__(self, backend: ServersBackend, requests: Sequence[SampleRequest]) -> None:
        self._b = backend
        self._results: queue.Queue = queue.Queue()
        self._streams = [OpenAIStream(server, [], self._results, tag=i) for i, server in enumerate(backend.servers)]
        self._where: list[tuple[int, int]] = []  # stream-wide number → (server, its number there)
        self._number: list[dict[int, int]] = [{} for _ in self._streams]  # per server: its number → ours
        self.tick = None  # see base.SampleStream
        self.submit(requests)

    def submit(self, requests: Sequence[SampleRequest]) -> list[int]:
        numbers = []
        for request in requests:
            i = min(range(len(self._streams)), key=lambda k: self._streams[k].outstanding)
            local = self._streams[i].submit([request])[0]
            number = len(self._where)
            self._where.append((i, local))
            self._number[i][local] = number
            self._b.samples_sent[i] += request.n
            numbers.append(number)
        return numbers

    def cancel(self, request: int) -> None:
        i, local = self._where[request]
        self._streams[i].cancel(local)

    def __iter__(self) -> Iterator[Completion]:
        try:
            while any(s.outstanding for s in self._streams):
                try:
                    i, item = self._results.get(timeout=0.2 if self.tick is None else 0.02)
                except queue.Empty:
                    if self.tick is not None:
                        self.tick()
                    continue
                completion = self._streams[i].accept(item)
                if completion is not None:
                    yield replace(completion, request=self._number[i][completion.request])
        finally:
            for s in self._streams:
                s.cancel_all()
