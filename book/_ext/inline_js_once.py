"""Write each page's scripts once.

Sphinx 7.4 adds inline scripts that an extension registers after the builder has started (sphinx-thebe's
``THEBE_JS_URL``) to every page twice; the second copy raises "Identifier has already been declared" in the
browser. This keeps the first copy of each script.
"""


def _once(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for js in context.get("script_files", []):
        key = (getattr(js, "filename", None) or "", tuple(sorted(getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _once)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
