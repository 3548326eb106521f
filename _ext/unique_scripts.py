"""A Sphinx extension of the book: every script once per page.

Sphinx 7 registers a script that an extension adds after the builder has started twice (once
with the name None, once with ""), and sphinx-thebe's inline configuration is such a script: its second `const THEBE_JS_URL` stops the
page's scripts with "Identifier 'THEBE_JS_URL' has already been declared" (the page tests see it).
"""


def _unique_scripts(app, pagename, templatename, context, doctree):
    seen, scripts = set(), []
    for script in context.get("script_files", []):
        key = (getattr(script, "filename", None) or "", tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            scripts.append(script)
    context["script_files"] = scripts


def setup(app):
    app.connect("html-page-context", _unique_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
