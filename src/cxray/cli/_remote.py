"""The CLI through a running server: one DuckDB store, many processes.

While ``cxray serve`` holds a DuckDB store, no other process may open the file.
The server announces itself in a file beside the store
(:func:`cxray.store.find_server`); a command whose store is served is sent to
the server's local-only endpoint (``POST /api/_local/cli``), which runs the very
same Typer command in the server, over the server's own workspace, and answers
with its output and exit code. The user sees what a local run prints.

Two halves live here:

* the client, :func:`forward_if_served`, standard library only (urllib), called
  by ``main`` before anything heavy is imported;
* the server's side, :func:`run_forwarded`, which the app (``cxray.app``) hands to
  the API's local route: it captures output per thread, resolves the client's
  relative paths against the client's folder, and calls :func:`cxray.cli._app.run`.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

__all__ = ["CLI_PATH", "forward_if_served", "run_forwarded"]

#: the server's local-only endpoint that runs a command
CLI_PATH = "/api/_local/cli"

#: options of the root command that take a value
_ROOT_VALUES = ("--db", "--config")
#: commands never forwarded: the server itself
_LOCAL_ONLY = {"serve"}
#: environment a command's output depends on, sent along
_ENV = ("NO_COLOR", "FORCE_COLOR", "COLORTERM", "TERM", "CXRAY_DEBUG")


# ---------------------------------------------------------------- the client


def _served_module() -> Any:
    """``cxray.store._served`` without importing the store package (Ibis, DuckDB: ~2 s)."""
    import importlib
    import importlib.util

    name = "cxray.store._served"
    if name in sys.modules:
        return sys.modules[name]
    if "cxray.store" in sys.modules:
        return importlib.import_module(name)

    path = Path(__file__).resolve().parent.parent / "store" / "_served.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[name] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _root_options(argv: list[str]) -> tuple[dict[str, str], int] | None:
    """The root options before the command (``--db``, ``--config``) and the command's index;
    None when there is no command, or help or an option this parser does not know."""
    found: dict[str, str] = {}
    i = 0
    while i < len(argv):
        tok = argv[i]
        if not tok.startswith("-"):
            return found, i
        name, eq, value = tok.partition("=")
        if name not in _ROOT_VALUES:
            return None  # --help, or a mistake the local run reports
        if not eq:
            if i + 1 >= len(argv):
                return None
            value = argv[i + 1]
            i += 1
        found[name] = value
        i += 1
    return None


def _terminal_width() -> int:
    """The width Rich would print at here: ``COLUMNS``, else the first of stdin, stdout and
    stderr that is a terminal, else 80."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    for fd in (0, 1, 2):
        try:
            return os.get_terminal_size(fd).columns or 80
        except (AttributeError, ValueError, OSError):
            continue
    return 80


def forward_if_served(argv: list[str]) -> int | None:
    """Run ``argv`` in the server that holds its store and return the exit code.

    None when the command should run here: no command, help, ``cxray serve``, a
    store that is not a DuckDB file, no running server, or a server that does
    not answer (its file is stale: the local run then says what it finds).
    """
    parsed = _root_options(argv)
    if parsed is None:
        return None
    options, at = parsed
    rest = argv[at:]
    if rest[0] in _LOCAL_ONLY or "--help" in rest:
        return None
    db = options.get("--db") or os.environ.get("CXRAY_DB") or "cxray.duckdb"
    served = _served_module().find_server(db)
    if served is None:
        return None
    cwd = os.getcwd()
    config = options.get("--config") or os.environ.get("CXRAY_CONFIG") or "cxray.toml"
    # the server has its folder and environment, not ours: the store and config go as we
    # name them, and the server reads relative paths in our folder (``cwd``)
    args = ["--db", db, "--config", config, *rest]
    body = {
        "argv": args,
        "cwd": cwd,
        "width": min(max(_terminal_width(), 20), 1000),
        "stdout_tty": sys.stdout.isatty(),
        "env": {k: os.environ[k] for k in _ENV if k in os.environ},
    }
    request = urllib.request.Request(
        served.url + CLI_PATH,
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json", _header(): served.token},
        method="POST",
    )
    # no proxy: the server is on this machine, and an HTTP(S)_PROXY must not see the token
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    waiting = _WaitingNote(served.pid)
    try:
        try:
            with opener.open(request, timeout=None) as response:  # as long as it takes
                answer = json.loads(response.read().decode("utf-8"))
        finally:
            waiting.stop()  # before anything else is printed
    except urllib.error.HTTPError as exc:
        message = _error_message(exc)
        sys.stderr.write(f"error: the server at {served.url} refused the command: {message}\n")
        return 1
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ConnectionRefusedError):
            return None  # nobody listens there any more (a stale file): run here
        sys.stderr.write(f"error: cannot reach the server at {served.url}: {exc.reason}\n")
        return 1
    except (OSError, http.client.HTTPException) as exc:  # it stopped mid-command
        sys.stderr.write(
            f"error: the server at {served.url} stopped answering ({type(exc).__name__}); "
            "its log says whether the command finished\n"
        )
        return 1
    except KeyboardInterrupt:
        sys.stderr.write(
            f"interrupted: stopped waiting; the command goes on in the server at {served.url}\n"
        )
        return 130
    sys.stdout.write(answer.get("stdout", ""))
    sys.stdout.flush()
    sys.stderr.write(answer.get("stderr", ""))
    sys.stderr.flush()
    return int(answer.get("code", 1))


