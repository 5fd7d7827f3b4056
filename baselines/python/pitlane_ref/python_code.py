"""A Python node's code read without running it (docs/python-nodes.md): where the source is, which class the
node instantiates (``_choose_class`` over the module's ``ast``), and which imports Pyodide cannot provide.

Validation uses it to report problems before anything runs; ``PythonNode`` uses it again when it starts.
"""

from __future__ import annotations

import builtins
import os
import sys
from typing import Any, Dict, List, Optional, Tuple


PYTHON_RUNTIME_HINTS = ("cpython", "pyodide", "auto", "cpython_wasm")
_PYODIDE_HINTS = ("pyodide", "cpython_wasm")  # RemoteMedia's cpython_wasm is Pyodide
_NO_PYODIDE_MODULES = ("subprocess", "multiprocessing", "threading", "socket", "ctypes")

# sys.stdlib_module_names of Python 3.10 and 3.11 (and the few modules 3.9 still had), for Python 3.9.
_STDLIB_FALLBACK = (
    "__future__ _abc _aix_support _ast _asyncio _bisect _blake2 _bootlocale _bootsubprocess _bz2 _codecs "
    "_codecs_cn _codecs_hk _codecs_iso2022 _codecs_jp _codecs_kr _codecs_tw _collections _collections_abc "
    "_compat_pickle _compression _contextvars _crypt _csv _ctypes _curses _curses_panel _datetime _dbm _decimal "
    "_elementtree _frozen_importlib _frozen_importlib_external _functools _gdbm _hashlib _heapq _imp _io _json "
    "_locale _lsprof _lzma _markupbase _md5 _msi _multibytecodec _multiprocessing _opcode _operator _osx_support "
    "_overlapped _pickle _posixshmem _posixsubprocess _py_abc _pydecimal _pyio _queue _random _scproxy _sha1 "
    "_sha256 _sha3 _sha512 _signal _sitebuiltins _socket _sqlite3 _sre _ssl _stat _statistics _string _strptime "
    "_struct _symtable _thread _threading_local _tkinter _tokenize _tracemalloc _typing _uuid _warnings _weakref "
    "_weakrefset _winapi _zoneinfo abc aifc antigravity argparse array ast asynchat asyncio asyncore atexit "
    "audioop base64 bdb binascii binhex bisect builtins bz2 cProfile calendar cgi cgitb chunk cmath cmd code "
    "codecs codeop collections colorsys compileall concurrent configparser contextlib contextvars copy copyreg "
    "crypt csv ctypes curses dataclasses datetime dbm decimal difflib dis distutils doctest email encodings "
    "ensurepip enum errno faulthandler fcntl filecmp fileinput fnmatch formatter fractions ftplib functools gc "
    "genericpath getopt getpass gettext glob graphlib grp gzip hashlib heapq hmac html http idlelib imaplib "
    "imghdr imp importlib inspect io ipaddress itertools json keyword lib2to3 linecache locale logging lzma "
    "mailbox mailcap marshal math mimetypes mmap modulefinder msilib msvcrt multiprocessing netrc nis nntplib nt "
    "ntpath nturl2path numbers opcode operator optparse os ossaudiodev parser pathlib pdb pickle pickletools "
    "pipes pkgutil platform plistlib poplib posix posixpath pprint profile pstats pty pwd py_compile pyclbr pydoc "
    "pydoc_data pyexpat queue quopri random re readline reprlib resource rlcompleter runpy sched secrets select "
    "selectors shelve shlex shutil signal site smtpd smtplib sndhdr socket socketserver spwd sqlite3 sre_compile "
    "sre_constants sre_parse ssl stat statistics string stringprep struct subprocess sunau symbol symtable sys "
    "sysconfig syslog tabnanny tarfile telnetlib tempfile termios textwrap this threading time timeit tkinter "
    "token tokenize tomllib trace traceback tracemalloc tty turtle turtledemo types typing unicodedata unittest "
    "urllib uu uuid venv warnings wave weakref webbrowser winreg winsound wsgiref xdrlib xml xmlrpc zipapp "
    "zipfile zipimport zlib zoneinfo "
)


def _stdlib_modules() -> frozenset:
    names = getattr(sys, "stdlib_module_names", None)  # Python >= 3.10
    return frozenset(names) if names is not None else frozenset(_STDLIB_FALLBACK.split())


