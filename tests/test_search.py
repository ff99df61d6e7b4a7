"""Ranking rules of the searcher, on a real store with the tiny model: the project's own name in a
question, tests and examples against the code they exercise, and the names a project goes by."""

from __future__ import annotations

import threading

import pytest

from cce import search
from cce.engine import Engine
from cce.files import project_names
from cce.search import _Demote, find_symbol
from tests.helpers import make_project

PARSER = '''def clean_path(path):
    """Routes match paths without a trailing slash, so it is stripped here."""
    return path.rstrip("/")
'''
PARSER_TEST = """from parser import clean_path


def test_trailing_slashes_are_stripped():
    # trailing slashes stripped: one trailing slash, two trailing slashes, only slashes
    assert clean_path("/users/") == "/users"
    assert clean_path("/users//") == "/users"
    assert clean_path("/") == ""
"""
CORE = '''class Widgetry:
    """The Widgetry application: widgetry settings, widgetry plugins, widgetry startup."""

    def __init__(self):
        self.plugins = []
'''
DATES = '''def to_day(text):
    """Parse an ISO date string."""
    year, month, day = text.split("-")
    return int(year), int(month), int(day)
'''


@pytest.fixture
def build(tmp_path, settings_factory, tiny_model_dir):
    engines = []

    def make(name: str, files: dict[str, str]) -> Engine:
        settings = settings_factory(make_project(tmp_path / name, files), CCE_MODEL_DIR=tiny_model_dir)
        engine = Engine(settings)
        engine.index()
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.close()


# Unrelated modules, so that the words above are rare enough for BM25 to weigh them.
FILLER = {
    f"misc/{name}.py": f'def {name}_step(value):\n    """Advance the {name} counter by one."""\n    return value + 1\n'
    for name in ("queue", "cache", "color", "audio", "image", "mail", "shell", "timer")
}


def top_files(engine: Engine, query: str, mode: str = "lexical") -> list[str]:
    return list(dict.fromkeys(hit.path for hit in engine.search(query, mode=mode)))


@pytest.mark.parametrize("mode", ["lexical", "hybrid"])
def test_tests_rank_below_the_code_they_exercise(build, mode):
    engine = build("router", {"parser.py": PARSER, "tests/test_parser.py": PARSER_TEST, **FILLER})
    assert top_files(engine, "How are trailing slashes stripped from the path?", mode)[0] == "parser.py"
    # Asked for tests, the test file competes on its own words again.
    assert top_files(engine, "Which tests check that trailing slashes are stripped?", mode)[0] == "tests/test_parser.py"
    # "For example" gives an example of the question; it does not ask for examples or tests.
    query = "How are trailing slashes stripped, for example from /users/, before the path is matched?"
    assert top_files(engine, query, mode)[0] == "parser.py"


README = """# Router

Trailing slashes are stripped from the path before routes match, so `/users/` and `/users` reach
the same handler: the path is cleaned once, trailing slashes stripped, then matched.

Install the router with `pip install router`.
"""


@pytest.mark.parametrize("mode", ["lexical", "hybrid"])
def test_docs_rank_below_the_code_they_describe(build, mode):
    files = {"parser.py": PARSER, "README.md": README, "LICENSE": "Trailing slashes stripped path " * 20}
    engine = build("router", {**files, **FILLER})
    found = top_files(engine, "How are trailing slashes stripped from the path?", mode)
    assert found[0] == "parser.py" and set(found[1:3]) == {"README.md", "LICENSE"}
    assert top_files(engine, "What does the readme say about trailing slashes being stripped?", mode)[0] == "README.md"
    assert top_files(engine, "How do I install the router?", mode)[0] == "README.md"  # only prose answers it


ROUTER_GO = """package router

// Strip removes the trailing slash from a path before it is matched.
func Strip(path string) string {
	return strings.TrimSuffix(path, "/")
}
"""
ROUTER_DOC_GO = """// Package router matches paths. Trailing slashes are stripped from each path before the path
// is matched, so /users/ and /users match the same route: a trailing slash never matters.
package router
"""


@pytest.mark.parametrize("mode", ["lexical", "hybrid"])
def test_go_package_documentation_ranks_below_the_code(build, mode):
    engine = build("router", {"router/strip.go": ROUTER_GO, "router/doc.go": ROUTER_DOC_GO, **FILLER})
    found = top_files(engine, "How are trailing slashes stripped from the path?", mode)
    assert found[:2] == ["router/strip.go", "router/doc.go"]


def test_a_notebook_cell_is_found_and_its_plot_is_not_indexed(build):
    plot = "aGlzdG9ncmFt" * 2000  # base64 of a plot, in one long output line
    notebook = (
        '{\n "cells": [\n  {\n   "cell_type": "code",\n   "metadata": {},\n   "outputs": [\n'
        f'    {{"data": {{"image/png": "{plot}"}}, "output_type": "display_data"}}\n   ],\n'
        '   "source": [\n    "def histogram_of_latencies(samples):\\n",\n'
        '    "    return np.histogram(samples, bins=50)"\n   ]\n  }\n ],\n "nbformat": 4\n}\n'
    )
    engine = build("notebook", {"notebooks/latency.ipynb": notebook, **FILLER})
    hit = engine.search("histogram of request latencies", mode="lexical")[0]
    assert hit.path == "notebooks/latency.ipynb" and "np.histogram" in hit.text
    assert engine.search("aGlzdG9ncmFt", mode="lexical") == []  # outputs are no code
    assert engine.search("histogram_of_latencies")[0].symbol == "histogram_of_latencies"  # the cell is named


@pytest.mark.parametrize("mode", ["lexical", "hybrid"])
def test_gnu_style_prose_files_rank_below_the_code(build, mode):
    news = "Noteworthy changes: trailing slashes are now stripped from the path before matching.\n" * 5
    files = {"parser.py": PARSER, "NEWS": news, "COPYING.LIB": "Trailing slashes stripped path " * 20}
    engine = build("router", {**files, **FILLER})
    found = top_files(engine, "How are trailing slashes stripped from the path?", mode)
    assert found[0] == "parser.py" and set(found[1:3]) == {"NEWS", "COPYING.LIB"}


MUTEX_ML = """let unlock m =
  if m.locked then begin
    if Lwt_sequence.is_empty m.waiters then m.locked <- false
    else Lwt.wakeup_later (Lwt_sequence.take_l m.waiters) ()
  end
"""
MUTEX_MLI = """val unlock : t -> unit
(** [unlock mutex] unlocks the mutex: when threads are waiting on the locked mutex, the first
    waiting thread is woken up and takes the mutex; unlocking a mutex that is not locked does
    nothing. *)
"""


@pytest.mark.parametrize("interface", ["lwt_mutex.mli", "lwt_mutex.pyi", "lwt_mutex.d.ts", "lwt_mutex.js.flow"])
@pytest.mark.parametrize("mode", ["lexical", "hybrid"])
def test_an_interface_file_ranks_below_the_code_it_declares(build, interface, mode):
    engine = build("mutex", {"lwt_mutex.ml": MUTEX_ML, interface: MUTEX_MLI, **FILLER})
    assert top_files(engine, "What happens to waiting threads when a locked mutex is unlocked?", mode)[:2] == [
        "lwt_mutex.ml",
        interface,
    ]


