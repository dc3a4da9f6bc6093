"""Public survey pages: plain HTML forms that work without JavaScript, in steps.

``GET /s/NAME`` shows the survey's first step (``?t=TOKEN`` for an invitation,
``?lang=de`` for a language, ``?embed=1`` for the compact layout an iframe
shows), with a signed form token in a hidden field (``ft``: proof that an anonymous
answer came from this page, required where the survey's ``require_form_token`` (else
``[surveys.limits]``'s) is on; :class:`cxray.surveys._tokens.FormTokenSigner`);
``POST /s/NAME`` stores the answers through the same collector as the JSON API and
redirects to the next step (follow-ups whose condition holds, such as "what could we do
better?" after a low score) or to the thank-you page. A step whose follow-ups come later
is stored as a partial response at once, so an abandoned survey still counts.
``GET /s/NAME/embed.js`` is a one-line snippet that puts the survey in an iframe on any web
page (the framed page carries its own form token); ``GET /s/NAME/form-token`` gives an
app that posts JSON one (``X-Cxray-Form-Token``).

Pages are accessible: every question is a fieldset with a legend, scales are
native radio buttons (keyboard and screen reader friendly), errors are listed
at the top with links to their questions and tied to them with
``aria-describedby``; the layout is one column that fits a phone.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from cxray.config import Question, SurveyDefinition
from cxray.exceptions import (
    AlreadySubmittedError,
    CXError,
    ExpiredTokenError,
    InvalidTokenError,
    NotFoundError,
    RateLimitedError,
    SubmissionError,
)
from cxray.surveys import (
    Surveys,
    answers_from_form,
    check_answers,
    pick_language,
    scale_of,
    text_in,
    visible,
    words,
)
from cxray.surveys._limits import guard_for
from cxray.surveys._tokens import (
    FORM_TOKEN_FIELD,
    FORM_TOKEN_HEADER,
    FORM_TOKEN_TTL,
    check_form_token,
    form_signer_for,
)
from cxray.web._context import ServerState

__all__ = ["create_survey_router", "survey_environment"]

#: survey pages may be framed anywhere (the embed); nothing else of the app may
_FRAMEABLE = {"Content-Security-Policy": "frame-ancestors *", "Cache-Control": "no-store"}
_MAX_FORM_BYTES = 64 * 1024
_SCALE_WORDS = {
    "nps": ("not_likely", "very_likely"),
    "csat": ("very_dissatisfied", "very_satisfied"),
    "ces": ("very_difficult", "very_easy"),
}


def _question_view(
    survey: SurveyDefinition, q: Question, lang: str, state: ServerState, value: Any
) -> dict[str, Any]:
    default = survey.languages[0]
    w = words(lang)
    view: dict[str, Any] = {
        "id": q.id,
        "type": q.type,
        "text": text_in(q.text, lang, default),
        "required": q.required,
        "value": value,
    }
    bounds = scale_of(q, state.ws.config)
    if bounds is not None:
        lo, hi = bounds
        points = list(range(lo, hi + 1))
        low_word, high_word = _SCALE_WORDS.get(q.type, (None, None))
        low = text_in(q.low_label, lang, default) or (w[low_word] if low_word else str(lo))
        high = text_in(q.high_label, lang, default) or (w[high_word] if high_word else str(hi))
        if q.type == "ces" and state.ws.config.scales.ces.direction == "lower_is_better":
            low, high = w["very_easy"], w["very_difficult"]
        view.update(points=points, low=low, high=high)
    elif q.type in ("single", "multiple"):
        choices = q.choices or ()
        labels = choices if isinstance(choices, dict) else {c: c for c in choices}
        view["choices"] = [(v, text_in(label, lang, default)) for v, label in labels.items()]
    elif q.type == "text":
        view["max_length"] = q.max_length
    return view


def _step(raw: object, survey: SurveyDefinition) -> int:
    """The step a request names, clamped to the survey's steps (0 when it names none)."""
    try:
        return max(0, min(int(str(raw or "0")), survey.steps - 1))
    except ValueError:
        return 0