def _python_source(params: Dict[str, Any], base_dir: str) -> Tuple[Any, str, Optional[str]]:
    """(source text or bytes, traceback file name, absolute module path or None). Raises OSError for a module
    file that cannot be read."""
    module = params.get("module")
    if module is None:
        return params.get("code", ""), "", None
    path = os.path.join(base_dir, module)
    with open(path, "rb") as f:
        source = f.read()
    return source, _module_file_name(module, base_dir), os.path.abspath(path)


def _module_file_name(module: str, base_dir: str) -> str:
    """The module's path relative to the manifest's folder, as tracebacks show it."""
    name = os.path.relpath(os.path.join(base_dir, module), base_dir)
    return name.replace(os.sep, "/")


def _class_defs(tree: Any) -> Dict[str, Any]:
    """The classes a module defines at its top level (also inside if / try / with / loops), by name."""
    import ast

    found: Dict[str, Any] = {}

    def visit(statements: List[Any]) -> None:
        for s in statements:
            if isinstance(s, ast.ClassDef):
                found[s.name] = s
            elif isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            else:
                for field in ("body", "orelse", "finalbody"):
                    visit(getattr(s, field, None) or [])
                for handler in getattr(s, "handlers", None) or []:
                    visit(handler.body)
                for case in getattr(s, "cases", None) or []:
                    visit(case.body)

    visit(tree.body)
    return found


def _defines_name(class_def: Any, name: str) -> bool:
    """Whether a class body defines ``name`` (a def, or an assignment to it)."""
    import ast

    for s in ast.walk(class_def):
        if s is not class_def and isinstance(s, ast.ClassDef):
            continue
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == name:
            return True
        if isinstance(s, ast.Name) and s.id == name and isinstance(s.ctx, ast.Store):
            return True
    return False


def _has_process(name: str, classes: Dict[str, Any], seen: Optional[set] = None) -> Optional[bool]:
    """True if the class defines process() (itself or through a base in the same source), False if it certainly
    does not, None if it cannot be told (a base from elsewhere)."""
    import ast

    seen = seen if seen is not None else set()
    seen.add(name)
    class_def = classes[name]
    if _defines_name(class_def, "process"):
        return True
    answer: Optional[bool] = False
    for base in class_def.bases:
        if isinstance(base, ast.Name) and base.id in classes and base.id not in seen:
            inherited = _has_process(base.id, classes, seen)
        elif isinstance(base, ast.Name) and isinstance(getattr(builtins, base.id, None), type):
            inherited = hasattr(getattr(builtins, base.id), "process")
        else:
            inherited = None
        if inherited:
            return True
        if inherited is None:
            answer = None
    return answer


def _choose_class(classes: Dict[str, Any], wanted: Optional[str]) -> Tuple[Optional[str], Optional[str]]:
    """(class name, None) or (None, problem message) for the class a Python node instantiates."""
    if wanted is not None:
        if wanted not in classes:
            return None, f"class '{wanted}' is not defined by the code"
        if _has_process(wanted, classes) is False:
            return None, f"class '{wanted}' has no process() method"
        return wanted, None
    sure = [n for n in classes if _has_process(n, classes) is True]
    if not sure:
        sure = [n for n in classes if _has_process(n, classes) is None]
    if len(sure) == 1:
        return sure[0], None
    if not sure:
        return None, "no class in the code defines process()"
    return None, f"several classes define process() ({', '.join(sure)}); name one with the param 'class'"


def _pyodide_import_problems(tree: Any) -> List[str]:
    """Why Pyodide cannot run this code: one message per module it imports that Pyodide cannot provide."""
    import ast

    stdlib = _stdlib_modules()
    imports: List[Tuple[int, int, str]] = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            imports.extend((n.lineno, n.col_offset, alias.name) for alias in n.names)
        elif isinstance(n, ast.ImportFrom) and not n.level and n.module:
            imports.append((n.lineno, n.col_offset, n.module))
    messages: List[str] = []
    seen = set()
    for _, _, name in sorted(imports):
        top = name.split(".")[0]
        if top in seen:
            continue
        seen.add(top)
        if top in _NO_PYODIDE_MODULES:
            reason = "not available in Pyodide"
        elif top not in stdlib:
            reason = "not in the standard library"
        else:
            continue
        messages.append(f"it imports {top} ({reason})")
    return messages
