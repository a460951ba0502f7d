"""Every CSS class a template uses has a rule in a stylesheet, or is a named hook.

Runs over the whole templates/ folder (every feature's templates) and the HTML built in Python
(`PYTHON_HTML`), so a class added without its styles fails here. Classes built at render time
(`flash-{{ category }}`) cannot be read statically and are skipped; literal classes inside Jinja
expressions (`{{ ' button-danger' if danger }}`) are checked.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"
# HTML built in Python for speed (the discussion's comments): its literal classes count too.
PYTHON_HTML = [ROOT / "membership" / "comments" / "blocks.py"]

# Classes that carry no styles on purpose: hooks for static/site.js or for tests. Keep it short,
# and say what each one is for.
HOOKS = {
    "cta": "footer call-to-action sections: the footer grid lays them out",
    "tier": "hook: a tier card on the plans page (styled as .card)",
    "passkey-error": "hook: static/passkeys.js writes ceremony errors into it (styled as .flash)",
}

CLASS_ATTRIBUTE = re.compile(r"""\bclass="([^"]*)\"""")
JINJA_EXPRESSION = re.compile(r"\{\{(.*?)\}\}", re.S)
JINJA_STATEMENT = re.compile(r"\{%.*?%\}", re.S)
JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.S)
STRING_LITERAL = re.compile(r"""'([^']*)'|"([^"]*)\"""")
CLASS_NAME = re.compile(r"^-?[A-Za-z_][\w-]*$")
CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
CSS_CLASS = re.compile(r"\.(-?[A-Za-z_][\w-]*)")
DYNAMIC = "\x00"
F_STRING_FIELD = re.compile(r"\{[^{}]*\}")


def classes_in(value: str) -> set[str]:
    """The static class names of one class="..." attribute value."""
    found: set[str] = set()

    def literal_classes(match: re.Match) -> str:
        literals = [single or double for single, double in STRING_LITERAL.findall(match.group(1))]
        for text in literals:
            found.update(name for name in text.split() if CLASS_NAME.match(name))
        # `button{{ ' button-danger' if danger }}`: literals that start with a space are classes
        # of their own, so the text before them is whole. Anything else builds a name.
        if literals and all(text == "" or text.startswith(" ") for text in literals):
            return " "
        return DYNAMIC

    value = JINJA_EXPRESSION.sub(literal_classes, value)
    value = JINJA_STATEMENT.sub(" ", value)
    for token in value.split():
        if DYNAMIC not in token and CLASS_NAME.match(token):
            found.add(token)
    return found


def template_classes() -> dict[str, set[str]]:
    """Class name -> the templates that use it."""
    used: dict[str, set[str]] = {}
    for path in sorted(TEMPLATES.rglob("*.html")):
        if "email" in path.relative_to(TEMPLATES).parts:
            continue  # emails carry inline styles: mail clients drop stylesheets
        text = JINJA_COMMENT.sub("", path.read_text(encoding="utf-8"))
        for value in CLASS_ATTRIBUTE.findall(text):
            for name in classes_in(value):
                used.setdefault(name, set()).add(str(path.relative_to(TEMPLATES)))
    for path in PYTHON_HTML:
        for value in CLASS_ATTRIBUTE.findall(path.read_text(encoding="utf-8")):
            # An f-string field builds a name ("avatar-{n % 6}"): skipped, like `flash-{{ x }}`.
            value = F_STRING_FIELD.sub(DYNAMIC, value)
            for name in classes_in(value):
                used.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return used


def stylesheet_classes() -> set[str]:
    defined: set[str] = set()
    for path in STATIC.rglob("*.css"):
        defined.update(CSS_CLASS.findall(CSS_COMMENT.sub("", path.read_text(encoding="utf-8"))))
    return defined


def test_every_template_class_has_a_rule_or_is_a_named_hook():
    defined = stylesheet_classes() | set(HOOKS)
    missing = {
        name: sorted(paths) for name, paths in template_classes().items() if name not in defined
    }
    assert missing == {}, "Classes without a CSS rule (add one, or a HOOKS entry):\n" + "\n".join(
        f"  .{name}: {', '.join(paths)}" for name, paths in sorted(missing.items())
    )


def test_every_hook_is_still_used():
    used = template_classes()
    assert sorted(name for name in HOOKS if name not in used) == []


@pytest.mark.parametrize(
    ("attribute", "expected"),
    [
        ("button button-small", {"button", "button-small"}),
        ("field{% if f.errors %} field-error{% endif %}", {"field", "field-error"}),
        ("button{{ ' button-danger' if danger else ' button-secondary' }}", None),
        ("flash flash-{{ category }}", {"flash"}),
        ("comment{% if x %} comment-{{ c.status }}{% endif %}", {"comment"}),
    ],
)
def test_the_reader_of_class_attributes(attribute, expected):
    if expected is None:
        expected = {"button", "button-danger", "button-secondary"}
    assert classes_in(attribute) == expected


def test_a_class_without_a_rule_is_reported(tmp_path, monkeypatch):
    """The check can fail: a template with an unknown class is listed."""
    (tmp_path / "page.html").write_text('<p class="known no-such-rule-anywhere">x</p>')
    monkeypatch.setattr(__import__(__name__), "TEMPLATES", tmp_path)
    monkeypatch.setattr(__import__(__name__), "PYTHON_HTML", [])
    assert set(template_classes()) == {"known", "no-such-rule-anywhere"}
    assert "no-such-rule-anywhere" not in stylesheet_classes()