def survey_environment() -> Environment:
    """The templates of the survey pages (HTML escaped; the embed snippet is JavaScript)."""
    return Environment(
        loader=PackageLoader("cxray.web", "templates"),
        autoescape=select_autoescape(["html", "js"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def create_survey_router(state: ServerState, env: Environment | None = None) -> APIRouter:
    """The public survey routes over the server's state."""
    env = env or survey_environment()
    router = APIRouter(include_in_schema=False)

    def surveys() -> Surveys:
        return state.ws.surveys

    def message(
        request: Request, survey: SurveyDefinition | None, lang: str, key: str, status: int
    ) -> HTMLResponse:
        w = words(lang)
        title = text_in(survey.title, lang, survey.languages[0]) if survey else "cxray"
        html = env.get_template("survey_message.html").render(
            lang=lang, w=w, title=title, message=w[key], embed=request.query_params.get("embed")
        )
        return HTMLResponse(html, status_code=status, headers=_FRAMEABLE)

    def page(
        request: Request,
        name: str,
        survey: SurveyDefinition,
        *,
        lang: str,
        step: int,
        token: str | None,
        sid: str,
        answers: dict[str, Any],
        values: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        status: int = 200,
        embed: bool = False,
        notice: str | None = None,
    ) -> HTMLResponse:
        w = words(lang)
        default = survey.languages[0]
        shown = [q for q in visible(survey, answers) if survey.step_of(q) == step]
        values = values if values is not None else answers
        questions = [_question_view(survey, q, lang, state, values.get(q.id)) for q in shown]
        err_text = {}
        for qid, key in (errors or {}).items():
            q = next((x for x in survey.questions if x.id == qid), None)
            bounds = scale_of(q, state.ws.config) if q else None
            err_text[qid] = w[key].format(
                min=bounds[0] if bounds else "",
                max=bounds[1] if bounds else (q.max_length if q else ""),
            )
        steps = survey.steps
        html = env.get_template("survey.html").render(
            lang=lang,
            w=w,
            name=name,
            title=text_in(survey.title, lang, default),
            intro=text_in(survey.intro, lang, default) if step == 0 else "",
            questions=questions,
            errors=err_text,
            token=token,
            sid=sid,
            step=step,
            steps=steps,
            languages=survey.languages if len(survey.languages) > 1 else (),
            embed=embed,
            last=not any(survey.step_of(q) > step for q in survey.questions),
            form_token=None if token else _form_token(name),
            form_token_field=FORM_TOKEN_FIELD,
            notice=notice,
        )
        return HTMLResponse(html, status_code=status, headers=_FRAMEABLE)

    def _form_token(name: str) -> str | None:
        """A fresh form token for an anonymous page (None where no key can be made, e.g. a
        read-only store: then a survey that requires one refuses, saying why)."""
        try:
            return form_signer_for(state.ws).issue(name)
        except CXError:
            return None

    def _open(
        request: Request, name: str, token: str | None, lang_asked: str | None
    ) -> tuple[SurveyDefinition, str, Any]:
        survey = surveys().get(name)
        invitation = surveys().verify_token(name, token) if token else None
        asked = lang_asked or (invitation.language if invitation else None)
        lang = pick_language(survey, asked, request.headers.get("accept-language"))
        if invitation is None and not survey.public:
            raise InvalidTokenError(f"survey {name!r} is answered by invitation only")
        return survey, lang, invitation

    def _too_many(
        request: Request, survey: SurveyDefinition, lang: str, exc: RateLimitedError
    ) -> HTMLResponse:
        minutes = max(1, -(-exc.retry_after // 60))
        html = env.get_template("survey_message.html").render(
            lang=lang, w=words(lang), title=text_in(survey.title, lang, survey.languages[0]),
            message=f"Too many answers from your network right now. Please try again in "
            f"{minutes} minute{'s' if minutes > 1 else ''}; your answers were not saved.",
            embed=request.query_params.get("embed"),
        )  # fmt: skip
        headers = {**_FRAMEABLE, "Retry-After": str(exc.retry_after)}
        return HTMLResponse(html, status_code=429, headers=headers)

    def _fail(request: Request, name: str, lang: str | None, exc: CXError) -> HTMLResponse:
        try:
            survey = surveys().get(name)
        except NotFoundError:
            return message(request, None, lang or "en", "invalid", 404)
        lang = lang or survey.languages[0]
        if isinstance(exc, ExpiredTokenError):
            return message(request, survey, lang, "expired", 410)
        if isinstance(exc, AlreadySubmittedError):
            return message(request, survey, lang, "already", 409)
        if isinstance(exc, InvalidTokenError):
            key = "invalid" if "invitation only" not in str(exc) else "closed"
            return message(request, survey, lang, key, 403)
        raise exc

    @router.get("/s/{name}", response_class=HTMLResponse)
    def show(request: Request, name: str) -> Response:
        q = request.query_params
        token = q.get("t") or None
        try:
            survey, lang, invitation = _open(request, name, token, q.get("lang"))
        except CXError as exc:
            return _fail(request, name, q.get("lang"), exc)
        sid = q.get("sid")
        if sid is not None and not surveys().form_sid_ok(name, sid):
            sid = None  # not a session this server began: a fresh page, never another's answers
        fresh = sid is None and invitation is None  # a new visitor: nothing stored yet
        sid = sid or surveys().new_form_sid(name)
        rid = surveys().response_id_for(name, invitation, sid)
        stored = None if fresh else surveys().submission(rid)
        if stored is not None and stored["completed"]:
            return message(request, survey, lang, "already", 200)
        answers = stored["answers"] if stored else {}
        step = _step(q.get("step"), survey)
        return page(
            request, name, survey, lang=lang, step=step, token=token, sid=sid,
            answers=answers, embed=q.get("embed") == "1",
        )  # fmt: skip

    @router.post("/s/{name}", response_class=HTMLResponse)
    async def answer(request: Request, name: str) -> Response:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > _MAX_FORM_BYTES:
            return HTMLResponse("The answers are too long.", status_code=413)
        form = await request.form()
        fields = {k: form.getlist(k) for k in form}
        token = (form.get("t") or None) if isinstance(form.get("t"), str) else None
        lang_asked = form.get("lang") if isinstance(form.get("lang"), str) else None
        try:
            survey, lang, invitation = _open(request, name, token, lang_asked)
        except CXError as exc:
            return _fail(request, name, lang_asked, exc)
        address = request.client.host if request.client else "unknown"
        sid = form.get("sid") if isinstance(form.get("sid"), str) else ""
        if not (sid and surveys().form_sid_ok(name, sid)):  # only a session this server
            sid = surveys().new_form_sid(name)  # began continues a response (signed sid)
        embed = form.get("embed") == "1"
        step = _step(form.get("step"), survey)
        if invitation is None:  # anonymous: the page's form token, where required
            try:
                check_form_token(state.ws, name, form.get(FORM_TOKEN_FIELD), survey)
            except InvalidTokenError as exc:  # shown again with a fresh token; nothing stored
                new, _ = answers_from_form(survey, fields, state.ws.config)
                kept = surveys().submission(surveys().response_id_for(name, None, sid))
                answers = {**(kept["answers"] if kept else {}), **new}
                return page(
                    request, name, survey, lang=lang, step=step, token=None, sid=sid,
                    answers=answers, status=403, embed=embed,
                    notice="Your answers were not saved: this form has expired or did not "
                    "come from this survey's page. They are filled in below: please send them "
                    f"again. ({exc})",
                )  # fmt: skip
        guard = None if invitation else guard_for(state.ws)
        if guard is not None:  # anonymous: rate-limited ([surveys.limits])
            try:
                guard.admit(name, address)
            except RateLimitedError as exc:
                return _too_many(request, survey, lang, exc)
        sv = surveys()
        rid = sv.response_id_for(name, invitation, sid)
        stored = sv.submission(rid)
        before = stored["answers"] if stored else {}
        new, parse_errors = answers_from_form(survey, fields, state.ws.config)
        shown = [q for q in visible(survey, {**before, **new}) if survey.step_of(q) == step]
        # what this step showed: an unanswered question clears an earlier answer to it
        new = {q.id: new.get(q.id) for q in shown}
        errors = dict(parse_errors)
        try:
            checked = check_answers(survey, new, state.ws.config)
        except SubmissionError as exc:
            checked = {}
            for d in exc.details:
                q = next((x for x in survey.questions if x.id == d["question"]), None)
                if q is not None:
                    errors.setdefault(
                        q.id,
                        "too_long" if "characters" in d["rule"] else
                        "choose_one" if q.type in ("single", "multiple") else "out_of_range",
                    )  # fmt: skip
        for q in shown:
            if q.required and q.id not in checked and q.id not in errors:
                errors[q.id] = "answer_needed"
        if errors:
            return page(
                request, name, survey, lang=lang, step=step, token=token, sid=sid,
                answers={**before, **checked}, values={**before, **new}, errors=errors,
                status=422, embed=embed,
            )  # fmt: skip
        merged = {**before, **checked}
        more = any(survey.step_of(q) > step for q in visible(survey, merged))
        channel = "embed" if embed else ("email" if invitation else "link")
        # a whole one-page response seen before from this address: thanked, not stored again
        whole = guard is not None and step == 0 and not more and not before
        if whole and guard.duplicate_of(name, address, checked) is not None:
            return RedirectResponse(f"/s/{name}/thanks?{urlencode({'lang': lang})}", 303)
        try:
            sub = sv.prepare(
                name, checked, token=token, submission_id=sid,
                complete=not more, language=lang, channel=channel,
            )  # fmt: skip
            await asyncio.wrap_future(sv.collector.submit(sub))
        except SubmissionError:
            # the earlier steps' answers are missing (an old or shared step link): start over
            return page(
                request, name, survey, lang=lang, step=0, token=token, sid=sid,
                answers=before, embed=embed,
            )  # fmt: skip
        except CXError as exc:
            return _fail(request, name, lang, exc)
        if whole:
            guard.remember(name, address, checked, sid)
        params: dict[str, str] = {"lang": lang}
        if embed:
            params["embed"] = "1"
        if more:
            params.update(sid=sid, step=str(step + 1))
            if token:
                params["t"] = token
            return RedirectResponse(f"/s/{name}?{urlencode(params)}", status_code=303)
        return RedirectResponse(f"/s/{name}/thanks?{urlencode(params)}", status_code=303)

    @router.get("/s/{name}/thanks", response_class=HTMLResponse)
    def thanks(request: Request, name: str) -> Response:
        try:
            survey = surveys().get(name)
        except NotFoundError:
            return message(request, None, "en", "invalid", 404)
        lang = pick_language(survey, request.query_params.get("lang"))
        w = words(lang)
        html = env.get_template("survey_message.html").render(
            lang=lang,
            w=w,
            title=text_in(survey.title, lang, survey.languages[0]),
            message=text_in(survey.thank_you, lang, survey.languages[0]) or w["thank_you"],
            embed=request.query_params.get("embed"),
            done=True,
        )
        return HTMLResponse(html, headers=_FRAMEABLE)

    @router.get("/s/{name}/form-token")
    def form_token(name: str) -> Response:
        """A form token for an app that posts a public survey's answers as JSON
        (``X-Cxray-Form-Token``), where ``require_form_token`` is on (the survey's own
        setting, else ``[surveys.limits]``'s)."""
        if not surveys().get(name).public:  # 404 for an unknown survey
            raise InvalidTokenError(f"survey {name!r} is answered by invitation only")
        body = {
            "form_token": form_signer_for(state.ws).issue(name),
            "expires_in_s": int(FORM_TOKEN_TTL.total_seconds()),
            "header": FORM_TOKEN_HEADER,
        }
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    @router.get("/s/{name}/embed.js")
    def embed_js(request: Request, name: str) -> Response:
        surveys().get(name)  # 404 for an unknown survey
        cfg = state.ws.config.surveys
        # the public address when the config names one (behind a proxy the request's differs)
        base = cfg.base_url if "base_url" in cfg.model_fields_set else str(request.base_url)
        base = base.rstrip("/")
        js = env.get_template("survey_embed.js").render(base=base, name=name)
        return Response(
            js,
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
        )

    return router
