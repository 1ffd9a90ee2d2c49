"""The WSGI application for gunicorn (or any WSGI server): ``app.wsgi:application``.

Built once per process (by gunicorn's master: deploy/gunicorn.conf.py preloads it).  Settings
that cannot serve stop the start with their list of problems instead of a traceback.
"""

from __future__ import annotations

import sys

from app import create_app
from app.settings import SettingsError

try:
    application = create_app()
except SettingsError as e:
    print(e, file=sys.stderr, flush=True)
    raise SystemExit(2) from None