@pytest.mark.parametrize(
    ("path", "test"),
    [
        ("ios/Tests/ConvertiblesSpec.swift", True),  # Xcode's test target
        ("Sources/Core/RecordTests.swift", True),
        ("src/test/kotlin/ParserSpec.kt", True),
        ("Plack/Test/MockHTTP.pm", False),  # Perl's Test:: namespace is library code
        ("PythonTypes/TypeSpec.cs", False),
        ("src/bytes/tests.rs", True),  # a Rust module's unit tests
        ("src/join/test.rs", True),
        ("jinja2/tests.py", False),  # Jinja's template tests are its code
    ],
)
def test_tests_are_known_by_their_path_in_each_language(path, test):
    assert (_Demote(tests=True, docs=True, generated=True, legacy=True).weight(path) < 1.0) is test


@pytest.mark.parametrize("path", ["router/doc.go", "org/apache/commons/lang3/concurrent/package-info.java"])
def test_go_and_java_package_documentation_counts_as_docs(path):
    assert _Demote(tests=True, docs=True, generated=True, legacy=True).weight(path) == 0.5
    assert _Demote(tests=True, docs=False, generated=True, legacy=True).weight(path) == 1.0  # asked for docs


@pytest.mark.parametrize("path", ["news.py", "app/install.rb", "todo.go", "src/History.php"])
def test_code_named_like_a_prose_file_is_not_demoted(path):
    assert _Demote(tests=True, docs=True, generated=True, legacy=True).weight(path) == 1.0


SKIPPABLE_C = """/* A skippable frame is stepped over: its size is read from its header. */
size_t skip_frame(const char *src, size_t size)
{
    return read_frame_size(src + 4) + 8;
}
"""
# The decoder of an old format, kept beside the current one, says the same in more words.
SKIPPABLE_V05_C = """/* Skippable frame, old format: a skippable frame is skipped, its size read first. */
size_t skip_frame_v05(const char *src, size_t size)
{
    return read_frame_size_v05(src + 4) + 8;
}
"""


@pytest.mark.parametrize("folder", ["legacy", "deprecated", "Obsolete"])
def test_superseded_code_ranks_below_the_code_in_use_unless_asked_for(build, folder):
    engine = build("frames", {"decompress/frame.c": SKIPPABLE_C, f"{folder}/frame_v05.c": SKIPPABLE_V05_C, **FILLER})
    old = f"{folder}/frame_v05.c"
    assert top_files(engine, "What happens to a skippable frame?")[:2] == ["decompress/frame.c", old]
    assert top_files(engine, "What happens to a skippable frame in the legacy format?")[0] == old


FRAMING_H = """#ifndef FRAMING_H
#define FRAMING_H

/* Send the response headers. A zero length means the body is framed in chunks; a positive
   length is sent as a fixed length; a negative length means there is no body. */
extern int send_headers(struct exchange *ex, int status, long length);

#endif
"""
FRAMING_C = """#include "framing.h"

int send_headers(struct exchange *ex, int status, long length)
{
    if (length == 0) {
        ex->out = chunked_stream(ex->raw);  /* body framed in chunks */
        set_header(ex, "Transfer-encoding", "chunked");
    } else if (length > 0) {
        ex->out = fixed_stream(ex->raw, length);
    }
    return write_status(ex, status);
}
"""


@pytest.mark.parametrize("mode", ["lexical", "hybrid"])
def test_a_prototype_ranks_below_the_function_it_declares(build, mode):
    engine = build("server", {"framing.h": FRAMING_H, "framing.c": FRAMING_C, **FILLER})
    assert top_files(engine, "How is the response body framed when the length is zero?", mode)[:2] == [
        "framing.c",
        "framing.h",
    ]


def _javadoc(lines: int) -> str:
    said = "the fixed length announced in the headers must be written in full, else the exchange fails"
    return "    /**\n" + "".join(f"     * Note {i}: {said}.\n" for i in range(lines)) + "     */\n"


EXCHANGE = (
    "package web;\n\npublic abstract class Exchange {\n"
    + _javadoc(70)
    + "    public abstract void sendHeaders(int status, long length) throws IOException;\n}\n"
)
FIXED_STREAM = """package web;

class FixedLengthStream extends OutputStream {
    private long remaining;

    public void close() throws IOException {
        if (remaining > 0) {
            // fewer bytes written than the fixed length announced in the headers
            throw new IOException("insufficient bytes written to stream");
        }
    }
}
"""


@pytest.mark.parametrize("mode", ["lexical", "hybrid"])
def test_a_long_javadoc_of_an_abstract_method_ranks_below_the_code(build, mode):
    engine = build("web", {"web/Exchange.java": EXCHANGE, "web/FixedLengthStream.java": FIXED_STREAM, **FILLER})
    windows = [hit for hit in engine.search("sendHeaders", top_k=10) if hit.symbol == "Exchange.sendHeaders"]
    assert len(windows) > 1  # the javadoc is cut into windows of its own
    query = "What happens when fewer bytes are written than the fixed length announced in the headers?"
    assert top_files(engine, query, mode)[0] == "web/FixedLengthStream.java"


@pytest.mark.parametrize(
    ("code", "declares"),
    [
        ("public abstract Headers getResponseHeaders();", True),
        ("/** Sends {@code status}. */\n@Override\npublic abstract void send(int status) throws IOException;", True),
        ("extern void SHA512_Init(SHA512_CTX *);\n\nextern void SHA512_Final(uint8_t *, SHA512_CTX *);", True),
        ("static char *crypt_rn(const char *phrase, char *out);\n#endif", True),
        ("public function handle(array $record = []): bool;", True),
        ("fn parse(&self, pattern: &str) -> Result<Ast>;", True),
        ("SHA512_Update(&ctx, a, 3);\nSHA512_Update(&ctx, b, 4);", False),  # calls
        ("return g(x);", False),
        ("ctx->update(a);\nself.run(b);", False),
        ("const isDate = kindOfTest('Date');", False),
        ("private final int size;", False),
        ("void f(int x) {\n    g(x);\n}", False),
        ("export default composeSignals;", False),
    ],
)
def test_which_chunks_only_declare(code, declares):
    assert search.declares_only(code) is declares


def test_the_projects_own_name_does_not_pull_towards_its_namesake(build, mode="hybrid"):
    engine = build("widgetry", {"core.py": CORE, "dates.py": DATES, **FILLER})
    assert top_files(engine, "How does Widgetry parse a date?", mode)[0] == "dates.py"
    # Naming the class, or only the project, still finds it.
    assert top_files(engine, "Where is the Widgetry class?", mode)[0] == "core.py"
    assert top_files(engine, "widgetry", mode)[0] == "core.py"


def test_project_names_come_from_the_folder_and_manifests(tmp_path):
    repo = tmp_path / "Acme-Tools-2.4.1"
    (repo / "packages" / "src").mkdir(parents=True)
    (repo / "package.json").write_text('{"name": "@acme/toolbelt", "version": "2.4.1"}')
    (repo / "go.mod").write_text("module github.com/acme/gizmo/v5\n\ngo 1.22\n")
    (repo / "pyproject.toml").write_text('[project]\nname = "acme-py"\n')
    assert project_names(repo) == {"acme-tools", "toolbelt", "gizmo", "acme-py"}
    # A source folder two levels down: its generic names are skipped, the manifests above it found.
    assert project_names(repo / "packages" / "src") == {"toolbelt", "gizmo", "acme-py"}
    (tmp_path / "x").mkdir()
    assert project_names(tmp_path / "x") == set()  # too short to be told from a word


