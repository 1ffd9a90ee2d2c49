#!/usr/bin/env bash
# Refresh the Babel catalogues in one command (run from anywhere):
#   1. extract every _() / gettext / _l() / lazy_gettext string of the code and templates
#      (i18n/babel.cfg lists the sources) into the template i18n/messages.pot;
#   2. merge the template into each language's messages.po (new msgids get an empty msgstr,
#      vanished ones are kept as obsolete "#~" entries);
#   3. compile the .mo files the app reads (they are build output, not committed).
# Afterwards translate every empty msgstr of i18n/translations/en/LC_MESSAGES/messages.po;
# tests/test_i18n.py fails while one is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYBABEL=pybabel
if [ -x .venv/bin/pybabel ]; then
    PYBABEL=.venv/bin/pybabel
fi

"$PYBABEL" extract -F i18n/babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 \
    -o i18n/messages.pot \
    --no-location --sort-output --no-wrap .
# --no-wrap and --ignore-pot-creation-date: entries that did not change keep their bytes, so a
# code change adds only its own strings to the diff.
"$PYBABEL" update -i i18n/messages.pot -d i18n/translations --no-fuzzy-matching --no-wrap \
    --ignore-pot-creation-date
"$PYBABEL" compile -d i18n/translations --statistics
