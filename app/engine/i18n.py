"""Translation functions of the engine and the models: flask-babel's semantics, with the
catalogue looked up once per request.

A generated page translates a few hundred strings (field labels and state names are lazy
strings, resolved while the page renders).  flask-babel resolves its domain, the request's
locale and the catalogue again on every call, through several context-local proxies; here the
catalogue is kept on ``g`` together with the locale it was loaded for, so ``force_locale``
(which replaces that locale) still takes effect.

Models and engine modules import ``_``, ``_l`` and ``lazy_pgettext`` from here; the message
extraction (``i18n/update.sh``) knows them by those names.
"""

from __future__ import annotations

from flask.globals import _cv_app
from flask_babel import LazyString, get_locale, get_translations
from jinja2 import pass_eval_context
from markupsafe import Markup

_KEY = "_engine_translations"


def translations():
    """The catalogue of the current locale, or None outside an application context."""
    ctx = _cv_app.get(None)
    if ctx is None:
        return None
    store = ctx.g.__dict__
    babel_ctx = store.get("_flask_babel")
    locale = getattr(babel_ctx, "babel_locale", None)
    hit = store.get(_KEY)
    if hit is not None and locale is not None and hit[0] is locale:
        return hit[1]
    catalogue = get_translations()
    store[_KEY] = (get_locale(), catalogue)
    return catalogue


def gettext(string: str, **variables) -> str:
    catalogue = translations()
    text = catalogue.ugettext(string) if catalogue is not None else string
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables) -> str:
    variables.setdefault("num", num)
    catalogue = translations()
    if catalogue is None:
        text = singular if num == 1 else plural
    else:
        text = catalogue.ungettext(singular, plural, num)
    return text % variables


def pgettext(context: str, string: str, **variables) -> str:
    catalogue = translations()
    text = catalogue.upgettext(context, string) if catalogue is not None else string
    return text % variables if variables else text


def npgettext(context: str, singular: str, plural: str, num: int, **variables) -> str:
    variables.setdefault("num", num)
    catalogue = translations()
    if catalogue is None:
        text = singular if num == 1 else plural
    else:
        text = catalogue.unpgettext(context, singular, plural, num)
    return text % variables


@pass_eval_context
def template_gettext(eval_ctx, string: str, **variables):
    """``_()`` and ``gettext`` of the templates: Jinja's new-style gettext (the text is markup
    where the template escapes, and always a format string), in one call where Jinja's own
    takes three (a page translates some fifty texts)."""
    catalogue = translations()
    text = catalogue.ugettext(string) if catalogue is not None else string
    if eval_ctx.autoescape:
        text = Markup(text)
    # ``text % {}`` gives ``text`` unchanged unless it holds a % (a "%%" becomes "%")
    return text % variables if variables or "%" in text else text


def lazy_gettext(string: str, **variables) -> LazyString:
    return LazyString(gettext, string, **variables)


def lazy_pgettext(context: str, string: str, **variables) -> LazyString:
    return LazyString(pgettext, context, string, **variables)


_ = gettext
_l = lazy_gettext