NOTICE = "# Copyright 2024 The Router Authors.\n# Licensed under the Apache License, Version 2.0; see LICENSE.\n\n"


def test_a_licence_comment_atop_every_file_does_not_make_each_file_a_hit(build):
    files = {"parser.py": NOTICE + PARSER, "core.py": NOTICE + CORE, "LICENSE": "Apache License, Version 2.0\n" * 5}
    engine = build("router", {**files, **FILLER})
    assert top_files(engine, "Apache License version") == ["LICENSE"]
    # The code of those files is found as before, and a hit still shows the notice above it.
    [hit, *_] = engine.search("How are trailing slashes stripped from the path?", mode="lexical")
    assert hit.path == "parser.py" and hit.text.startswith("# Copyright 2024")


TABLES = """# DO NOT EDIT. This file was generated by make_tables.py from the routing spec.
SLASH_RULES = {"trailing": "stripped", "path": "cleaned", "slashes": "trailing slashes stripped"}
"""


@pytest.mark.parametrize("mode", ["lexical", "hybrid"])
def test_generated_code_ranks_below_the_code_that_does_the_work(build, mode):
    # The same table without its marker outranks parser.py: the marker alone makes the difference.
    unmarked = build("plain", {"parser.py": PARSER, "tables.py": TABLES.split("\n", 1)[1], **FILLER})
    assert top_files(unmarked, "How are trailing slashes stripped from the path?", mode)[0] == "tables.py"
    engine = build("router", {"parser.py": PARSER, "tables.py": TABLES, **FILLER})
    assert top_files(engine, "How are trailing slashes stripped from the path?", mode)[:2] == ["parser.py", "tables.py"]
    assert top_files(engine, "Which generated table says trailing slashes are stripped?", mode)[0] == "tables.py"
    # Generated no more: once re-indexed, the file competes on its words again.
    (engine.settings.project_dir / "tables.py").write_text(TABLES.split("\n", 1)[1])
    engine.index()
    assert top_files(engine, "How are trailing slashes stripped from the path?", mode)[0] == "tables.py"


def test_a_docstring_that_talks_about_generated_code_is_no_marker(build):
    table = TABLES.split("\n", 1)[1]
    source = '"""Do not edit these rules by hand: the autogenerated docs read them."""\n' + table
    engine = build("router", {"parser.py": PARSER, "tables.py": source, **FILLER})
    assert top_files(engine, "How are trailing slashes stripped from the path?")[0] == "tables.py"


# Bodies long enough that each definition is a chunk of its own.
BODY = "".join(f"    step_{n} = normalise(value, {n}) if value else default_for({n})\n" for n in range(4))
RUBY_HEADERS = f"""module Rack
  class Headers
    # Store a header value under its lower-cased name.
    def []=(key, value)
{BODY}      @store[key.downcase] = value
    end

    # The value stored under a header name, whatever its case.
    def [](key)
{BODY}      @store[key.downcase]
    end
  end
end
"""
RUST_ROUTER = f"""pub struct Router {{
    routes: Vec<String>,
}}

impl Router {{
    /// Register a route for a path.
    pub fn add_route(&mut self, path: &str) {{
{BODY}        self.routes.push(path.to_string());
    }}

    /// Forget every route.
    pub fn clear(&mut self) {{
{BODY}        self.routes.clear();
    }}
}}
"""
CALLERS = """from parser import clean_path

# clean_path clean_path clean_path: callers repeat the name more often than its definition does.
def handle(path):
    return clean_path(clean_path(path))
"""


