"""The survey page's own words in the languages cxray ships, and picking a language.

Question texts come from the survey definition; these are the words around
them (buttons, scale ends, messages). A language cxray does not ship falls
back to English for these words, never for the survey's own texts.
"""

from __future__ import annotations

from collections.abc import Mapping

from cxray.config import SurveyDefinition

__all__ = ["WORDS", "pick_language", "text_in", "words"]

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "submit": "Submit",
        "next": "Next",
        "not_likely": "Not at all likely",
        "very_likely": "Extremely likely",
        "very_dissatisfied": "Very dissatisfied",
        "very_satisfied": "Very satisfied",
        "very_difficult": "Very difficult",
        "very_easy": "Very easy",
        "required": "required",
        "optional": "optional",
        "thank_you": "Thank you! Your answers have been received.",
        "fix_errors": "Please check the answers marked below.",
        "answer_needed": "Please answer this question.",
        "choose_one": "Choose one of the options.",
        "too_long": "Please shorten your answer to {max} characters.",
        "out_of_range": "Choose a value from {min} to {max}.",
        "language": "Language",
        "already": "You have already answered this survey. Thank you!",
        "expired": "This invitation has expired.",
        "invalid": "This survey link is not valid.",
        "closed": "This survey is not open to the public.",
        "step": "Step {step} of {steps}",
    },
    "de": {
        "submit": "Absenden",
        "next": "Weiter",
        "not_likely": "Überhaupt nicht wahrscheinlich",
        "very_likely": "Äußerst wahrscheinlich",
        "very_dissatisfied": "Sehr unzufrieden",
        "very_satisfied": "Sehr zufrieden",
        "very_difficult": "Sehr schwierig",
        "very_easy": "Sehr einfach",
        "required": "Pflichtfrage",
        "optional": "optional",
        "thank_you": "Vielen Dank! Ihre Antworten sind eingegangen.",
        "fix_errors": "Bitte prüfen Sie die markierten Antworten.",
        "answer_needed": "Bitte beantworten Sie diese Frage.",
        "choose_one": "Bitte wählen Sie eine der Optionen.",
        "too_long": "Bitte kürzen Sie Ihre Antwort auf {max} Zeichen.",
        "out_of_range": "Wählen Sie einen Wert von {min} bis {max}.",
        "language": "Sprache",
        "already": "Sie haben diese Umfrage bereits beantwortet. Vielen Dank!",
        "expired": "Diese Einladung ist abgelaufen.",
        "invalid": "Dieser Umfragelink ist ungültig.",
        "closed": "Diese Umfrage ist nicht öffentlich.",
        "step": "Schritt {step} von {steps}",
    },
    "fr": {
        "submit": "Envoyer",
        "next": "Suivant",
        "not_likely": "Pas du tout probable",
        "very_likely": "Extrêmement probable",
        "very_dissatisfied": "Très insatisfait",
        "very_satisfied": "Très satisfait",
        "very_difficult": "Très difficile",
        "very_easy": "Très facile",
        "required": "obligatoire",
        "optional": "facultatif",
        "thank_you": "Merci ! Vos réponses ont bien été reçues.",
        "fix_errors": "Veuillez vérifier les réponses signalées ci-dessous.",
        "answer_needed": "Veuillez répondre à cette question.",
        "choose_one": "Choisissez l'une des options.",
        "too_long": "Veuillez raccourcir votre réponse à {max} caractères.",
        "out_of_range": "Choisissez une valeur de {min} à {max}.",
        "language": "Langue",
        "already": "Vous avez déjà répondu à cette enquête. Merci !",
        "expired": "Cette invitation a expiré.",
        "invalid": "Ce lien d'enquête n'est pas valide.",
        "closed": "Cette enquête n'est pas publique.",
        "step": "Étape {step} sur {steps}",
    },
    "es": {
        "submit": "Enviar",
        "next": "Siguiente",
        "not_likely": "Nada probable",
        "very_likely": "Muy probable",
        "very_dissatisfied": "Muy insatisfecho",
        "very_satisfied": "Muy satisfecho",
        "very_difficult": "Muy difícil",
        "very_easy": "Muy fácil",
        "required": "obligatoria",
        "optional": "opcional",
        "thank_you": "¡Gracias! Hemos recibido sus respuestas.",
        "fix_errors": "Revise las respuestas marcadas abajo.",
        "answer_needed": "Responda a esta pregunta.",
        "choose_one": "Elija una de las opciones.",
        "too_long": "Acorte su respuesta a {max} caracteres.",
        "out_of_range": "Elija un valor de {min} a {max}.",
        "language": "Idioma",
        "already": "Ya ha respondido a esta encuesta. ¡Gracias!",
        "expired": "Esta invitación ha caducado.",
        "invalid": "Este enlace de encuesta no es válido.",
        "closed": "Esta encuesta no es pública.",
        "step": "Paso {step} de {steps}",
    },
}


def words(language: str) -> dict[str, str]:
    """The page's words in ``language`` (its base language, else English)."""
    base = language.split("-")[0].lower()
    return WORDS.get(language) or WORDS.get(base) or WORDS["en"]


def pick_language(
    survey: SurveyDefinition, asked: str | None = None, accept_language: str | None = None
) -> str:
    """The survey language to use: the one asked for, else the browser's first offered one."""
    offered = survey.languages
    candidates: list[str] = []
    if asked:
        candidates.append(asked)
    if accept_language:
        weighted = []
        for i, part in enumerate(accept_language.split(",")):
            tag, _, params = part.strip().partition(";")
            q = 1.0
            if params.strip().startswith("q="):
                try:
                    q = float(params.strip()[2:])
                except ValueError:
                    q = 0.0
            if tag and tag != "*":
                weighted.append((-q, i, tag))
        candidates += [tag for _, _, tag in sorted(weighted)]
    for tag in candidates:
        for lang in offered:
            if tag.lower() == lang.lower():
                return lang
        base = tag.split("-")[0].lower()
        for lang in offered:
            if lang.split("-")[0].lower() == base:
                return lang
    return offered[0]


def text_in(value: str | Mapping[str, str] | None, language: str, default: str) -> str:
    """A per-language text in ``language``, else the default language's, else any."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return (
        value.get(language)
        or value.get(language.split("-")[0])
        or value.get(default)
        or next(iter(value.values()), "")
    )
