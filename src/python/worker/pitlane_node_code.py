"""pitlane_node_code: what pitlane's two Python runtimes do the same with a node's code (docs/python-nodes.md).

Shared by the CPython worker (pitlane_worker.py) and the helper of the Pyodide VM (pitlane_pyodide.py): choosing
the node's class in the namespace its code defined, and describing an exception as it crosses back to pitlane,
with the traceback restricted to frames of the node's own file. Standard library only, Python >= 3.9.
"""


def select_class(namespace, module_name, file_name, class_name):
    """The class to instantiate: the one named, or else the only class defined by the code (in module
    module_name) that has a process() method. Raises NameError, TypeError or LookupError saying what is wrong."""
    if class_name is not None:
        cls = namespace.get(class_name)
        if cls is None:
            raise NameError("%s defines no class named '%s'" % (file_name, class_name))
        if not isinstance(cls, type):
            raise TypeError("'%s' in %s is a %s, not a class" % (class_name, file_name, type(cls).__name__))
        if not hasattr(cls, "process"):
            raise TypeError("class '%s' has no process() method" % (class_name,))
        return cls
    found = []
    for value in namespace.values():
        if isinstance(value, type) and value.__module__ == module_name and hasattr(value, "process"):
            if value not in found:
                found.append(value)
    if not found:
        raise LookupError("%s defines no class with a process() method" % (file_name,))
    if len(found) > 1:
        names = ", ".join(c.__name__ for c in found)
        raise LookupError(
            "%s defines several classes with a process() method (%s): name the one to use with `class`"
            % (file_name, names)
        )
    return found[0]


def describe(exc, file_name):
    """(type, message, traceback) of an exception, the traceback restricted to frames of the node's file, in
    Python's usual format without source lines (and the exception's notes, if any, after its last line)."""
    type_name = type(exc).__name__
    try:
        message = str(exc)
    except BaseException:
        message = "<str() of the exception failed>"
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename == file_name:
            line = tb.tb_lineno if tb.tb_lineno is not None else "?"
            frames.append('  File "%s", line %s, in %s\n' % (file_name, line, code.co_name))
        tb = tb.tb_next
    last = message
    if isinstance(exc, SyntaxError) and exc.filename == file_name:
        frames.append('  File "%s", line %s\n' % (file_name, exc.lineno))
        last = exc.msg or ""
    tail = "%s: %s\n" % (type_name, last) if last else type_name + "\n"
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, (list, tuple)):
        tail += "".join("%s\n" % (note,) for note in notes)
    traceback = "Traceback (most recent call last):\n" + "".join(frames) + tail if frames else tail
    return type_name, message, traceback