@pytest.mark.parametrize(
    "query, path, definition",
    [
        ("clean_path", "parser.py", "def clean_path("),
        ("clean_path()", "parser.py", "def clean_path("),
        ("Router::add_route", "router.rs", "pub fn add_route("),
        ("Router.add_route", "router.rs", "pub fn add_route("),
        ("add_route", "router.rs", "pub fn add_route("),
        ("Rack::Headers#[]=", "headers.rb", "def []=("),
        ("ARRAY_SIZE", "port.h", "#define ARRAY_SIZE("),
        ("SALT_LEN_MAX", "port.h", "#define SALT_LEN_MAX"),
        ("QueryObserver.#executeFetch", "observer.ts", "#executeFetch(options"),  # not Ruby's Class#method
        ("#executeFetch", "observer.ts", "#executeFetch(options"),
        ("QueryObserver.executeFetch", "observer.ts", "executeFetch(options: FetchOptions"),
        ("Mojo::File::copy_to", "lib/Mojo/File.pm", "sub copy_to {"),
        ("Mojo::File->copy_to", "lib/Mojo/File.pm", "sub copy_to {"),
        ("copy_to", "lib/Mojo/File.pm", "sub copy_to {"),
        ("magit-section-show", "magit-section.el", "(defun magit-section-show"),
        ("magit-log-all-branches", "magit-log.el", "(defun magit-log-all-branches"),
        ("connect", "src/ssh.erl", "connect(Host) ->"),
        ("trim", "util.lua", "local function trim(s)"),
        ("split", "util.lua", "function M.split(s, sep)"),
        ("Route", "lib/router/route.js", "function Route(path)"),
        ("HaveInterpreterLock", "Util/DebugUtil.cs", "public static bool HaveInterpreterLock()"),
        ("takeLast", "operators/takeLast.ts", "export function takeLast<T>("),
        ("setFrameProcessor", "CameraViewManager.swift", "@objc func setFrameProcessor("),
        ("options", "base.rb", "def options(path)"),
        ("patch?", "base.rb", "def patch?(verb)"),
        ("shutdown", "base.rb", "def self.shutdown"),
        ("level=", "base.rb", "def level=(value)"),
        ("replaceNull", "WebSocketImpl.java", "replaceNull("),
        ("DependencyScopeError", "exceptions.py", "class DependencyScopeError("),
        ("AssertHasReferences", "Util/DebugUtil.cs", "internal static void AssertHasReferences("),
        ("builder", "lib/Plack/Builder.pm", "sub builder(&) {"),  # before the package Plack::Builder
        ("BoolParser", "parsers.rs", "pub struct BoolParser {}"),  # before `impl BoolParser`
        ("spaces", "help.rs", "fn spaces(&mut self"),  # not the local `let spaces`
        ("MarshalXML", "utils.go", "func (h H) MarshalXML("),  # before a test's type's method
        ("with_timeout", "lwt_unix.ml", "let rec with_timeout"),  # before `val with_timeout` in the .mli
        ("servers", "core/server.clj", "(defonce ^:private servers {})"),  # Clojure's metadata
        ("*session*", "core/server.clj", "(def ^:dynamic *session* nil)"),  # and its earmuffs
        ("decorateWithFunctions", "ObjectDefinition.swift", "internal func decorateWithFunctions("),  # not `try f(`
        ("isTypedArray", "jni/JavaScriptValue.kt", "external fun isTypedArray()"),  # Kotlin's `external`
        ("ImagingError_Clear", "Except.c", "ImagingError_Clear(void) {"),  # GNU style C, not the prototype
        ("height", "Frame.m", "- (size_t)height {"),  # an Objective-C method merged with the one before
        ("_sysvdirs", "lib/helpers", "_sysvdirs()\n{"),  # a shell function merged with the one before
        ("+latin-1+", "specials.lisp", "(defconstant +latin-1+"),  # merged with the constant before
        ("to_assoc", "lib/inspect.ex", "defp to_assoc("),  # Elixir's private function, merged with the one before
        ("qqnorm.default", "R/qqnorm.R", "qqnorm.default <- function"),  # R's dots are part of a name
        ("stat:blocks", "ice-9/posix.scm", "(define (stat:blocks f)"),  # Scheme's names hold `:` and `%`
        ("%futures-available", "ice-9/posix.scm", "(define %futures-available"),
        ("pkg-directory->installs", "private/addl.rkt", "(define (pkg-directory->installs"),  # not Perl's ->
        ("read-pkg-cfg/def", "private/addl.rkt", "(define (read-pkg-cfg/def key)"),  # not .../def/scope
        ("summary", "htmlgen.nim", "macro summary*("),  # Nim's macro, merged with the one before
        ("requires", "lib/Mojo/Route.pm", "sub requires {"),  # not the POD line "method requires a ..."
        ("geturl", "http/http.tcl", "proc ::http::geturl {url args} {"),  # Tcl's namespace path
        ("Reset", "parser.pas", "procedure TParser.Reset;"),  # Pascal, merged with the one before
        ("finalize", "solvers.f90", "subroutine finalize"),  # Fortran, no parameters, likewise
        ("csv_read_row", "library/csv.pl", "csv_read_row(Stream, Row, Options) :-"),  # Prolog, likewise
    ],
)
def test_a_query_that_names_a_definition_finds_it_first(build, query, path, definition):
    # handler.py repeats `clean_path` more often than parser.py, which defines it; salt.c uses the macros.
    files = {"parser.py": PARSER, "handler.py": CALLERS, "router.rs": RUST_ROUTER, "headers.rb": RUBY_HEADERS}
    files |= {"port.h": C_PORT, "salt.c": C_SALT, "observer.ts": TS_OBSERVER, "lib/Mojo/File.pm": PERL_FILE}
    files |= {"magit-log.el": ELISP_LOG, "magit-repos.el": ELISP_LOG_CALLER, "src/ssh.erl": ERLANG_SSH}
    files |= {"src/client.erl": ERLANG_CALLER, "lib/Plack/Builder.pm": PERL_BUILDER}
    files |= {"util.lua": LUA_UTIL, "main.lua": LUA_CALLER}
    files |= {"lib/router/index.js": JS_ROUTER_INDEX, "lib/router/route.js": JS_ROUTE}
    files |= {"operators/takeLast.ts": TS_TAKE_LAST, "CameraViewManager.swift": SWIFT_MANAGER}
    files |= {"CameraView.swift": SWIFT_CALLER}
    files |= {"Util/DebugUtil.cs": CS_DEBUG, "PythonEngine.cs": CS_CALLER, "base.rb": RUBY_DSL, "app.rb": RUBY_APP}
    files |= {"WebSocketImpl.java": JAVA_SOCKET, "Sender.java": JAVA_CALLER}
    files |= {"exceptions.py": PY_ERRORS, "dependencies/utils.py": PY_RAISER}
    files |= {"script/copy.pl": PERL_CALLER, "magit-section.el": ELISP_SECTION, "magit-status.el": ELISP_CALLER}
    files |= {"parsers.rs": RUST_PARSERS, "help.rs": RUST_HELP, "utils.go": GO_UTILS}
    files |= {"render/render_test.go": GO_RENDER_TEST, "lwt_unix.ml": OCAML_UNIX, "lwt_unix.mli": OCAML_UNIX_MLI}
    files |= {"core/server.clj": CLOJURE_SERVER, "ObjectDefinition.swift": SWIFT_OBJECT}
    files |= {"ClassDefinition.swift": SWIFT_CLASS, "jni/JavaScriptValue.kt": KOTLIN_VALUE}
    files |= {"types/TypedArrayTypeConverter.kt": KOTLIN_CONVERTER, "Except.c": C_EXCEPT, "Imaging.h": C_IMAGING}
    files |= {"Frame.m": OBJC_FRAME, "README.md": "# Frame\n\n- (size_t) height of the frame, in pixels\n"}
    files |= {"Overlay.m": OBJC_OVERLAY, "lib/helpers": SHELL_HELPERS, "completions/service": SHELL_CALLER}
    files |= {"specials.lisp": LISP_SPECIALS, "request.lisp": LISP_CALLER}
    files |= {"lib/inspect.ex": ELIXIR_INSPECT, "lib/formatter.ex": ELIXIR_CALLER}
    files |= {"R/qqnorm.R": R_QQNORM, "R/qqplot.R": R_CALLER}
    files |= {"ice-9/posix.scm": SCHEME_POSIX, "ice-9/ftw.scm": SCHEME_CALLER, "private/addl.rkt": RACKET_ADDL}
    files |= {"private/install.rkt": RACKET_CALLER, "private/scope.rkt": RACKET_SCOPE}
    files |= {"htmlgen.nim": NIM_HTMLGEN, "htmlparser.nim": NIM_CALLER}
    files |= {"lib/Mojo/Route.pm": PERL_ROUTE, "lib/Mojo/Reactor.pm": PERL_REACTOR}
    files |= {"http/http.tcl": TCL_HTTP, "http/client.tcl": TCL_CALLER, "parser.pas": PASCAL_PARSER}
    files |= {"main.pas": PASCAL_CALLER, "solvers.f90": FORTRAN_SOLVERS, "main.f90": FORTRAN_CALLER}
    files |= {"library/csv.pl": PROLOG_CSV, "library/rows.pl": PROLOG_CALLER}
    engine = build("names", {**files, **FILLER})
    for mode in ("lexical", "hybrid"):
        hit = engine.search(query, mode=mode)[0]
        assert (hit.path, definition in hit.text) == (path, True), mode


JS_SERVER = """function createServer (options) {
  return http.createServer(options).on('timeout', close)

  function close () {
    this.close()
  }
}
"""
JS_ROUTE_TYPES_TEST = """const routeHandler = function (request, reply) {
  expectType<FastifyRequest>(request)
}
"""
JS_ROUTES = """function buildRouting (options) {
  return { route }

  function routeHandler (req, res, params) {
    const context = lookup(req)
    context.handler(req, res, params)
  }
}
"""
CPP_SCANNER = """void Scanner::ScanPlainScalar() {
  std::string scalar;
  Mark mark = INPUT.mark();
  scalar = ScanScalar(INPUT, params);
  m_tokens.push(Token(scalar));
}
"""
PY_EMITTER_TEST = """def scalar(value, tag='', anchor=''):
    return {'emit': ['Scalar', value, tag, anchor]}
"""


