"""Imports over HTTP: the same validation, all-or-nothing and idempotence as `cxray import`.

The uploaded files are saved to a temporary folder under their own names (so
errors name them as the user knows them) and handed to ``Workspace.import_files``.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, UploadFile

from cxray.api._auth import Principal, analyst
from cxray.api._errors import ERROR_RESPONSES, ErrorEnvelope
from cxray.api._json import CXJSONResponse
from cxray.api._state import ApiContext, context
from cxray.ingest import parse_mapping
from cxray.schema import table_spec

router = APIRouter(tags=["imports"])


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
        413: {"model": ErrorEnvelope, "description": "body over CXRAY_MAX_UPLOAD_MB"},
        422: {
            "model": ErrorEnvelope,
            "description": "rows break the contract (details: file, row, column, value, rule, "
            "count) or a file cannot be read; nothing written",
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
    with tempfile.TemporaryDirectory(prefix="cxray-upload-") as tmp:
        paths = []
        for i, upload in enumerate(files):
            folder = Path(tmp, str(i))  # one folder each: two files may share a name
            folder.mkdir()
            path = folder / _safe_name(upload.filename, i)
            with path.open("wb") as out:
                shutil.copyfileobj(upload.file, out, 1 << 20)
            paths.append(path)
        with cx.lock:
            report = cx.ws.import_files(
                name, paths, source=source or None, mapping=mapping, dry_run=dry_run
            )
    return CXJSONResponse(report.to_dict(), status_code=200 if dry_run else 201)
