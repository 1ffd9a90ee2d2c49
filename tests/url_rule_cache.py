"""Each test creates an application, and half of create_app's time went to Werkzeug compiling
the URL builders of its ~1,400 routes — the same routes, test after test.  Werkzeug generates
each rule's builder (a small function, compiled from an AST) from the rule's parts, its
defaults and whether unknown arguments are appended; the function receives its rule as an
argument, so the one compiled for an identical rule serves every later copy.

``install()`` keeps those functions for the test process: identical routing, compiled once.
A server builds its application once per process and gains nothing from this, so it is a
test-suite measure only.
"""

from __future__ import annotations

from werkzeug.routing import rules

_original = rules.Rule._compile_builder
_builders: dict = {}


def _cached_compile_builder(self, append_unknown: bool = True):
    defaults = self.defaults or {}
    dynamic = {part for is_dynamic, part in self._trace if is_dynamic}
    # What the generated code depends on: the static/dynamic parts, each default as the URL
    # text it is compiled into, the names of the defaults and append_unknown.
    key = (
        self.rule,
        tuple(self._trace),
        append_unknown,
        tuple((name, self._converters[name].to_url(value) if name in dynamic
               else repr(value)) for name, value in defaults.items()),
    )
    builder = _builders.get(key)
    if builder is None:
        builder = _builders[key] = _original(self, append_unknown)
    return builder


def install() -> None:
    rules.Rule._compile_builder = _cached_compile_builder