def test_a_definition_in_the_code_comes_before_one_in_tests(build):
    files = {"test/types/route.test-d.ts": JS_ROUTE_TYPES_TEST, "lib/route.js": JS_ROUTES}
    files |= {"src/scantoken.cpp": CPP_SCANNER, "test/create-emitter-tests.py": PY_EMITTER_TEST}
    engine = build("lookup", {**files, **FILLER})
    # A function nested in another in the code, before a test's function of the same name...
    assert engine.search("routeHandler")[0].path == "lib/route.js"
    # ...but a local variable in the code is no definition to put before it.
    assert engine.search("scalar")[0].path == "test/create-emitter-tests.py"


def test_a_nested_definition_of_a_common_name_is_found(build, monkeypatch):
    # Of the chunks that mention `close`, the best matches are scanned first (here only one is).
    monkeypatch.setattr("cce.search.NESTED_SCAN_LIMIT", 1)
    steps = "".join(f"  server.step{k}(options)\n" for k in range(8))
    caller = "function caller{0} (server) {{\n" + steps + "  server.close(done{0})\n}}\n"
    callers = {f"lib/caller_{i}.js": caller.format(i) for i in range(30)}
    engine = build("common", {"lib/server.js": JS_SERVER, **callers, **FILLER})
    [found] = find_symbol(engine.searcher().store, "close")
    assert (found["path"], found["start"], found["match"]) == ("lib/server.js", 4, "exact")


# `qqnorm.default` is one name (R's S3 method for the generic `qqnorm`), merged with the generic.
R_QQNORM = """qqnorm <- function(y, ...) UseMethod("qqnorm")

qqnorm.default <- function(y, ylim, main = "Normal Q-Q Plot", datax = FALSE, ...)
{
    y <- y[!is.na(y)]
    x <- qnorm(ppoints(length(y)))[order(order(y))]
    plot(x, y, main = main, ...)
}
"""
R_CALLER = """qqplot <- function(x, y, ...)
{
    # unlike qqnorm.default, both axes come from data: qqnorm.default(y) draws against normal quantiles
    sx <- sort(x)
    plot(sx, sort(y), ...)
}
"""


# One-line Scheme definitions share a chunk; their names hold `:` and `%`.
SCHEME_POSIX = """(define (stat:size f) (vector-ref f 7))
(define (stat:blocks f) (vector-ref f 12))
(define (stat:perms f) (vector-ref f 14))
(define %futures-mutex (make-mutex))
(define %futures-available (make-condition-variable))
"""
SCHEME_CALLER = """(define (file-blocks name)
  ;; stat:blocks counts 512-byte blocks: (stat:blocks st) after %futures-available is signalled
  (let ((st (stat name))) (stat:blocks st)))
"""
# Racket's names hold `->` and `/`; `read-pkg-cfg/def/scope` is another name, in another file.
RACKET_ADDL = """#lang racket/base
(provide pkg-directory->installs)

(define (read-cfg) (hash))
(define (read-pkg-cfg/def key)
  (read-pkg-cfg/def/scope key (lambda (v scope) v)))

(define (pkg-directory->installs dir pkg-name)
  (for/list ([f (in-directory dir)]) (cons pkg-name f)))
"""
RACKET_SCOPE = """#lang racket/base
;; Like read-pkg-cfg/def, and the scope too: read-pkg-cfg/def reads through read-pkg-cfg/def/scope.
(define (read-pkg-cfg/def/scope key get)
  (get (hash-ref (read-cfg) key #f) 'user))
"""
RACKET_CALLER = """#lang racket/base
(define (install-all dirs)
  ;; pkg-directory->installs lists what a package adds; read-pkg-cfg/def gives the default scope
  (for ([d dirs]) (pkg-directory->installs d (read-pkg-cfg/def 'name))))
"""
# Nim's small macros share a chunk; `summary` is exported (`*`).
NIM_HTMLGEN = """macro sub*(e: varargs[untyped]): untyped =
  ## Generates the HTML `sub` element.
  result = xmlCheckedTag(e, "sub", commonAttr)

macro summary*(e: varargs[untyped]): untyped =
  ## Generates the HTML `summary` element.
  result = xmlCheckedTag(e, "summary", commonAttr)
"""
NIM_CALLER = """proc toHtmlTag*(s: string): HtmlTag =
  ## `summary` and `sub` tags: summary, details, summary again
  case s
  of "summary": result = tagSummary
  else: result = tagUnknown
"""


# CMake's small macros share a chunk, named for the first.
CMAKE_PKGCONFIG = """macro(_pkgconfig_unset var)
  set(${var} "" CACHE INTERNAL "")
  set(${var}_FOUND "" CACHE INTERNAL "")
  set(${var}_VERSION "" CACHE INTERNAL "")
  set(${var}_PREFIX "" CACHE INTERNAL "")
  set(${var}_INCLUDEDIR "" CACHE INTERNAL "")
  set(${var}_LIBDIR "" CACHE INTERNAL "")
endmacro()
macro(pkg_check_modules _prefix _module0)
  _pkgconfig_parse_options(_pkg_modules _pkg_is_required _pkg_is_silent ${_module0} ${ARGN})
endmacro()
"""
CMAKE_CALLER = """# pkg_check_modules: pkg_check_modules(FOO foo)
pkg_check_modules(FOO REQUIRED foo)
"""


# Prolog's small predicates share a chunk; a clause's head is at column 0, its body indented.
PROLOG_CSV = """:- module(csv, [csv_read_file/2, csv_read_row/3]).

csv_read_file(File, Rows) :-
    csv_read_file(File, Rows, []).
csv_read_row(Stream, Row, Options) :-
    read_line_to_codes(Stream, Codes),
    phrase(csv_row(Row, Options), Codes).
"""
PROLOG_CALLER = """rows(Stream, [Row|Rows]) :-
    % csv_read_row/3 reads one row; csv_read_row fails at the end: csv_read_row again
    csv_read_row(Stream, Row, []),
    rows(Stream, Rows).
"""


# Small definitions merged into one chunk, found by their line inside it.
TCL_HTTP = """proc ::http::config {args} {
    return [array get ::http::http]
}
proc ::http::geturl {url args} {
    return [CreateToken $url]
}
"""
TCL_CALLER = """# geturl fetches: http::geturl $url, then http::geturl again on a redirect
set token [::http::geturl $url]
"""
PASCAL_PARSER = """function TParser.Parse(const Line: string): Integer;
begin
  Result := Length(Line);
end;
procedure TParser.Reset;
begin
  FCount := 0;
end;
"""
PASCAL_CALLER = """program Main;
{ Reset before parsing: Parser.Reset, then Reset again when done }
begin
  Parser.Reset;
end.
"""
FORTRAN_SOLVERS = """module solvers
contains
  pure real function norm1(v)
    norm1 = sum(abs(v))
  end function norm1
  subroutine finalize
    deallocate(work)
  end subroutine finalize
end module solvers
"""
FORTRAN_CALLER = """program main
  use solvers
  ! finalize when done: call finalize, then finalize again after a restart
  call finalize
end program main
"""
PERL_ROUTE = """package Mojo::Route;
use Mojo::Base -base;

sub requires {
  my $self = shift;
  return $self->{requirements} unless @_;
  $self->{requirements} = [@_];
  return $self;
}
"""
# POD prose: a line may begin with a word that declares routines in some language.
PERL_REACTOR = """package Mojo::Reactor;

=head2 io

Watch handle for I/O events, invoking the callback whenever handle becomes readable or writable. This
method requires an active I/O watcher, so it requires one: requires, requires.

=cut

sub io { croak 'Method "io" not implemented by subclass' }
"""


