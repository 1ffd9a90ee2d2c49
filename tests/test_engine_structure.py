"""The engine's shape: modules in layers without an import circle, and every role decision in
the policy module."""

from __future__ import annotations

import ast
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENGINE = os.path.join(ROOT, "app", "engine")


def _engine_imports() -> dict[str, set[str]]:
    """module -> engine modules it imports, at module level or inside a function."""
    graph: dict[str, set[str]] = {}
    for name in os.listdir(ENGINE):
        if not name.endswith(".py"):
            continue
        module = name[:-3]
        tree = ast.parse(open(os.path.join(ENGINE, name), encoding="utf-8").read())
        deps: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level == 1 and node.module:
                    deps.add(node.module.split(".")[0])
                elif node.level == 1:
                    deps.update(a.name for a in node.names)
                elif node.module and node.module.startswith("app.engine."):
                    deps.add(node.module.split(".")[2])
                elif node.module == "app.engine":
                    deps.update(a.name for a in node.names
                                if os.path.exists(os.path.join(ENGINE, a.name + ".py")))
        graph[module] = {d for d in deps if d != module and d != "__init__"}
    return graph


def _cycle(graph):
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for d in sorted(graph.get(n, ())):
            if d not in graph:
                continue
            if state.get(d) == 1:
                return stack[stack.index(d):] + [d]
            if state.get(d) is None:
                found = visit(d)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n != "__init__" and state.get(n) is None:
            found = visit(n)
            if found:
                return found
    return None


def test_the_engine_modules_import_each_other_without_a_circle():
    graph = _engine_imports()
    graph.pop("__init__", None)
    assert len(graph) > 20
    cycle = _cycle(graph)
    assert cycle is None, " → ".join(cycle)


def test_the_engine_does_not_import_the_product_models():
    for name in os.listdir(ENGINE):
        if name.endswith(".py"):
            text = open(os.path.join(ENGINE, name), encoding="utf-8").read()
            assert not re.search(r"^\s*(from|import) (models|views)\b", text, re.M), name


# Comparisons of an actor's roles or organisation: the policy's business alone.
DECISIONS = re.compile(
    r"\.roles\s*&|&\s*\w+\.roles\b|\.roles\.intersection|(?<!for )\b\w+ in (actor|a)\.roles\b"
    r"|[=!]=\s*\w+\.org_id\b|\b(actor|a|user)\.org_id\s*[=!]=|\.is_admin\b")


def test_no_role_decision_outside_the_policy():
    offenders = []
    for top in ("app", "models", "views"):
        for dirpath, _dirs, files in os.walk(os.path.join(ROOT, top)):
            for name in files:
                path = os.path.join(dirpath, name)
                if not name.endswith(".py") or path == os.path.join(ENGINE, "policy.py"):
                    continue
                for n, line in enumerate(open(path, encoding="utf-8"), 1):
                    if DECISIONS.search(line) and not line.lstrip().startswith("#"):
                        offenders.append(f"{os.path.relpath(path, ROOT)}:{n}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_no_step_answers_success_twice_or_success_of_a_failure(app):
    """A step named after an outcome (海关入库成功 / 海关入库失败) declares its own answer:
    the default "<step>成功" read "海关入库成功成功" and "海关入库失败成功"."""
    from app.engine.record import REGISTRY

    with app.test_request_context():
        wrong = [f"{resource}.{t.name}: {t.success_message}"
                 for resource, model in REGISTRY.items() if model.meta().workflow
                 for t in model.meta().workflow.transitions
                 if str(t.label).endswith(("成功", "失败")) and not t.success]
    assert not wrong, wrong