class _WaitingNote:
    """On a terminal, after two seconds: one line saying where the command runs (its output
    comes when it ends), erased before the output is printed."""

    def __init__(self, pid: int, after: float = 2.0):
        self._shown = False
        self._lock = threading.Lock()
        self._timer = None
        if sys.stderr.isatty():
            self._timer = threading.Timer(after, self._show, args=(pid,))
            self._timer.daemon = True
            self._timer.start()

    def _show(self, pid: int) -> None:
        with self._lock:
            if self._timer is not None:
                sys.stderr.write(f"running in cxray serve (pid {pid})...")
                sys.stderr.flush()
                self._shown = True

    def stop(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._shown:
                sys.stderr.write("\r\x1b[K")
                sys.stderr.flush()
                self._shown = False


def _header() -> str:
    return _served_module().LOCAL_TOKEN_HEADER


def _error_message(exc: urllib.error.HTTPError) -> str:
    try:
        return json.loads(exc.read().decode("utf-8"))["error"]["message"]
    except Exception:
        return f"HTTP {exc.code}"


# ---------------------------------------------------------------- the server's side

_capture = threading.local()
_install_lock = threading.Lock()


class _ThreadStream:
    """``sys.stdout`` / ``sys.stderr`` for a server: a thread running a forwarded command
    writes into its own buffer; every other thread writes where the stream went before."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, real: Any, which: str):
        self._real = real
        self._which = which

    def _target(self) -> Any:
        buffers = getattr(_capture, "buffers", None)
        return buffers[self._which] if buffers is not None else self._real

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()

    def isatty(self) -> bool:
        if getattr(_capture, "buffers", None) is not None:
            return self._which == "stdout" and _capture.tty
        return self._real.isatty()

    def fileno(self) -> int:
        if getattr(_capture, "buffers", None) is not None:
            raise OSError("a forwarded command's output has no file descriptor")
        return self._real.fileno()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _install() -> None:
    """Put the per-thread streams in place (once) and teach the Rich consoles to ask them."""
    with _install_lock:
        if not isinstance(sys.stdout, _ThreadStream):
            sys.stdout = _ThreadStream(sys.stdout, "stdout")
        if not isinstance(sys.stderr, _ThreadStream):
            sys.stderr = _ThreadStream(sys.stderr, "stderr")
        from cxray.cli import _output

        thread_console = _thread_console_class()
        for console in (_output.console, _output.err_console):
            if not isinstance(console, thread_console):
                console.__class__ = thread_console


_console_class: list[type] = []


def _thread_console_class() -> type:
    if _console_class:
        return _console_class[0]
    from rich.console import Console, ConsoleDimensions

    class ThreadConsole(Console):
        """A Rich console whose width and colours follow the forwarded command's terminal."""

        @property
        def size(self) -> ConsoleDimensions:
            width = getattr(_capture, "width", None)
            if getattr(_capture, "buffers", None) is not None and width:
                return ConsoleDimensions(width, 25)
            return Console.size.fget(self)  # type: ignore[attr-defined]

        @size.setter
        def size(self, new_size: tuple[int, int]) -> None:
            Console.size.fset(self, new_size)  # type: ignore[attr-defined]

        @property
        def _color_system(self) -> Any:  # a data descriptor wins over the instance's value
            if getattr(_capture, "buffers", None) is not None:
                return _capture.color_system if not self.stderr or _capture.tty else None
            return self.__dict__.get("_color_system")

        @_color_system.setter
        def _color_system(self, value: Any) -> None:
            self.__dict__["_color_system"] = value

    _console_class.append(ThreadConsole)
    return ThreadConsole


def _color_system(tty: bool, env: dict[str, str]) -> str | None:
    if not tty or "NO_COLOR" in env or env.get("TERM") == "dumb":
        return None
    if env.get("COLORTERM") in ("truecolor", "24bit"):
        return "truecolor"
    return "256" if "256" in env.get("TERM", "") else "standard"


def _is_path(annotation: Any) -> bool:
    """Whether a parameter annotated so holds paths (``Path``, ``Path | None``, ``list[Path]``)."""
    import typing

    if isinstance(annotation, type):
        return issubclass(annotation, os.PathLike)
    return any(_is_path(a) for a in typing.get_args(annotation))


def _absolute_paths(argv: list[str], cwd: str) -> tuple[list[str], dict[str, str]]:
    """``argv`` with every value of a path parameter made absolute against ``cwd``, and
    what each absolute path was as typed (messages name a file as the user wrote it)."""
    import typer.main

    from cxray.cli._app import _register_commands, app

    _register_commands()
    command: Any = typer.main.get_command(app)
    out = list(argv)
    typed: dict[str, str] = {}
    ctx = command.context_class(command, info_name="cxray", resilient_parsing=True)
    start = 0
    while True:
        parser = command.make_parser(ctx)
        try:
            opts, rest, _ = parser.parse_args(args=list(out[start:]))
        except Exception:  # a usage error: the command itself reports it
            return out, typed
        for param in command.params:
            described = getattr(param, "type_descriptor", None)
            if described is None or param.name not in opts:
                continue
            if described.file_annotation is None and not _is_path(described.annotation):
                continue
            raw = opts[param.name]
            values = raw if isinstance(raw, list | tuple) else [raw]
            for value in values:
                if not isinstance(value, str) or value == "-" or os.path.isabs(value):
                    continue
                absolute = os.path.join(cwd, os.path.expanduser(value))
                typed[absolute] = value
                for i in range(start, len(out)):
                    tok = out[i]
                    if tok == value:
                        out[i] = absolute
                        break
                    name, eq, tail = tok.partition("=")
                    if eq and tail == value and name.startswith("-"):
                        out[i] = f"{name}={absolute}"
                        break
        if not hasattr(command, "get_command") or not rest:
            return out, typed
        sub = command.get_command(ctx, rest[0])
        if sub is None:
            return out, typed
        start = len(out) - len(rest) + 1  # the sub-command's arguments begin after its name
        ctx = sub.context_class(sub, info_name=rest[0], parent=ctx, resilient_parsing=True)
        command = sub


def _as_typed(text: str, typed: dict[str, str]) -> str:
    for absolute in sorted(typed, key=len, reverse=True):
        text = text.replace(absolute, typed[absolute])
    return text


def run_forwarded(
    argv: list[str],
    *,
    cwd: str,
    width: int | None = None,
    stdout_tty: bool = False,
    env: dict[str, str] | None = None,
) -> tuple[int, str, str]:
    """Run a forwarded command in this (serving) process: ``(exit code, stdout, stderr)``.

    Output is captured for this thread only; other requests and the server's own
    log go on as before. ``cxray serve`` is refused: one server per store.
    """
    import io

    from cxray.cli._app import _error, run
    from cxray.workspace import resolving_from

    _install()
    env = env or {}
    args, typed = _absolute_paths(list(argv), cwd)
    _capture.buffers = {"stdout": io.StringIO(), "stderr": io.StringIO()}
    _capture.width = width
    _capture.tty = stdout_tty
    _capture.color_system = _color_system(stdout_tty, env)
    try:
        parsed = _root_options(args)
        if parsed is not None and args[parsed[1]] in _LOCAL_ONLY:
            _error("the store is already served by this server; `cxray serve` runs locally")
            code = 1
        else:
            try:
                with resolving_from(cwd):  # the store as the client names it
                    code = run(args)
            except SystemExit as exc:  # a command that exits on its own
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except Exception as exc:  # CXRAY_DEBUG=1: run() re-raises
                import traceback

                _capture.buffers["stderr"].write(traceback.format_exc())
                code = 70
                del exc
        out = _as_typed(_capture.buffers["stdout"].getvalue(), typed)
        err = _as_typed(_capture.buffers["stderr"].getvalue(), typed)
    finally:
        _capture.buffers = None
        _capture.width = None
    return code, out, err