# `to_assoc` is private (`defp`) and shares the chunk of `inspect` before it.
ELIXIR_INSPECT = """defimpl Inspect, for: Map do
  def inspect(map, opts) do
    map_container_doc(map, opts, &to_assoc(&1, &2, " => "))
  end

  defp to_assoc({key, value}, opts, sep) do
    concat(concat(to_doc(key, opts), sep), to_doc(value, opts))
  end
end
"""
ELIXIR_CALLER = """defmodule Code.Formatter do
  # Pairs are printed as to_assoc prints them: to_assoc(pair, opts, sep).
  defp binary_operand_to_algebra(pair, opts), do: to_assoc(pair, opts, " => ")
end
"""


# Common Lisp's constants are written `+name+`; the two small forms share one chunk.
LISP_SPECIALS = """(in-package :hunchentoot)

(defconstant +crlf+ (make-array 2 :element-type '(unsigned-byte 8))
  "A 2-element array consisting of the character codes for a CRLF sequence.")
(defconstant +latin-1+ (make-external-format :latin1 :eol-style :lf)
  "A FLEXI-STREAMS external format used for `faithful' input and output of binary data.")
"""
LISP_CALLER = """(defun read-initial-request-line (stream)
  ;; +latin-1+ reads bytes faithfully; the stream switches to +latin-1+ for the headers.
  (setf (flexi-stream-external-format stream) +latin-1+)
  (read-line* stream))
"""


# No extension: its mode line says it is shell. `_sysvdirs` shares the chunk of `_userland`, and
# its `{` opens the next line (in other languages `name()` alone on a line is a call).
SHELL_HELPERS = """# Completion helpers.                    -*- shell-script -*-

# Check the userland.
_userland()
{
    local userland=$(uname -s)
    [[ $userland == "$1" ]]
}

# This function sets correct SysV init directories
#
_sysvdirs()
{
    sysvdirs=()
    [[ -d /etc/init.d ]] && sysvdirs+=(/etc/init.d)
    return 0
}
"""
SHELL_CALLER = """# service(8) completion                   -*- shell-script -*-

_service()
{
    _sysvdirs
    # _sysvdirs fills sysvdirs; complete the scripts found in the _sysvdirs folders.
    COMPREPLY=($(compgen -W '$(command ls ${sysvdirs[0]})' -- "$cur"))
} && complete -F _service service
"""


