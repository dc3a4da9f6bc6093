"""Imports over HTTP: the same validation, all-or-nothing and idempotence as `cxray import`.

The uploaded files are saved to a temporary folder under their own names (so
errors name them as the user knows them) and handed to ``Workspace.import_files``.
The route is a plain function, so it runs in a worker thread, never on the event
loop; the workspace takes the write lock only for the import's short steps, so
survey submissions keep being answered while a file is read and checked.

The temporary folders (``cxray-upload-<pid>-*``) live in one folder of this
user's, ``<temp>/cxray-uploads-<uid>`` (mode 0700); a server killed mid-upload
leaves its folder behind, and :func:`sweep_stale_uploads` (run when ``cxray
serve`` starts) removes those whose process is gone or that are older than a day.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import time
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, UploadFile

from cxray.api._auth import Principal, analyst
from cxray.api._errors import ERROR_RESPONSES, ErrorEnvelope, error_response
from cxray.api._json import CXJSONResponse
from cxray.api._state import ApiContext, context
from cxray.ingest import parse_mapping
from cxray.schema import table_spec

__all__ = ["router", "sweep_stale_uploads", "uploads_folder"]

router = APIRouter(tags=["imports"])

#: an upload folder older than this is removed at the next start, whoever made it
STALE_AFTER_S = 24 * 3600
_PREFIX = "cxray-upload-"


def _uploads_path() -> Path:
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"cxray-uploads-{uid}"


def uploads_folder() -> Path:
    """This user's folder of upload folders (made 0700); a folder of that name that is a
    link or someone else's is not used: the uploads then go to the temp folder itself."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    folder = _uploads_path()
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    st = folder.lstat()
    if not stat.S_ISDIR(st.st_mode) or (hasattr(os, "getuid") and st.st_uid != uid):
        return Path(tempfile.gettempdir())
    return folder


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone's process: not ours to judge
    return True


def sweep_stale_uploads(now: float | None = None) -> list[str]:
    """Remove upload folders left by a server that died mid-upload (its process is gone)
    or older than a day; returns their names. Run when ``cxray serve`` starts."""
    if not _uploads_path().is_dir():
        return []  # no upload yet: nothing to make or remove
    folder = uploads_folder()
    now = time.time() if now is None else now
    removed = []
    for entry in folder.glob(f"{_PREFIX}*"):
        pid_text = entry.name.removeprefix(_PREFIX).split("-", 1)[0]
        try:
            old = now - entry.lstat().st_mtime > STALE_AFTER_S
        except OSError:
            continue
        dead = pid_text.isdigit() and int(pid_text) != os.getpid() and not _alive(int(pid_text))
        if (old or dead) and entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
    return removed


def _safe_name(name: str | None, index: int) -> str:
    base = Path((name or "").replace("\\", "/")).name.strip()
    return base if base not in ("", ".", "..") else f"upload-{index + 1}"


@router.post(
    "/imports/{table}",
    status_code=201,
    summary="Import uploaded files into a table: validated, all or nothing, idempotent",
    response_class=CXJSONResponse,
    responses={
        **ERROR_RESPONSES,
        200: {"description": "a dry run: what would change; nothing written"},
        404: {"model": ErrorEnvelope, "description": "unknown table"},
        413: {
            "model": ErrorEnvelope,
            "description": "body over CXRAY_MAX_UPLOAD_MB, or a file over [imports.limits] "
            "max_file_mb; nothing written",
        },
        422: {
            "model": ErrorEnvelope,
            "description": "rows break the contract (details: file, row, column, value, rule, "
            "count), a file cannot be read, or it is over [imports.limits] (columns, line "
            "length, cells); nothing written",
        },
    },
)
def import_files(
    table: str,
    files: Annotated[
        list[UploadFile], File(description="CSV, Parquet, JSON Lines or vendor files")
    ],
    cx: Annotated[ApiContext, Depends(context)],
    _: Annotated[Principal, Depends(analyst)],
    source: Annotated[
        str | None,
        Form(
            description="a named source of cxray.toml ([sources.NAME]), looked up first, or a "
            "vendor reader (qualtrics, typeform, ...); default: detected from the files"
        ),
    ] = None,
    map_: Annotated[
        list[str],
        Form(
            alias="map",
            description="TARGET=EXPRESSION, repeatable, as `cxray import --map`: a column "
            "(name or #N), sql:EXPRESSION, a constant ('web' or const:web), a value map "
            "(Churn:Yes->true,No->false), a derived date (tenure:months-before:2024-01-31); "
            "TARGET - leaves a column out; replaces that target of a named source",
        ),
    ] = [],  # noqa: B006 (FastAPI reads the default)
    dry_run: Annotated[bool, Form(description="report what would change; write nothing")] = False,
) -> CXJSONResponse:
    name = table_spec(table).name  # an unknown table is a 404 before the files are saved
    mapping = parse_mapping(map_, option="map")
    limits = cx.ws.config.imports.limits
    most = limits.max_file_bytes if limits.max_file_mb else 0
    prefix = f"{_PREFIX}{os.getpid()}-"
    with tempfile.TemporaryDirectory(prefix=prefix, dir=uploads_folder()) as tmp:
        paths = []
        for i, upload in enumerate(files):
            folder = Path(tmp, str(i))  # one folder each: two files may share a name
            folder.mkdir()
            path = folder / _safe_name(upload.filename, i)
            if not _save(upload, path, most):
                return error_response(
                    413,
                    "payload_too_large",
                    f"{path.name}: over the limit of {limits.max_file_mb:,} MiB per file "
                    "([imports.limits] max_file_mb); nothing was written",
                )
            paths.append(path)
        # the workspace takes the write lock only for short steps: collection goes on
        report = cx.ws.import_files(
            name, paths, source=source or None, mapping=mapping, dry_run=dry_run
        )
    return CXJSONResponse(report.to_dict(), status_code=200 if dry_run else 201)


def _save(upload: UploadFile, path: Path, most: int) -> bool:
    """Copy an upload to ``path``; False (and stop) once it passes ``most`` bytes (0: no limit)."""
    size = 0
    with path.open("wb") as out:
        while chunk := upload.file.read(1 << 20):
            size += len(chunk)
            if most and size > most:
                return False
            out.write(chunk)
    return True
