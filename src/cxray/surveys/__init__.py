"""Layer 5, surveys: define, distribute and collect NPS, CSAT and CES feedback.

Definitions come from ``cxray.toml`` or the API (:class:`SurveyRegistry`);
answers are checked against them (:func:`check_answers`, :func:`merge`) and
written by the :class:`Collector` with group commit, durably before they are
acknowledged; invitations are drawn from the store under the fatigue rule,
signed (:class:`InvitationSigner`) and e-mailed over SMTP. ``docs/surveys.md``
describes it all.

>>> ws.surveys.prepare("post_case", {"nps": 9}, token=token)   # doctest: +SKIP
"""

from cxray.surveys._answers import (
    answers_from_form,
    check_answers,
    merge,
    response_values,
    scale_of,
    visible,
)
from cxray.surveys._collector import Collector, Receipt, Submission
from cxray.surveys._i18n import WORDS, pick_language, text_in, words
from cxray.surveys._invitations import Invitee, IssuedInvitation, audience, issue
from cxray.surveys._mail import (
    MailSettings,
    SendReport,
    check_reachable,
    compose,
    connect,
    send,
)
from cxray.surveys._registry import SurveyRegistry, ensure_columns
from cxray.surveys._service import CHANNELS, Surveys, response_id_for
from cxray.surveys._tokens import Invitation, InvitationSigner

__all__ = [
    "CHANNELS",
    "WORDS",
    "Collector",
    "Invitation",
    "InvitationSigner",
    "Invitee",
    "IssuedInvitation",
    "MailSettings",
    "Receipt",
    "SendReport",
    "Submission",
    "SurveyRegistry",
    "Surveys",
    "answers_from_form",
    "audience",
    "check_answers",
    "check_reachable",
    "compose",
    "connect",
    "ensure_columns",
    "issue",
    "merge",
    "pick_language",
    "response_id_for",
    "response_values",
    "scale_of",
    "send",
    "text_in",
    "visible",
    "words",
]
