"""``POST /api/_local/cli``: a ``cxray`` command run in the server, for a process on this machine.

While ``cxray serve`` holds a DuckDB store, the CLI of the same user sends its
commands here (``cxray.cli._remote``) instead of failing on the lock. The
command runs in this process over the server's own workspace, so its results
are those of a local run and its writes take the server's write lock.

Only the store's local owner may call it: a loopback client with the serve
file's token (``X-Cxray-Local-Token``); an API key is not enough, since a
command reads and writes files as the user who started the server. The app
that ``cxray serve`` runs provides the runner (``app.state.local_cli``);
without it the route answers 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from cxray.api._auth import local_owner
from cxray.exceptions import AuthenticationError, NotFoundError
from cxray.store import LOCAL_TOKEN_HEADER

router = APIRouter(include_in_schema=False)


class CliCommand(BaseModel):
    #: the arguments after ``cxray``, with ``--db`` and ``--config`` as absolute paths
    argv: list[str]
    #: the client's folder: relative paths in ``argv`` are resolved against it
    cwd: str
    width: int | None = Field(default=None, ge=20, le=1000)
    stdout_tty: bool = False
    env: dict[str, str] = Field(default_factory=dict)


def _owner(request: Request) -> None:
    if local_owner(request) is None:
        raise AuthenticationError(f"this endpoint needs the {LOCAL_TOKEN_HEADER} header")


@router.post("/_local/cli")
def run_cli(
    command: CliCommand, request: Request, _: Annotated[None, Depends(_owner)]
) -> dict[str, Any]:
    """Run one command (in a worker thread: several at once) and answer its output."""
    runner = getattr(request.app.state, "local_cli", None)
    if runner is None:
        raise NotFoundError("this server does not run commands for the CLI")
    code, out, err = runner(
        command.argv,
        cwd=command.cwd,
        width=command.width,
        stdout_tty=command.stdout_tty,
        env=command.env,
    )
    return {"code": code, "stdout": out, "stderr": err}