# `with_timeout` shares a blank-line block with `timeout`; the interface names a chunk after it.
OCAML_UNIX = """let timeout d = sleep d >>= fun () -> fail Timeout
let rec with_timeout d f =
  pick [timeout d; apply f ()] >>= fun result ->
  return result
"""
OCAML_UNIX_MLI = """val with_timeout : float -> (unit -> 'a Lwt.t) -> 'a Lwt.t
(** [with_timeout d f] is a short-hand for: [Lwt.pick [Lwt_unix.timeout d; f ()]]. The
    with_timeout promise fails with Timeout when with_timeout runs out of time. *)
"""
# GNU style: the return type on a line of its own. ImagingError_Clear shares the chunk of the
# function before it; the header only declares it.
C_EXCEPT = """void *
ImagingError_OSError(void) {
    fprintf(stderr, "*** exception: file access error\\n");
    return NULL;
}

void
ImagingError_Clear(void) {
    /* nothing */
}
"""
C_IMAGING = """/* Errors: ImagingError_Clear resets the error state. */
extern void
ImagingError_Clear(void);
extern void *
ImagingError_OSError(void);
"""
# Uses the frame's height (and says so) more often than Frame.m, which defines it.
OBJC_OVERLAY = """@implementation Overlay

- (void)draw {
""" + "".join(f"  CGFloat h{n} = frame.height; // height height\n" for n in range(6)) + """}

@end
"""
OBJC_FRAME = """@implementation Frame

- (size_t)width {
  return CVPixelBufferGetWidth(self.buffer);
}

- (size_t)height {
  return CVPixelBufferGetHeight(self.buffer);
}

@end
"""
# Calls on a line of their own (`try f(...)`) in one file, the definitions in another.
SWIFT_OBJECT = """public class ObjectDefinition {
  func decorateWithConstants(object: JavaScriptObject) throws {
    object.setProperty("constants", value: constants)
  }

  internal func decorateWithFunctions(object: JavaScriptObject, appContext: AppContext) throws {
    for fn in functions.values {
      object.setProperty(fn.name, value: try fn.build(appContext: appContext))
    }
  }
}
"""
SWIFT_CLASS = """final class ClassDefinition {
  func decorate(object: JavaScriptObject, appContext: AppContext) throws {
    try decorateWithFunctions(object: prototype, appContext: appContext)
  }
}
"""
KOTLIN_VALUE = """class JavaScriptValue {
  external fun isString(): Boolean
  external fun isTypedArray(): Boolean
}
"""
KOTLIN_CONVERTER = """class TypedArrayTypeConverter {
  fun convert(value: JavaScriptValue): Any {
    if (value.isTypedArray()) {
      return value.getTypedArray()
    }
    throw UnexpectedException(value.isTypedArray())
  }
}
"""
CLOJURE_SERVER = """(ns clojure.core.server)

(def ^:dynamic *session* nil)

;; lock protects servers
(defonce ^:private lock (ReentrantLock.))
(defonce ^:private servers {})
"""
_STEPS = "".join(f"    this.step{i}(options)\n" for i in range(40))
# A public `executeFetch` and a private `#executeFetch`: JavaScript keeps them apart, so must the query.
TS_OBSERVER = f"""export class QueryObserver {{
  executeFetch(options: FetchOptions) {{
    // Execute the fetch of the query observer, then execute fetch again on a stale query.
{_STEPS}    return this.#executeFetch(options).then(() => this.#executeFetch(options))
  }}

  #executeFetch(options?: FetchOptions) {{
{_STEPS}    return this.#currentQuery.fetch(this.options, options)
  }}
}}
"""
C_PORT = """/* Size of a declared array.  */
#define ARRAY_SIZE(a_)  (sizeof (a_) / sizeof ((a_)[0]))

/* Salt limits.  */
#define SALT_LEN_MIN 2
#define SALT_LEN_MAX 16
"""
PERL_FILE = f"""package Mojo::File;
use Mojo::Base -strict;

sub chmod {{
  my ($self, $mode) = @_;
{BODY.replace("    ", "  my $")}  return $self;
}}

sub copy_to {{ my ($self, $to) = @_; return $self->new($to) }}

1;
"""
# Callers name `copy_to` and `magit-section-show` more often than their definitions do.
PERL_CALLER = "use Mojo::File;\n" + "".join(f"$file->copy_to('/tmp/{n}'); # copy_to copy_to\n" for n in range(4))
ELISP_SECTION = f"""(defun magit-section-show (section)
  "Show the body of SECTION."
{BODY.replace("    ", "  ;; ")}  (magit-section-goto section))
"""
ELISP_CALLER = "".join(f"(magit-section-show (magit-section-at {n})) ; magit-section-show\n" for n in range(4))
# Definitions that share a chunk with the one before them (small Lisp forms, Erlang functions, a
# Perl sub after its package's big opening): only the scan of the chunk's lines finds them.
ELISP_LOG = """(defun magit-log-head (&optional args)
  "Show the log of HEAD."
  (magit-log-setup-buffer (list "HEAD") args))

(defun magit-log-all-branches (&optional args)
  "Show the log of all branches."
  (magit-log-setup-buffer (list "--all") args))
"""
ELISP_LOG_CALLER = "".join(f"(magit-log-all-branches) ; magit-log-all-branches {n}\n" for n in range(4))
ERLANG_SSH = """-module(ssh).
-export([start/0, connect/1]).

start() ->
    application:start(ssh).

connect(Host) ->
    ssh_connection_handler:start(Host).
"""
ERLANG_CALLER = "".join(f"    ssh:connect(host{n}), % connect connect\n" for n in range(4))
# `var Route = require(...)` names a chunk Route too, and its path sorts before route.js.
JS_ROUTER_INDEX = "var Route = require('./route');\nvar Layer = require('./layer');\n\nmodule.exports = proto;\n"
JS_ROUTE = f"""module.exports = Route;

function Route(path) {{
{BODY.replace("    ", "  var ")}  this.path = path;
}}
"""
# A JSDoc longer than a window: the function's first window is all doc comment.
TS_TAKE_LAST = (
    "/**\n"
    + "".join(f" * Waits for the source to complete, then emits the last values ({n}).\n *\n" for n in range(24))
    + " */\nexport function takeLast<T>(count: number): MonoTypeOperatorFunction<T> {\n"
    + "".join(f"  const buffer{n}: T[] = [];\n" for n in range(6))
    + "  return count <= 0 ? () => EMPTY : operate(buffer0);\n}\n"
)
# Swift's attributes stand before `func` on the same line.
SWIFT_MANAGER = """extension CameraViewManager {
  @objc func setFrameProcessor(_ processor: FrameProcessor, forView tag: NSNumber) {
    getCameraView(withTag: tag).frameProcessor = processor
  }
}
"""
SWIFT_CALLER = "".join(f"    manager.setFrameProcessor(p{n}, forView: tag) // setFrameProcessor\n" for n in range(4))
# A small C# class is one chunk named by the class; its methods have no keyword to find them by.
CS_DEBUG = """namespace Python.Runtime
{
    static class DebugUtil
    {
        public static bool HaveInterpreterLock() => Runtime.PyGILState_Check() == 1;

        internal static void AssertHasReferences(BorrowedReference obj)
        {
            long refcount = Runtime.Refcount(obj);
            Debug.Assert(refcount > 0, "Object refcount is 0 or less");
        }
    }
}
"""
CS_CALLER = "".join(f"        Debug.Assert(DebugUtil.HaveInterpreterLock()); // {n}\n" for n in range(4))
# One-line Ruby methods share a chunk; a local named like one of them must not pass for it.
RUBY_DSL = f"""module Sinatra
  class Base
    def etag(value)
      options = {{ kind: :strong }}
{BODY.replace("    ", "      ") * 5}      value
    end

    def get(path) = route("GET", path)
    def options(path) = route("OPTIONS", path)
    def patch?(verb) = verb == "PATCH"
    def self.shutdown = @server.stop
    def level=(value)
      @level = value
    end
  end
end
"""
RUBY_APP = "".join(
    f"app.options('/{n}') if app.patch?(verb) # options patch? shutdown level=\nApp.shutdown\napp.level = {n}\n"
    for n in range(3)
)
# A method whose parameters go on over the next lines; callers call it, a caller raises a class.
JAVA_SOCKET = """public class WebSocketImpl {
    private CompletableFuture<WebSocket> replaceNull(
            CompletableFuture<WebSocket> cf)
    {
        return cf == null ? DONE : cf;
    }
}
"""
JAVA_CALLER = "".join(f"        return replaceNull(result{n});\n" for n in range(4))
PY_ERRORS = "class FastAPIError(Exception):\n    pass\n\n\nclass DependencyScopeError(FastAPIError):\n    pass\n"
PY_RAISER = "def check(scope):\n    if scope:\n        raise DependencyScopeError(\n            'bad'\n        )\n"
LUA_UTIL = """local M = {}

function M.join(a, b)
  return a .. "/" .. b
end

local function trim(s)
  return (s:gsub("^%s+", ""))
end

function M.split(s, sep)
  return s:gmatch("[^" .. sep .. "]+")
end

return M
"""
LUA_CALLER = "".join(f"local t{n} = util.trim(util.split(x, ',')) -- trim split\n" for n in range(4))
PERL_BUILDER = f"""package Plack::Builder;
use strict;
{BODY.replace("    ", "our $") * 5}
sub enable {{
    my ($mw, @args) = @_;
    push @middleware, [$mw, @args];
}}

sub builder(&) {{
    my $block = shift;
    return $block->();
}}

1;
"""
# A small struct after a small impl shares its chunk; its own `impl` follows in a chunk named for it.
RUST_PARSERS = f"""impl RangedParser {{
    pub fn new() -> Self {{
        Self {{ start: 0 }}
    }}
}}

/// Parses `true` and `false`.
#[derive(Copy, Clone, Debug)]
pub struct BoolParser {{}}

impl BoolParser {{
    /// Parses one value.
    pub fn parse(&self, value: &str) -> bool {{
{BODY}        value == "true"
    }}

    /// The values it accepts.
    pub fn possible_values(&self) -> Vec<&str> {{
{BODY}        vec!["true", "false"]
    }}
}}
"""
# A local `let spaces` in one method, the method `spaces` in another (clap's help writer).
RUST_HELP = f"""impl Help {{
    pub fn write_arg(&mut self, arg: &Arg) {{
        let spaces = if arg.long {{ 8 }} else {{ 4 }};
{BODY}        self.spaces(spaces);
    }}

    pub fn write_about(&mut self, about: &str) {{
{BODY}        self.out.push_str(about);
    }}

    fn spaces(&mut self, n: usize) {{
{BODY}        self.out.push_str(&" ".repeat(n));
    }}
}}
"""
GO_UTILS = """package gin

// MarshalXML allows type H to be used with xml.Marshal.
func (h H) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return e.EncodeToken(start.End())
}
"""
# A test's own type with a method of the same name, in a folder that sorts first.
GO_STEPS = "".join(f"\tstep{n} := render(w, {n})\n\t_ = step{n}\n" for n in range(12))
GO_RENDER_TEST = f"""package render

type xmlmap map[string]any

func (h xmlmap) MarshalXML(e *xml.Encoder, start xml.StartElement) error {{
{GO_STEPS}	return nil
}}

func TestRenderXML(t *testing.T) {{
{GO_STEPS}	w.Flush()
}}
"""
C_SALT = """#include "port.h"

static char salt[SALT_LEN_MAX];
static const char *names[] = {"a", "b"};

size_t fill_salt(void)
{
  size_t n = ARRAY_SIZE(names) < SALT_LEN_MAX ? ARRAY_SIZE(names) : SALT_LEN_MAX;
  for (size_t i = 0; i < ARRAY_SIZE(salt) && i < SALT_LEN_MAX; i++)
    salt[i] = names[i % ARRAY_SIZE(names)][0];
  return n;
}
"""


METHOD_BODY = BODY.replace("\n    ", "\n        ").replace("    ", "        ", 1)
# A class whose docstring shows `app = Router()` before the real `app` method: a long class, split.
ROUTER_CLASS = (
    'class Router:\n    """A router.\n\n    Example:\n\n        app = Router()\n        app.mount("/users")\n'
    '    """\n\n'
    + "".join(f"    def route_{n}(self, path):\n{METHOD_BODY}        return path\n\n" for n in range(6))
    + f"    def app(self, scope):\n{METHOD_BODY}        return scope\n"
)

C_BODY = "".join(f"    step_{n} = normalise(value, {n});\n" for n in range(4))
# The prototypes in a header, the definitions merged into one chunk of the .c file.
C_YESCRYPT_H = """/* Allocate and free the local state of one yescrypt run.  */
extern int yescrypt_init_local(yescrypt_local_t *local);
extern int yescrypt_free_local(yescrypt_local_t *local);
"""
C_YESCRYPT = """int yescrypt_kdf(const yescrypt_params_t *params, uint8_t *buf)
{
  return yescrypt_kdf_body(params, buf);
}

int yescrypt_init_local(yescrypt_local_t *local)
{
  local->base = local->aligned = NULL;
  return 0;
}
"""
# A free function merged after another (spdlog's spdlog-inl.h), and a class's method of the same
# name, long enough for a chunk of its own.
CPP_API = """inline bool should_log(level lvl)
{
    return default_logger()->should_log(lvl);
}

inline void set_level(level lvl)
{
    registry::instance().set_level(lvl);
}
"""
CPP_REGISTRY = f"""void registry::set_level(level lvl)
{{
    std::lock_guard<std::mutex> lock(mutex_);
{C_BODY}    global_level_ = lvl;
}}
"""
# A small method merged into the chunk of the long one before it: it is still the class's.
ECHO_METHODS = ("read", "readline", "readlines", "write", "flush", "_echo")  # enough to split the class
PY_ECHO = (
    "class EchoingStdin:\n"
    + "".join(f"    def {name}(self, rv):\n{METHOD_BODY}        return rv\n\n" for name in ECHO_METHODS)
    + "    def read1(self, n=-1):\n        return self._echo(self._input.read1(n))\n"
)


@pytest.mark.parametrize(
    "query, path, definition",
    [
        ("yescrypt_init_local", "lib/alg-yescrypt-opt.c", "int yescrypt_init_local("),  # not the prototype
        ("set_level", "api-inl.h", "inline void set_level("),  # the name as it is, not registry::set_level
    ],
)
def test_a_c_definition_comes_before_its_prototype_and_namesake_methods(build, query, path, definition):
    files = {"lib/alg-yescrypt.h": C_YESCRYPT_H, "lib/alg-yescrypt-opt.c": C_YESCRYPT, "api-inl.h": CPP_API}
    engine = build("c", {**files, "details/registry-inl.h": CPP_REGISTRY, **FILLER})
    for mode in ("lexical", "hybrid"):
        hit = engine.search(query, mode=mode)[0]
        assert (hit.path, definition in hit.text) == (path, True), mode


def test_a_method_merged_into_the_one_before_it_is_named_for_its_class(build):
    engine = build("echo", {"testing.py": PY_ECHO, **FILLER})
    [first, *_] = find_symbol(engine.searcher().store, "EchoingStdin.read1")
    assert (first["symbol"], first["match"], first["kind"]) == ("EchoingStdin.read1", "exact", "definition")


def test_a_docstring_example_does_not_pass_for_the_definition(build):
    engine = build("router", {"router.py": ROUTER_CLASS, **FILLER})
    store = engine.searcher().store
    [first, *_] = find_symbol(store, "Router.app")
    assert (first["symbol"], first["kind"], first["match"]) == ("Router.app", "method", "exact")
    for mode in ("lexical", "hybrid"):
        assert engine.search("Router.app", mode=mode)[0].symbol == "Router.app"


def test_names_that_merely_contain_the_name_do_not_crowd_out_its_definition(build, monkeypatch):
    getters = {f"a/getter_{n}.py": f"def target_getter_{n}(obj):\n    return obj.value_{n}\n" for n in range(6)}
    names = ("put", "get", "pop", "keys", "items", "clear")  # enough that the class is split into methods
    methods = "".join(f"    def {name}(self, key):\n{METHOD_BODY}        return key\n\n" for name in names)
    engine = build("names", {**getters, "z/store.py": f"class Store:\n{methods}"})
    monkeypatch.setattr(search, "SYMBOL_SCAN_LIMIT", 3)  # fewer than the names containing "get"
    [first, *_] = find_symbol(engine.searcher().store, "get")
    assert (first["symbol"], first["kind"], first["match"]) == ("Store.get", "method", "exact")


def test_a_cmake_macro_merged_into_another_is_found_by_its_line(build):
    # The two small macros share a chunk named for the first; `macro(name` is a definition line.
    engine = build("cmake", {"FindLibraries.cmake": CMAKE_PKGCONFIG, "CMakeLists.txt": CMAKE_CALLER})
    [first, *_] = find_symbol(engine.searcher().store, "pkg_check_modules")
    assert (first["path"], first["symbol"], first["match"]) == ("FindLibraries.cmake", "pkg_check_modules", "exact")


RUBY_BODY = "".join(f"      step_{n} = normalise(value, {n}) if value\n" for n in range(4))
RACK_HEADERS = (
    "module Rack\n  class Headers\n"
    + "".join(
        f"    def {name}(key, value = nil)\n{RUBY_BODY}      @store[key] = value\n    end\n\n"
        for name in ("fetch", "[]=", "delete", "merge", "each", "clear")
    )
    + "  end\nend\n"
)


@pytest.mark.parametrize("query", ["Rack::Headers#[]=", "Headers#[]=", "Headers.[]=", "[]="])
def test_a_name_may_leave_out_the_outer_modules(build, query):
    engine = build("rack", {"headers.rb": RACK_HEADERS, **FILLER})
    assert find_symbol(engine.searcher().store, query.replace("::", ".").replace("#", "."))[0]["symbol"] == (
        "Rack.Headers.[]="
    )
    for mode in ("lexical", "hybrid"):
        assert engine.search(query, mode=mode)[0].symbol == "Rack.Headers.[]="


def test_hybrid_search_embeds_the_query_while_bm25_runs(build):
    # Each side waits until the other has started: run one after the other, the first would wait out
    # its timeout and the search would fail.
    engine = build("overlap", {"parser.py": PARSER, **FILLER})
    searcher = engine.searcher()
    embedding_started, bm25_started = threading.Event(), threading.Event()
    embed, lexical = searcher.embed_query, searcher.lexical

    def embed_query(query):
        embedding_started.set()
        assert bm25_started.wait(5), "the query was embedded only after BM25 had finished"
        return embed(query)

    def bm25(query, limit):
        bm25_started.set()
        assert embedding_started.wait(5), "BM25 ran only after the query was embedded"
        return lexical(query, limit)

    searcher.embed_query, searcher.lexical = embed_query, bm25
    hits = engine.search("where are trailing slashes stripped", mode="hybrid")
    assert hits[0].path == "parser.py"
