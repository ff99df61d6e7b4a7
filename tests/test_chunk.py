"""Tests for cce.chunk: structure per language, full coverage, token budgets, robustness, speed."""

from __future__ import annotations

import importlib.util
import random
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from cce.chunk import (
    MAX_LINES,
    MAX_TOKENS,
    Chunk,
    chunk_source,
    embedding_text,
    estimate_tokens,
    language_for,
    searchable_text,
)

PY = '''\
"""Module docstring."""

import os
import sys

CONSTANT = 42


# Comment describing load.
@decorator(option=True)
def load(path: str) -> str:
    """Load a file and return its text after a few checks on what it holds."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path} (cwd {os.getcwd()})")
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if text.startswith("#!"):
        text = text.split("\\n", 1)[1]
    return text.strip() + os.linesep


SETTINGS = {
    "alpha": {"enabled": True, "retries": 3, "timeout_seconds": 2.5, "labels": ["a", "b"]},
    "beta": {"enabled": False, "retries": 5, "timeout_seconds": 7.5, "labels": ["c", "d"]},
    "gamma": {"enabled": True, "retries": 1, "timeout_seconds": 0.5, "labels": ["e", "f"]},
    "delta": {"enabled": True, "retries": 9, "timeout_seconds": 1.5, "labels": ["g", "h"]},
}


def outer(values: list[int]) -> int:
    """Sum values through a nested helper."""

    def helper(value: int) -> int:
        return value * 2 + CONSTANT - len(sys.argv)

    total = 0
    for value in values:
        total += helper(value)
    return total if total > 0 else -total


class Store:
    """A key-value store kept in memory.

    Items are evicted oldest first once the capacity is reached; hits, misses and evictions
    are counted so that callers can tell how well the store serves them over time.
    """

    kind = "memory"

    def __init__(self, capacity: int = 128) -> None:
        self.items: dict[str, str] = {}
        self.capacity = capacity
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    def get(self, key: str, default: str | None = None) -> str | None:
        """The value stored under `key`, or `default` when there is none."""
        value = self.items.get(key)
        if value is None:
            self.misses += 1
            return default
        self.hits += 1
        self.items[key] = self.items.pop(key)  # most recently used goes last
        return value

    async def put(self, key: str, value: str) -> None:
        if len(self.items) >= self.capacity:
            self.items.pop(next(iter(self.items)))
            self.evictions += 1
        self.items[key] = value
        await notify_all(key, value, self.hits, self.misses)


if __name__ == "__main__":
    print(load(sys.argv[1]))
'''

TS = """\
import { Router } from "./router";
import type { Request, Response } from "./types";

/** Builds the greeting shown on the landing page. */
export default function greet(name: string, excited: boolean): string {
  const suffix = excited ? "!" : ".";
  return `Hello, ${name} {not a brace${suffix}`;
}

export const handler = async (req: Request, res: Response) => {
  const body = { ok: true, text: "}}}", path: req.path, query: req.query };
  res.setHeader("content-type", "application/json");
  return res.send(JSON.stringify(body));
};

// A widget with a few methods.
export class Widget extends Base {
  private count = 0;

  constructor(private readonly router: Router, private readonly label: string) {
    super(label);
    this.router.register(label, this);
  }

  async render(target: Element): Promise<void> {
    const open = '{';
    target.innerHTML = `<div class="${this.label}">${this.count}${open}</div>`;
    await this.router.flush(target, { immediate: true, count: this.count });
  }

  onClick = (event: Event) => {
    this.count += 1;
    event.preventDefault();
    this.router.navigate(`/widgets/${this.label}/${this.count}`);
  };
}

export interface Options {
  port: number;
  host?: string;
}
"""

GO = """\
package router

import (
\t"fmt"
\t"net/http"
)

// Router dispatches requests to registered handlers.
type Router struct {
\troutes map[string]http.Handler
\tprefix string
}

// Handle registers a handler for a path.
func (r *Router) Handle(path string, h http.Handler) {
\tif _, exists := r.routes[path]; exists {
\t\tpanic(fmt.Sprintf("duplicate route {%s}", path))
\t}
\tr.routes[r.prefix+path] = h
\tfmt.Println("registered {", path)
}

func (r Router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
\tif h, ok := r.routes[req.URL.Path]; ok {
\t\th.ServeHTTP(w, req)
\t\treturn
\t}
\thttp.Error(w, fmt.Sprintf("no route for %q", req.URL.Path), http.StatusNotFound)
}

var raw = `{{{ not code`

func New(prefix string) *Router {
\treturn &Router{routes: map[string]http.Handler{}, prefix: prefix}
}
"""

RUST = """\
use std::fmt;

/// A point on the plane.
#[derive(Debug, Clone)]
pub struct Point {
    x: i32,
    y: i32,
}

impl Point {
    /// Makes a point from two coordinates.
    pub fn new(x: i32, y: i32) -> Self {
        assert!(x > i32::MIN && y > i32::MIN, "coordinates out of range");
        Point { x, y }
    }

    pub fn norm(&self) -> f64 {
        let s = r#"a "{" b"#;
        let c = '{';
        ((self.x * self.x + self.y * self.y) as f64).sqrt() + (s.len() as f64) * 0.0
    }
}

impl<'a> fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.x, self.y)
    }
}

pub trait Shape {
    fn area(&self) -> f64;
}
"""

JAVA = """\
package shop;

import java.util.List;

/**
 * A shop that sells items.
 */
public class Shop {
    private final List<String> items;

    public Shop(List<String> items) {
        this.items = items;
        if (items.isEmpty()) {
            throw new IllegalArgumentException("a shop needs {items}");
        }
    }

    @Override
    public String toString() {
        StringBuilder out = new StringBuilder("Shop{");
        for (String item : items) {
            out.append(item).append(", ");
        }
        return out.append("}").toString();
    }

    public int count(String prefix) {
        int n = 0;
        for (String item : items) {
            if (item.startsWith(prefix)) {
                n += 1;
            }
        }
        return n;
    }
}
"""

C = """\
#include <stdio.h>

/* a comment with { braces */
static const char *OPEN = "{";

struct node {
    int value;
    struct node *next;
};

// returns the } count
static int
count_close(const char *s)
{
    int n = 0;  /* { */
    char c = '}';
    for (; *s; s++) {
        if (*s == c) n++;  // a { in a comment
    }
    return n;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s TEXT {\\n", argv[0]);
        return 2;
    }
    printf("%d {\\n", count_close(argv[1]));
    return 0;
}
"""

MARKDOWN = """\
---
title: Project notes
---
Intro text before any heading, long enough to stand on its own as a short paragraph of prose
that tells the reader what the notes below are about, who should read them first, and what
they can skip when they only want to install the tool and run it once on their own files.

# Project

Project is a tool that does several things well, and this paragraph says so at some length,
naming the things it does: it indexes, it searches, it watches files and it reports results,
and it does all of that on one machine without sending anything anywhere else at any time.

## Installation

```bash
# not a heading

pip install project --upgrade --index-url https://example.org/simple --extra-index-url https://x.org
python -m project --version --verbose --config ~/.config/project/settings.toml
```

## Usage
Use it by calling the command line program with the files you want it to process as arguments,
or give it a directory and it walks every file below it that is not ignored by the settings,
printing one line for each file it handled and a summary with the counts at the very end.

Setext Heading
--------------

Body of the setext section, which also needs a few sentences so that it is not merged away
with the section before it, since small neighbouring sections are grouped into one chunk
when together they are still small enough to be read as one piece by the embedding model.
"""

TEXT = """\
First block of a plain text file, which has a couple of lines
that belong together as one paragraph of words.

Second block, separated by a blank line from the first one,
also with two lines of text in it.

Third block.
"""

FIXTURES = {
    "pkg/mod.py": PY,
    "web/app.ts": TS,
    "router/router.go": GO,
    "src/lib.rs": RUST,
    "shop/Shop.java": JAVA,
    "tool/parse.c": C,
    "docs/README.md": MARKDOWN,
    "notes.txt": TEXT,
}


def file_lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def assert_well_formed(
    path: str,
    text: str,
    chunks: list[Chunk],
    max_tokens: int = MAX_TOKENS,
    count: Callable[[str], int] = estimate_tokens,
) -> None:
    """Chunks in file order, exact line ranges, every line covered, every chunk within budget."""
    if not text.strip():
        assert chunks == []
        return
    lines = file_lines(text)
    covered = [False] * (len(lines) + 1)
    slices: dict[int, list[str]] = {}
    last_start = 0
    for chunk in chunks:
        assert 1 <= chunk.start <= chunk.end <= len(lines), chunk
        assert chunk.start >= last_start, "chunks out of file order"
        last_start = chunk.start
        assert chunk.lang == language_for(path, text)
        whole = "\n".join(lines[chunk.start - 1 : chunk.end])
        if chunk.text == whole:
            covered[chunk.start : chunk.end + 1] = [True] * (chunk.end - chunk.start + 1)
        else:
            assert chunk.start == chunk.end, f"text of {chunk.start}-{chunk.end} is not those lines"
            slices.setdefault(chunk.start, []).append(chunk.text)
        assert count(embedding_text(path, chunk)) <= max_tokens, (chunk.start, chunk.end)
    for line, parts in slices.items():
        # In order, the slices of a line spell it out (more than once where windows overlap).
        spelled = ""
        for part in parts:
            spelled += part
            assert lines[line - 1].startswith(spelled), f"slices of line {line} do not follow it"
            if spelled == lines[line - 1]:
                spelled = ""
                covered[line] = True
        assert not spelled, f"slices of line {line} stop short of its end"
    missing = [k for k in range(1, len(lines) + 1) if not covered[k]]
    assert not missing, f"lines not covered: {missing[:10]}"


def holding(chunks: list[Chunk], needle: str) -> Chunk:
    """The first chunk whose text holds `needle`."""
    return next(chunk for chunk in chunks if needle in chunk.text)


def symbols(chunks: list[Chunk]) -> list[str | None]:
    return [chunk.symbol for chunk in chunks]


# ---------------------------------------------------------------- API basics


@pytest.mark.parametrize(
    ("path", "lang"),
    [
        ("fastapi/routing.py", "python"),
        ("stubs/x.pyi", "python"),
        ("web/App.TSX", "typescript"),
        ("a/b.mjs", "javascript"),
        ("main.go", "go"),
        ("src/lib.rs", "rust"),
        ("Shop.java", "java"),
        ("x.c", "c"),
        ("x.h", "c"),
        ("x.hpp", "cpp"),
        ("metric/cuda/cuda_metric.cu", "cpp"),  # CUDA is C++ with kernels
        ("ios/Frame.m", "objc"),
        ("ios/JSI/HostObject.mm", "objc"),
        ("x.cs", "csharp"),
        ("x.php", "php"),
        ("x.kt", "kotlin"),
        ("x.swift", "swift"),
        ("README.md", "markdown"),
        ("build/Makefile", "make"),
        ("Dockerfile", "dockerfile"),
        ("Dockerfile.dev", "dockerfile"),
        ("notes.txt", "text"),
        ("weird.unknownext", "text"),
        ("no_extension", "text"),
        (".bashrc", "shell"),
        ("home/.zshrc", "shell"),
        ("ios/Podfile", "ruby"),
        ("fastlane/Fastfile", "ruby"),
        ("tools/BUILD.bazel", "python"),
        ("rules/defs.bzl", "python"),
        ("scripts/build", "text"),  # a name many scripts share: known by its #! line, if it has one
        ("C:\\src\\main.rs", "rust"),
        ("lib/Mojo/UserAgent.pm", "perl"),
        ("magit-section.el", "elisp"),
        ("src/core.cljs", "clojure"),
        ("srfi/1.scm", "scheme"),
    ],
)
def test_language_for(path: str, lang: str) -> None:
    assert language_for(path) == lang


@pytest.mark.parametrize(
    ("path", "head", "lang"),
    [
        ("bin/deploy", "#!/usr/bin/env python3\nimport sys\n", "python"),
        ("bin/run", "#!/usr/bin/python3.12 -u\n", "python"),
        ("hooks/pre-commit", "#!/bin/bash -e\nset -u\n", "shell"),
        ("bin/serve", "#! /usr/bin/env -S node --no-warnings\n", "javascript"),
        ("bin/tool", "#!/usr/local/bin/perl -w\n", "perl"),
        ("bin/lua-tool", "#!/usr/bin/lua5.1\n", "lua"),
        ("hooks/update.sample", "#!/bin/sh\n", "shell"),  # an extension cce does not know
        ("completions/tar", "# GNU tar completion            -*- shell-script -*-\n\n_tar()\n", "shell"),
        ("helpers/python", "# -*- mode: python; coding: utf-8 -*-\nimport os\n", "python"),
        ("scripts/x", "x = 1\n\n\n\n\n\n\n\nputs x\n# vim: set ft=ruby:\n", "ruby"),  # Vim's, at the end
        ("notes.txt", "#!/bin/sh\n", "text"),  # the name says what it is
        ("scripts/y", "# -*- coding: utf-8 -*-\nx = 1\n", "text"),  # names no language
        ("scripts/z", "#!/usr/bin/env\npython\n", "text"),
        ("LICENSE", "Permission is hereby granted, free of charge\n", "text"),
        ("src/fpjson.pp", "{ JSON support for Free Pascal }\n\nunit fpjson;\n\n{$mode objfpc}\n", "pascal"),
        ("manifests/init.pp", "class nginx {\n  package { 'nginx': ensure => installed }\n}\n", "text"),  # Puppet's
    ],
)
def test_a_file_without_an_extension_is_known_by_its_first_or_mode_line(path: str, head: str, lang: str) -> None:
    assert language_for(path) == "text"  # the name alone tells nothing more
    assert language_for(path, head) == lang
    chunks = chunk_source(path, head)
    assert {chunk.lang for chunk in chunks} == {lang}


def test_a_pl_file_is_prolog_when_it_holds_a_directive_or_a_clause() -> None:
    assert language_for("library/csv.pl", ":- module(csv, [csv_read_file/2]).\n") == "prolog"
    assert language_for("lists.pl", "append([], L, L).\nappend([H|T], L, [H|R]) :-\n    append(T, L, R).\n") == "prolog"
    assert language_for("script/tool.pl", "use strict;\nmy $x = run(1);\nsub run {\n    return 1;\n}\n") == "perl"
    assert language_for("script/tool.pl") == "perl"


def test_embedding_text_has_header_then_source() -> None:
    chunk = Chunk(3, 4, "    def add(self):\n        pass\n", "Router.add", "method", "python")
    assert embedding_text("fastapi/routing.py", chunk) == (
        "path: fastapi/routing.py\nsymbol: Router.add (method)\n\ndef add(self):\n        pass"
    )
    anonymous = Chunk(1, 1, "import os", None, "module", "python")
    assert embedding_text("a.py", anonymous) == "path: a.py\n\nimport os"


APACHE = [
    'Licensed under the Apache License, Version 2.0 (the "License");',
    "you may not use this file except in compliance with the License.",
    "",
    "Unless required by applicable law or agreed to in writing, software",
    'distributed under the License is distributed on an "AS IS" BASIS.',
]


def commented(marker: str, lines: list[str]) -> str:
    return "".join(f"{marker} {line}".rstrip() + "\n" for line in lines)


@pytest.mark.parametrize(
    "text, searchable",
    [
        (commented("#", APACHE) + "\nimport os\n", "\nimport os\n"),
        ("#!/usr/bin/env python3\n" + commented("#", APACHE) + "import os\n", "#!/usr/bin/env python3\nimport os\n"),
        (
            "#!/usr/bin/env python3\n# -*- coding: utf-8 -*-\n\n" + commented("#", APACHE) + "import os\n",
            "#!/usr/bin/env python3\n# -*- coding: utf-8 -*-\n\nimport os\n",
        ),
        (
            "# frozen_string_literal: true\n\n# Copyright 2020 Someone\n\nmodule Rack\n",
            "# frozen_string_literal: true\n\n\nmodule Rack\n",
        ),
        # Two paragraphs of notice, then the package's own doc comment, which stays.
        (
            "// Copyright 2021 The Authors.\n\n" + commented("//", APACHE) + "\n// Package chi routes.\npackage chi\n",
            "\n// Package chi routes.\npackage chi\n",
        ),
        ("/*\n * " + "\n * ".join(APACHE) + "\n */\npackage org.example;\n", "package org.example;\n"),
        ("/* SPDX-License-Identifier: MIT */\n#include <stdio.h>\n", "#include <stdio.h>\n"),
        ("-- Copyright (c) 2020 Someone\nlocal M = {}\n", "local M = {}\n"),
        (
            "<?php\n\n/*\n * (c) Someone\n *\n * For the full copyright and license information, see LICENSE.\n */\n\n"
            "namespace App;\n",
            "<?php\n\n\nnamespace App;\n",
        ),
        # Not a notice: a comment that explains the code, a docstring, a preprocessor line.
        ("// Parse the licence file of a package.\nfunc parse() {}\n", None),
        ('"""Copyright checks for uploaded files."""\nimport os\n', None),
        ("#include <copyright.h>\nint x;\n", None),
    ],
)
def test_a_files_licence_comment_is_not_searchable(text: str, searchable: str | None) -> None:
    assert searchable_text(1, text) == (text if searchable is None else searchable)
    assert searchable_text(2, text) == text  # only the top of a file opens with a notice


def test_the_model_does_not_read_a_licence_header_but_the_chunk_keeps_it() -> None:
    source = commented("#", APACHE) + "\ndef add(a, b):\n    return a + b\n"
    [chunk] = chunk_source("calc.py", source)
    assert chunk.start == 1 and chunk.text.startswith("# Licensed under")  # a hit shows the real lines
    assert "License" not in embedding_text("calc.py", chunk) and "def add(a, b):" in embedding_text("calc.py", chunk)


def test_a_blank_line_inside_a_block_comment_does_not_split_it() -> None:
    # Paragraphs too big to merge back together once split, small enough to fit one chunk whole.
    paragraph = "\n".join(" * " + line for line in APACHE * 2 if line)
    source = f"/*\n{paragraph}\n\n{paragraph}\n */\npackage org.example;\n\nimport java.util.List;\n\n{JAVA}"
    chunks = chunk_source("Shop.java", source)
    assert_well_formed("Shop.java", source, chunks, MAX_TOKENS)
    assert chunks[0].start == 1 and "package org.example;" in chunks[0].text


def test_estimate_counts_punctuation_and_word_pieces() -> None:
    assert estimate_tokens("") == 2  # [CLS] and [SEP]
    assert estimate_tokens("x[i]=a[j]+b;") == 2 + 12  # every character of operator soup is a token
    assert estimate_tokens("getElementById") == 2 + 5  # get / Elem / ent / By / Id
    assert estimate_tokens("   \n\t  ") == 2


@pytest.mark.parametrize("text", ["", " ", "\n\n\n", " \t\n  \r\n"])
@pytest.mark.parametrize("path", ["a.py", "a.go", "a.md", "a.txt"])
def test_empty_or_whitespace_gives_no_chunks(path: str, text: str) -> None:
    assert chunk_source(path, text) == []


# ---------------------------------------------------------------- Python


def test_python_definitions_inside_if_try_and_with_blocks_are_named() -> None:
    methods = "".join(
        f"        @classmethod\n        def {name}(cls, v):\n            log.warning('no email-validator: {name}')\n"
        f"            return str(v)\n\n"
        for name in ("validate", "parse", "coerce", "check", "clean", "strip")
    )
    source = (
        "import logging\n\ntry:\n    from pydantic import EmailStr\nexcept ImportError:\n\n"
        f"    # A stand-in when the extra is missing.\n    class EmailStr(str):\n{methods}\n"
        "if sys.version_info >= (3, 12):\n    def batched(items, n):\n        return itertools.batched(items, n)\n"
        "else:\n    def batched(items, n):\n        return [items[i : i + n] for i in range(0, len(items), n)]\n"
    )
    chunks = chunk_source("openapi/models.py", source, max_tokens=120)
    assert_well_formed("openapi/models.py", source, chunks, 120)
    assert holding(chunks, "class EmailStr(str):").symbol == "EmailStr"
    assert "# A stand-in when the extra is missing." in holding(chunks, "class EmailStr(str):").text
    assert (holding(chunks, "def coerce(").symbol, holding(chunks, "def coerce(").kind) == ("EmailStr.coerce", "method")
    assert holding(chunks, "itertools.batched").symbol == "batched"
    assert holding(chunks, "range(0, len(items), n)").symbol == "batched"


def test_python_definitions_keep_decorators_comments_and_nested_functions() -> None:
    chunks = chunk_source("pkg/mod.py", PY)
    assert_well_formed("pkg/mod.py", PY, chunks)
    load = holding(chunks, "def load(")
    assert (load.symbol, load.kind) == ("load", "function")
    assert "# Comment describing load." in load.text and "@decorator(option=True)" in load.text
    outer = holding(chunks, "def outer(")
    assert (outer.symbol, outer.kind) == ("outer", "function")
    assert "def helper(" in outer.text  # nested functions stay inside their parent
    assert not any(s and "helper" in s for s in symbols(chunks))
    settings = holding(chunks, "SETTINGS = {")
    assert (settings.symbol, settings.kind) == ("SETTINGS", "variable")  # a long assignment is named
    short = "LIMITS = (1, 2)\nNAMES = [\n    'a',\n]\n"
    assert [(c.symbol, c.kind) for c in chunk_source("short.py", short)] == [(None, "module")]
    assert '"delta"' in settings.text
    assert "def " not in settings.text
    store = holding(chunks, "class Store:")
    assert (store.symbol, store.kind) == ("Store", "class")
    # Store is longer than MAX_LINES: it splits at its methods even though its tokens would fit.
    assert "async def put(" not in store.text
    assert holding(chunks, "async def put(").symbol == "Store.put"
    small = "class Point:\n    x: int = 0\n\n    def norm(self):\n        return abs(self.x)\n"
    whole = chunk_source("p.py", small)
    assert len(whole) == 1 and whole[0].symbol == "Point"  # a class that fits stays whole


def test_python_big_class_splits_into_header_and_methods() -> None:
    chunks = chunk_source("pkg/mod.py", PY, max_tokens=150)
    assert_well_formed("pkg/mod.py", PY, chunks, 150)
    load = holding(chunks, "def load(")
    assert load.start == file_lines(PY).index("# Comment describing load.") + 1
    header = holding(chunks, "class Store:")
    assert (header.symbol, header.kind) == ("Store", "class")
    assert 'kind = "memory"' in header.text
    for name in ("__init__", "get", "put"):
        method = holding(chunks, f"def {name}(")
        assert (method.symbol, method.kind) == (f"Store.{name}", "method")
    assert "def get(" not in holding(chunks, "def __init__(").text


def test_python_tiny_neighbours_merge() -> None:
    text = "".join(f"def f{k}():\n    return {k}\n\n\n" for k in range(5))
    chunks = chunk_source("m.py", text)
    assert_well_formed("m.py", text, chunks)
    assert len(chunks) == 1
    assert (chunks[0].symbol, chunks[0].kind) == ("f0", "function")


def test_python_tiny_module_code_joins_a_big_neighbour() -> None:
    body = "".join(f"    total += values[{k}] * weights[{k}] - offsets[{k}]\n" for k in range(12))
    function = f"def big(values, weights, offsets):\n    total = 0\n{body}    return total\n"
    text = f"import os\n\n\n{function}\n\nx = 1\n"
    chunks = chunk_source("m.py", text)
    assert_well_formed("m.py", text, chunks)
    # The import before and the assignment after are too small to stand alone.
    assert [(chunk.start, chunk.end, chunk.symbol) for chunk in chunks] == [(1, len(file_lines(text)), "big")]


def test_python_long_function_is_windowed_with_overlap() -> None:
    body = "".join(f"    total += compute(value_{k}, factor={k}) * weight_{k}\n" for k in range(200))
    text = f"def big(values):\n    total = 0\n{body}    return total\n"
    chunks = chunk_source("m.py", text)
    assert_well_formed("m.py", text, chunks)
    assert len(chunks) > 3
    assert all((chunk.symbol, chunk.kind) == ("big", "function") for chunk in chunks)
    assert all(chunk.end - chunk.start < MAX_LINES for chunk in chunks)
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert 1 <= before.end - after.start + 1 <= 2  # consecutive windows share a line or two


def test_windows_prefer_to_end_at_blank_lines() -> None:
    step = "".join(f"    total += compute(value, {k}) * weight_{k}\n" for k in range(6))
    text = "def big(value):\n    total = 0\n" + f"{step}\n" * 30 + "    return total\n"
    chunks = chunk_source("m.py", text)
    assert_well_formed("m.py", text, chunks)
    assert len(chunks) > 2
    lines = file_lines(text)
    assert all(lines[chunk.end - 1] == "" for chunk in chunks[:-1])


def test_python_syntax_error_falls_back_to_blocks() -> None:
    text = "def broken(:\n    pass\n\n\nclass Fine:\n    x = 1\n"
    chunks = chunk_source("bad.py", text)
    assert_well_formed("bad.py", text, chunks)
    assert {chunk.kind for chunk in chunks} == {"block"}
    assert all(chunk.lang == "python" for chunk in chunks)


def test_python_crlf_and_lone_cr_keep_exact_lines() -> None:
    crlf = PY.replace("\n", "\r\n")
    chunks = chunk_source("pkg/mod.py", crlf, max_tokens=150)
    assert_well_formed("pkg/mod.py", crlf, chunks, 150)
    assert "Store.get" in symbols(chunks)
    lone = "x = 1\rdef f():\n    return 2\n"
    assert_well_formed("m.py", lone, chunk_source("m.py", lone))


# ---------------------------------------------------------------- brace languages


def test_typescript_functions_arrows_classes_and_members() -> None:
    chunks = chunk_source("web/app.ts", TS, max_tokens=150)
    assert_well_formed("web/app.ts", TS, chunks, 150)
    assert holding(chunks, "function greet(").symbol == "greet"
    assert (holding(chunks, "const handler").symbol, holding(chunks, "const handler").kind) == (
        "handler",
        "function",
    )
    assert holding(chunks, "export class Widget").symbol == "Widget"
    assert "// A widget with a few methods." in holding(chunks, "export class Widget").text
    render = holding(chunks, "async render(")
    assert (render.symbol, render.kind) == ("Widget.render", "method")
    assert holding(chunks, "onClick = ").symbol == "Widget.onClick"
    assert holding(chunks, "interface Options").symbol == "Options"


@pytest.mark.parametrize(
    "signature",
    [
        # An object type among the parameters: its `},` is no end of a statement.
        "export function ensureQueryFn<T>(\n  options: {\n    queryFn?: Fn<T>\n  },\n  fetch?: Options,\n): Fn<T> {",
        # A destructured parameter typed with an object type inside type arguments.
        "function EditorWithStore({\n  store,\n}: Required<\n  Props & {\n    store: Store\n  },\n  'tools'\n>) {",
    ],
)
def test_a_typescript_signature_holding_an_object_type_is_one_function(signature: str) -> None:
    name = "ensureQueryFn" if "ensureQueryFn" in signature else "EditorWithStore"
    text = f"import x from './x';\n\n{signature}\n{_filler_lines('step')}  return step1\n}}\n"
    chunks = chunk_source("src/utils.ts", text, max_tokens=400)
    assert_well_formed("src/utils.ts", text, chunks, 400)
    body = [chunk for chunk in chunks if "step" in chunk.text]
    assert body and {(chunk.symbol, chunk.kind) for chunk in body} == {(name, "function")}


def test_cmake_functions_and_macros_are_named_definitions() -> None:
    steps = "".join(f"  set(_step{n} ${{ARGV{n}}})\n  list(APPEND _steps ${{_step{n}}})\n" for n in range(14))
    text = (
        "#[=======[.rst:\nFetchContent\n------------\n\nFetches content at configure time.\n#]=======]\n\n"
        "include(CMakeParseArguments)\n\n"
        f"# Declares where content comes from.\nfunction(FetchContent_Declare contentName)\n{steps}endfunction()\n\n"
        f"MACRO(FetchContent_MakeAvailable)\n{steps}ENDMACRO()\n\nset(FETCHCONTENT_QUIET ON)\n"
    )
    macro_line = text.count("\n", 0, text.index("MACRO")) + 1
    for path in ("Modules/FetchContent.cmake", "CMakeLists.txt"):
        chunks = chunk_source(path, text, max_tokens=150)
        assert_well_formed(path, text, chunks, 150)
        declare = [chunk for chunk in chunks if "_step" in chunk.text and chunk.start < macro_line]
        assert len(declare) > 1 and {(c.symbol, c.kind) for c in declare} == {("FetchContent_Declare", "function")}
        assert "# Declares where" in declare[0].text
        available = holding(chunks, "ENDMACRO")
        assert (available.symbol, available.kind) == ("FetchContent_MakeAvailable", "macro")
        assert holding(chunks, "Fetches content").symbol is None


def test_a_block_opened_in_two_preprocessor_branches_is_opened_once() -> None:
    # libuv's tty.c: counted twice, the brace made the rest of the file one function.
    steps = "".join(f"    total += table[{n}] * weight_{n};\n" for n in range(10))
    text = (
        "static int write_bufs(const char* buf, int c) {\n  int total = 0;\n"
        "#ifdef _MSC_VER /* msvc */\n  if (_BitScanReverse(&bit, c)) {\n#else\n  if (c != 0) {\n#endif\n"
        f"{steps}  }}\n  return total;\n}}\n\n"
        "#if defined(_WIN32)\nstatic void platform_init(void) { init_win(); }\n"
        "#else\nstatic void platform_init(void) { init_unix(); }\n#endif\n\n"
        f"int tty_write(uv_loop_t* loop, const char* buf) {{\n{steps}  return 0;\n}}\n"
    )
    chunks = chunk_source("win/tty.c", text, max_tokens=120)
    assert_well_formed("win/tty.c", text, chunks, 120)
    assert holding(chunks, "weight_9;\n  }").symbol == "write_bufs"
    assert holding(chunks, "int tty_write(").symbol == "tty_write"
    assert holding(chunks, "init_unix").symbol == "platform_init"  # balanced branches count as they are


def test_a_rust_macro_block_of_items_is_named_by_its_first_item() -> None:
    # hyper's FFI wraps each function in `ffi_fn! { ... }`; Tokio wraps items in `cfg_rt! { ... }`.
    body = "".join(f"        let step{n} = task.value({n});\n" for n in range(6))
    small = f"ffi_fn! {{\n    /// Frees a task.\n    fn hyper_task_free(task: *mut hyper_task) {{\n{body}    }}\n}}\n"
    items = "".join(f"    pub fn spawn_{n}(task: Task) -> JoinHandle {{\n{body}    }}\n\n" for n in range(8))
    text = f"use crate::task;\n\n{small}\ncfg_rt! {{\n{items}}}\n"
    chunks = chunk_source("src/ffi/task.rs", text, max_tokens=200)
    assert_well_formed("src/ffi/task.rs", text, chunks, 200)
    assert (holding(chunks, "fn hyper_task_free").symbol, holding(chunks, "fn hyper_task_free").kind) == (
        "hyper_task_free",
        "function",
    )
    # Too long for one chunk, the block is cut into its items, each named as before.
    assert holding(chunks, "pub fn spawn_7").symbol == "spawn_7"


def test_a_go_signature_holding_an_empty_struct_type_is_one_function() -> None:
    # Prometheus's registry.go: `metricHashes map[uint64]struct{},` once ended the statement, and the
    # body of processMetric was cut into unnamed pieces.
    body = "".join(f"\tstep{n} := metric.Value({n})\n\tif step{n} == nil {{\n\t\treturn nil\n\t}}\n" for n in range(8))
    text = (
        "package prometheus\n\nfunc processMetric(\n\tmetric Metric,\n\tmetricHashes map[uint64]struct{},\n"
        f"\tregisteredDescIDs map[uint64]struct{{}},\n) error {{\n{body}\treturn nil\n}}\n"
    )
    chunks = chunk_source("registry.go", text, max_tokens=150)
    assert_well_formed("registry.go", text, chunks, 150)
    body_chunks = [chunk for chunk in chunks if "step" in chunk.text]
    assert len(body_chunks) > 1 and {(c.symbol, c.kind) for c in body_chunks} == {("processMetric", "function")}


def test_a_javascript_regex_literal_holds_no_brackets() -> None:
    # An unbalanced parenthesis or brace inside a regex once shifted every count after it.
    text = (
        f"export function first(s) {{\n{_filler_lines('a')}  return /\\(/.test(s) || /[{{]/.test(s)\n}}\n\n"
        f"export function second(a, {{\n  b,\n}}) {{\n{_filler_lines('b')}  return a + b\n}}\n"
    )
    chunks = chunk_source("lib/re.js", text, max_tokens=400)
    assert_well_formed("lib/re.js", text, chunks, 400)
    assert holding(chunks, "function first").symbol == "first"
    assert holding(chunks, "return a + b").symbol == "second"


def _filler_lines(word: str) -> str:
    return "".join(f"    const {word}{i} = compute{i}(config, {i});\n" for i in range(12))


@pytest.mark.parametrize(
    ("path", "opening", "symbol", "kind"),
    [
        # A default export is named as it is imported.
        ("helpers/resolveConfig.js", "export default (config) => {", "resolveConfig", "function"),
        ("helpers/parseHeaders.js", "export default rawHeaders => {", "parseHeaders", "function"),
        ("adapters/xhr.js", "export default isXHRAdapterSupported && function (config) {", "xhr", "function"),
        (
            "adapters/http.js",
            "export default isHttpAdapterSupported && function httpAdapter(config) {",
            "httpAdapter",
            "function",
        ),
        ("src/widgets/index.ts", "export default async function () {", "widgets", "function"),
        ("adapters/fetch.js", "export default isFetchSupported && (async (config) => {", "fetch", "function"),
        ("components/Card.tsx", "export default memo(({ title }: Props) => {", "Card", "function"),
        # CommonJS (Express's style): a function assigned to a member is named by it.
        ("lib/application.js", "app.use = function use(fn) {", "app.use", "method"),
        ("lib/router.js", "Router.prototype.route = async function route(path) {", "Router.route", "method"),
        ("lib/utils.js", "exports.merge = function merge(a, b) {", "merge", "function"),
        ("lib/utils.js", "module.exports.normalize = (type) => {", "normalize", "function"),
        ("lib/express.js", "module.exports = function createApplication() {", "createApplication", "function"),
        ("lib/handler.js", "module.exports = (req, res) => {", "handler", "function"),
    ],
)
def test_a_javascript_function_is_named_as_it_is_used(path: str, opening: str, symbol: str, kind: str) -> None:
    # Its locals (`const parsed = ...`) once named its chunks: the body reads as module-level code.
    text = f"import x from './x.js';\n\n{opening}\n{_filler_lines('parsed')}\n{_filler_lines('more')}}};\n"
    chunks = chunk_source(path, text, max_tokens=120)
    assert_well_formed(path, text, chunks, 120)
    body = [chunk for chunk in chunks if "parsed" in chunk.text or "more" in chunk.text]
    assert len(body) > 1 and {(chunk.symbol, chunk.kind) for chunk in body} == {(symbol, kind)}


def test_a_small_function_merged_after_a_variable_names_the_chunk() -> None:
    js = (
        "const { parse } = require('pg-connection-string');\nconst parsePG = parse;\n\n"
        "/**\n * @param str\n */\nfunction tryParse(str) {\n  try {\n    return new URL(str);\n"
        "  } catch (e) {\n    return null;\n  }\n}\n"
    )
    [chunk] = chunk_source("lib/parse-connection.js", js)
    assert (chunk.symbol, chunk.kind) == ("tryParse", "function")
    # A definition first keeps its name.
    [chunk] = chunk_source("lib/parse.js", "function tryParse(str) {\n  return str;\n}\n\nconst parsePG = parse;\n")
    assert chunk.symbol == "tryParse"


def test_a_member_assigned_a_value_is_no_definition() -> None:
    text = "exports.limit = 100;\n\napp.settings = defaults.settings;\n"
    assert {chunk.symbol for chunk in chunk_source("lib/application.js", text)} == {None}


@pytest.mark.parametrize(
    ("opening", "between"),
    [
        ("export default {", "\n"),
        ("module.exports = {", "\n"),
        ("const adapters = {", ""),  # no blank line between the members: `},` ends one
        ("export const adapters: Adapters = {", "\n"),
    ],
)
def test_the_methods_of_an_object_literal_are_named(opening: str, between: str) -> None:
    steps = "".join(f"    step{i}(config, adapters, cache);\n" for i in range(6))
    js = (
        f"{opening}\n  adapters: knownAdapters,\n{between}"
        f"  getAdapter: (adapters) => {{\n{steps}    return adapters.find(Boolean);\n  }},\n{between}"
        f"  validate: function (config) {{\n{steps}    return !!config;\n  }},\n{between}"
        f"  reset() {{\n{steps}    cache.clear();\n  }}\n"
        "};\n"
    )
    chunks = chunk_source("adapters/adapters.js", js, max_tokens=80)
    assert_well_formed("adapters/adapters.js", js, chunks, 80)
    assert holding(chunks, "adapters.find").symbol == "adapters.getAdapter"
    assert holding(chunks, "!!config").symbol == "adapters.validate"
    assert holding(chunks, "cache.clear").symbol == "adapters.reset"


def test_a_typed_function_field_is_no_method() -> None:
    fields = "".join(f"    field{i}_: number | undefined\n" for i in range(4))
    steps = "".join(f"        this.field{i}_ = compute{i}(this.derivation)\n" for i in range(8))
    ts = (
        f"export class ComputedValue<T> {{\n    constructor() {{\n{steps}    }}\n\n"
        f"    derivation: () => T\n    setter_?: (value: T) => void\n{fields}\n"
        f"    get(): T {{\n{steps}        return this.value_\n    }}\n}}\n"
    )
    chunks = chunk_source("core/computedvalue.ts", ts, max_tokens=100)
    assert holding(chunks, "return this.value_").symbol == "ComputedValue.get"  # the class is split
    assert (holding(chunks, "derivation: () => T").symbol, holding(chunks, "derivation: () => T").kind) == (
        "ComputedValue",
        "class",
    )


def test_a_long_doc_comment_does_not_hide_the_declaration_after_it() -> None:
    doc = "".join(f"// Line {i} of a long note on how observers are added and kept in order.\n" for i in range(16))
    jsdoc = "/**\n" + "".join(f" * Step {i}: what the batch does at this point.\n" for i in range(14)) + " */\n"
    ts = (
        f"{doc}export function addObserver(observable: IObservable, node: IDerivation) {{\n"
        "    observable.observers_.add(node)\n}\n\n"
        f"{jsdoc}export function startBatch() {{\n    globalState.inBatch++\n}}\n"
    )
    chunks = chunk_source("core/observable.ts", ts, max_tokens=500)
    assert_well_formed("core/observable.ts", ts, chunks, 500)
    assert holding(chunks, "observers_.add(node)").symbol == "addObserver"
    assert holding(chunks, "inBatch++").symbol == "startBatch"


def test_go_receivers_name_methods() -> None:
    chunks = chunk_source("router/router.go", GO, max_tokens=150)
    assert_well_formed("router/router.go", GO, chunks, 150)
    handle = holding(chunks, "func (r *Router) Handle(")
    assert (handle.symbol, handle.kind) == ("Router.Handle", "method")
    assert "// Handle registers a handler for a path." in handle.text
    assert holding(chunks, "func (r Router) ServeHTTP(").symbol == "Router.ServeHTTP"
    assert holding(chunks, "func New(").symbol == "New"
    assert "type Router struct" in holding(chunks, "prefix string").text


def test_rust_impl_members_and_raw_strings() -> None:
    chunks = chunk_source("src/lib.rs", RUST, max_tokens=100)
    assert_well_formed("src/lib.rs", RUST, chunks, 100)
    assert (holding(chunks, "pub fn new(").symbol, holding(chunks, "pub fn new(").kind) in {
        ("Point.new", "method"),
        ("Point", "impl"),  # the impl header merged with its first method keeps the impl's name
    }
    norm = holding(chunks, "pub fn norm(")
    assert (norm.symbol, norm.kind) == ("Point.norm", "method")
    assert holding(chunks, "fmt::Display for Point").symbol == "Point"
    assert "#[derive(Debug, Clone)]" in holding(chunks, "pub struct Point").text
    trait = "/// Shapes.\npub trait Shape {\n    fn area(&self) -> f64;\n}\n"
    assert [(c.symbol, c.kind) for c in chunk_source("shape.rs", trait)] == [("Shape", "trait")]


def test_rust_inline_test_module_members_are_named_by_module_path() -> None:
    body = "".join(
        f'    #[test]\n    fn parses_case_{i}() {{\n        let parsed = parse("{i}");\n'
        f"        assert_eq!(parsed.len(), {i});\n        assert!(parsed.is_valid());\n    }}\n\n"
        for i in range(6)
    )
    source = "pub fn parse(text: &str) -> Vec<u8> {\n    text.bytes().collect()\n}\n\n"
    source += f"#[cfg(test)]\nmod tests {{\n    use super::*;\n\n{body}}}\n"
    chunks = chunk_source("src/parse.rs", source, max_tokens=100)
    assert_well_formed("src/parse.rs", source, chunks, 100)
    assert (holding(chunks, "pub fn parse(").symbol, holding(chunks, "pub fn parse(").kind) == ("parse", "function")
    case = holding(chunks, "fn parses_case_3(")
    assert (case.symbol, case.kind) == ("tests.parses_case_3", "function")


RUBY = """# frozen_string_literal: true

require "zlib"

module Rack
  # Compresses responses.
  # Second line.
  class Deflater
    include Helpers

    def initialize(app, options = {})
      @app = app
    end

    def call(env)
      status, headers, body = @app.call(env)
      body
    rescue Zlib::Error => e
      raise
    ensure
      close
    end

    def self.build(x) = new(x)

    def empty?; true; end

    private

    # Writes one chunk.
    def write(data)
      @writer.call(data)
    end

    class GzipStream
      def each
        yield 1
      end
    end
  end
end
"""
LUA = """-- Utilities.
local M = {}

-- Joins two paths.
function M.join(a, b)
  if b == nil then
    return a
  end
  return a .. "/" .. b
end

local function trim(s)
  return (s:gsub("^%s+", ""))
end

M.split = function(s, sep)
  local out = {}
  for part in s:gmatch("[^" .. sep .. "]+") do
    out[#out + 1] = part
  end
  return out
end

return M
"""
ELIXIR = '''defmodule Router do
  @moduledoc """
  A DSL to define a routing algorithm.
  """

  @doc "Dispatches the connection."
  def dispatch(conn, opts) do
    case conn.private do
      %{plug_route: {_, fun}} -> fun.(conn, opts)
      _ -> conn
    end
  end

  def match_path(conn), do: conn.path_info

  defp build_path(segments) do
    Enum.join(segments, "/")
  end

  defmacro get(path, options) do
    quote do: compile(:get, unquote(path), unquote(options))
  end
end
'''


def test_ruby_definitions_are_named_through_modules_and_classes() -> None:
    chunks = chunk_source("lib/rack/deflater.rb", RUBY, max_tokens=60)
    assert_well_formed("lib/rack/deflater.rb", RUBY, chunks, 60)
    named = {(c.symbol, c.kind) for c in chunks}
    # `module Rack` holds only the class: its line heads the class's chunk, not a chunk of its own.
    assert holding(chunks, "module Rack") is holding(chunks, "class Deflater")
    assert holding(chunks, "class Deflater").symbol == "Rack.Deflater"
    call = holding(chunks, "def call(env)")
    assert (call.symbol, call.kind) == ("Rack.Deflater.call", "method")
    # rescue/ensure go on with the method: its windows run to its `end`
    assert next(c for c in chunks if "close" in c.text).symbol == "Rack.Deflater.call"
    assert "# Writes one chunk." in holding(chunks, "def write(").text
    assert holding(chunks, "def write(").symbol == "Rack.Deflater.write"
    assert ("Rack.Deflater.build", "method") in named  # def self.build
    # The closing `end` lines join the last definition rather than make a chunk of their own.
    assert chunks[-1].end == len(RUBY.splitlines()) and "def each" in chunks[-1].text


PERL = r"""package Mojo::File;
use Mojo::Base -strict;

# Copies the file; croaks with the reason.
sub copy_to {
  my ($self, $to) = @_;
  copy($$self, $to) or croak qq{Can't copy file "$$self" to "$to": $!};
  return $self->new(-d $to ? ($to, $self->basename) : $to);
}

sub escape {
  my $str = shift;
  $str =~ s/'/&#39;/g;
  $str =~ s{[{}]}{}g;
  return $str if $str =~ /^\{/;
  my $text = <<"END";
Can't stop { here
END
  return $#{$self} + 1;
}

package Mojo::File::Temp;

sub DESTROY { unlink ${shift()} }

1;

=encoding utf8

=head1 NAME

Mojo::File - File system paths

=head2 copy_to

  my $destination = $path->copy_to('/home/sri');

Copy file with L<File::Copy> and return the destination.

=cut
"""


BLOCK_FILLER = "".join(f"  step{n} = {n} * value + offset\n" for n in range(8))


@pytest.mark.parametrize(
    ("path", "definition", "symbol", "kind"),
    [
        ("deploy.sh", "# Pushes the build.\ndeploy_site() {", "deploy_site", "function"),
        ("lib.bash", "function retry {", "retry", "function"),
        (
            "src/ssh_auth.erl",
            "%% Picks a method.\n-spec next_method(term()) -> term().\nnext_method(S) ->",
            "next_method",
            "function",
        ),
        ("src/ssh.hrl", "-record(ssh, {role, peer}).", "ssh", "struct"),
        (
            "src/Data/Map.hs",
            "-- | Inserts a key.\ninsert :: Ord k => k -> a -> Map k a -> Map k a",
            "insert",
            "function",
        ),
        ("src/Data/Map.hs", "data Map k a = Bin Int k a | Tip", "Map", "type"),
        (
            "src/cmdliner.ml",
            "(** [eval t] runs [t].\n    On error exits. *)\nlet rec eval ?(argv = Sys.argv) t =",
            "eval",
            "function",
        ),
        ("src/term.mli", "val const : 'a -> 'a t", "const", "function"),
        # A module alias is an import: the definition after it names the block.
        ("src/lwt_condition.ml", "module Lwt_sequence = Lwt_sequence\nlet wait ?mutex cvar =", "wait", "function"),
        ("src/lwt_io.ml", "module Primitives = Make(Unix)", "Primitives", "module"),
        ("src/lib.nim", "proc parseConfig*(path: string): Config =", "parseConfig", "function"),
        ("src/main.zig", "pub fn parseArgs(allocator: Allocator) !Args {", "parseArgs", "function"),
        ("db/schema.sql", "-- Users.\nCREATE TABLE IF NOT EXISTS users (", "users", "table"),
        (
            "db/schema.sql",
            "create or replace function touch_updated() returns trigger as $$",
            "touch_updated",
            "function",
        ),
        ("api.proto", "service Greeter {", "Greeter", "interface"),
        # Prolog: a PlDoc comment names its predicate, as a clause's head does.
        (
            "library/csv.pl",
            "%!  csv_read_file(+File, -Rows) is det.\n%\ncsv_read_file(File, Rows) :-",
            "csv_read_file",
            "function",
        ),
        ("library/csv.pl", "csv(Rows) -->", "csv", "function"),
        ("schema.graphql", "type Query {", "Query", "type"),
    ],
)
def test_a_block_that_opens_with_a_definition_is_named_by_it(
    path: str, definition: str, symbol: str, kind: str
) -> None:
    # A plain block before it, and enough after it that the blocks cannot all merge into one chunk.
    text = "\n\n".join(
        ["intro words here", f"{definition}\n{BLOCK_FILLER}"] + [f"x{n} =\n{BLOCK_FILLER}" for n in range(6)]
    )
    chunks = chunk_source(path, text, max_tokens=120)
    assert_well_formed(path, text, chunks, 120)
    first = holding(chunks, definition.split("\n")[-1])
    assert (first.symbol, first.kind) == (symbol, kind)


def test_a_csharp_method_returning_object_is_a_method() -> None:
    body = "".join(f"            var step{n} = reader.Value + {n};\n" for n in range(10))
    csharp = (
        "namespace Newtonsoft.Json.Converters\n{\n    public class XmlNodeConverter : JsonConverter\n    {\n"
        "        public override object ReadJson(JsonReader reader, Type objectType)\n        {\n"
        f"{body}            return null;\n        }}\n\n"
        "        public object Value { get; set; }\n    }\n}\n"
    )
    chunks = chunk_source("Converters/XmlNodeConverter.cs", csharp, max_tokens=90)
    assert_well_formed("Converters/XmlNodeConverter.cs", csharp, chunks, 90)
    read = holding(chunks, "step9")
    assert (read.symbol, read.kind) == ("XmlNodeConverter.ReadJson", "method")
    # Kotlin's and Scala's `object` still declares one.
    kotlin = chunk_source("Registry.kt", "object Registry {\n    fun all() = listOf(1)\n}\n")
    assert (kotlin[0].symbol, kotlin[0].kind) == ("Registry", "object")


NOTEBOOK = """{
 "cells": [
  {
   "cell_type": "markdown",
   "metadata": {},
   "source": [
    "# Training the model\\n",
    "We fit a linear model to the cleaned data.\\n"
   ]
  },
  {
   "cell_type": "code",
   "execution_count": 1,
   "metadata": {},
   "outputs": [
    {
     "data": {
      "image/png": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
     },
     "output_type": "display_data"
    }
   ],
   "source": [
    "import numpy as np\\n",
    "def train(x):\\n",
    "    return np.mean(x)"
   ]
  }
 ],
 "metadata": {"kernelspec": {"name": "python3"}},
 "nbformat": 4,
 "nbformat_minor": 5
}
"""


def test_a_notebook_is_chunked_by_its_cells_sources_without_outputs() -> None:
    chunks = chunk_source("analysis/train.ipynb", NOTEBOOK, max_tokens=120)
    assert [chunk.lang for chunk in chunks] == ["notebook"] * len(chunks)
    assert not any("iVBOR" in chunk.text or "nbformat" in chunk.text for chunk in chunks)
    markdown = holding(chunks, "We fit a linear model")
    assert (markdown.symbol, markdown.kind) == ("Training the model", "section")
    code = holding(chunks, "def train(x)")
    assert (code.start, code.end) == (24, 26) and (code.symbol, code.kind) == ("train", "function")
    lines = NOTEBOOK.split("\n")
    assert code.text == "\n".join(lines[23:26])  # its lines of the file, as they are
    # JSON that is not a notebook written line by line is cut as before, every line kept.
    flat = '{"cells": [{"cell_type": "code", "source": "x = 1"}]}\n'
    assert_well_formed("flat.ipynb", flat, chunk_source("flat.ipynb", flat))


def test_scala_qualified_access_does_not_hide_a_declaration() -> None:
    body = "".join(f"      display{n} = that.display{n}\n" for n in range(12))
    scala = (
        "private[immutable] trait VectorPointer[T] {\n    private[immutable] var depth: Int = _\n\n"
        "    // used\n    private[immutable] final def initFrom[U](that: VectorPointer[U]) = {\n"
        f"      this.depth = that.depth\n\n{body}    }}\n\n"
        "    protected[this] def gotoPos(index: Int): Unit = {\n      depth = index\n    }\n}\n"
    )
    chunks = chunk_source("immutable/Vector.scala", scala, max_tokens=80)
    assert_well_formed("immutable/Vector.scala", scala, chunks, 80)
    assert holding(chunks, "display11 = that").symbol == "VectorPointer.initFrom"
    assert holding(chunks, "depth = index").symbol == "VectorPointer.gotoPos"
    assert holding(chunks, "var depth").symbol == "VectorPointer"


def test_kotlin_nested_type_parameters_and_typealias_are_named() -> None:
    body = "".join(f"    val step{n} = compare(a, b) + {n}\n" for n in range(10))
    kotlin = (
        "/**\n * Returns a comparator that compares [Comparable] objects in natural order.\n */\n"
        "public fun <T : Comparable<T>> naturalOrder(): Comparator<T> {\n" + body + "    return c\n}\n\n"
        "public inline fun <K, V, R, M : MutableMap<in K, in R>> Map<out K, V>.mapValuesTo(destination: M): M {\n"
        + body + "    return destination\n}\n\n"
        "@Deprecated(\"Use SequenceScope instead.\")\npublic typealias SequenceBuilder<T> = SequenceScope<T>\n"
    )
    chunks = chunk_source("comparisons/Comparisons.kt", kotlin, max_tokens=120)
    assert_well_formed("comparisons/Comparisons.kt", kotlin, chunks, 120)
    assert holding(chunks, "natural order").symbol == "naturalOrder"
    assert holding(chunks, "return destination").symbol == "Map.mapValuesTo"
    alias = holding(chunks, "typealias")
    assert (alias.symbol, alias.kind) == ("SequenceBuilder", "type")


def test_kotlin_extension_functions_take_their_receiver_and_parameter_lists_hold_together() -> None:
    body = "".join(f"  val step{n} = options.value * {n} + offset\n" for n in range(8))
    kotlin = (
        "data class CameraConfiguration(\n  // Outputs\n  var preview: Output? = null,\n\n"
        f"  // Side props\n  var fps: Int? = null,\n) {{\n  fun copyOf() {{\n{body}  }}\n}}\n\n"
        f"suspend fun CameraSession.takePhoto(options: Options): Photo {{\n{body}  return capture(options)\n}}\n\n"
        f"fun <T> List<T>.second(): T {{\n{body}  return this[1]\n}}\n"
    )
    chunks = chunk_source("core/CameraConfiguration.kt", kotlin, max_tokens=200)
    assert_well_formed("core/CameraConfiguration.kt", kotlin, chunks, 200)
    # The blank line among the constructor's properties does not leave `var fps` outside the class.
    assert holding(chunks, "var fps").symbol == "CameraConfiguration"
    assert holding(chunks, "fun CameraSession.takePhoto").symbol == "CameraSession.takePhoto"
    assert holding(chunks, "List<T>.second").symbol == "List.second"


def test_perl_subs_are_named_by_package_and_pod_is_kept_apart() -> None:
    # POD that looks like code (`=head2 copy_to`, an example call) must not pass for it, nor code for POD.
    chunks = chunk_source("lib/Mojo/File.pm", PERL, max_tokens=60)
    assert_well_formed("lib/Mojo/File.pm", PERL, chunks, 60)
    copy = holding(chunks, "sub copy_to")
    assert (copy.symbol, copy.kind) == ("Mojo.File.copy_to", "method")
    assert "# Copies the file" in copy.text
    assert holding(chunks, "sub escape").symbol == "Mojo.File.escape"
    destroy = holding(chunks, "sub DESTROY")
    # A one-line sub joins its package's opening line, whose name the chunk keeps.
    assert destroy.symbol == "Mojo.File.Temp" and "sub escape" not in destroy.text
    assert holding(chunks, "package Mojo::File;").symbol == "Mojo.File"
    pod = holding(chunks, "Copy file with")
    assert "sub " not in pod.text and pod.kind == "block"
    block = "package Foo::Bar {\n  use strict;\n\n  sub baz {\n    my $x = shift;\n    return $x + 1;\n  }\n}\n"
    block += "__END__\n\n" + "".join(f"=head2 part{n}\n\nSome words about part {n}.\n\n" for n in range(9))
    chunks = chunk_source("lib/Foo.pm", block, max_tokens=40)
    assert_well_formed("lib/Foo.pm", block, chunks, 40)
    assert holding(chunks, "sub baz").symbol == "Foo.Bar.baz"  # a package block names its subs too
    assert holding(chunks, "part 8").kind == "block"


SHELL = """#!/bin/bash
# Helpers for completions.

# Check the userland.
_userland()
{
    local userland=$(uname -s)
    [[ $userland == "$1" ]]
}

# Complete the names of services.
#
_services()
{
    local sysvdirs
    _sysvdirs

    local IFS=$' \\t\\n' reset=$(shopt -p nullglob)
    shopt -s nullglob
    COMPREPLY=(
        $(printf '%s\\n' ${sysvdirs[0]}/!($_backup_glob|functions|README)))
    $reset

    COMPREPLY+=($({ systemctl list-units --full --all ||
        systemctl list-unit-files; } 2>/dev/null |
        awk '$1 ~ /\\.service$/ { sub("\\\\.service$", "", $1); print $1 }'))

    if [[ -x /sbin/upstart-udev-bridge ]]; then
        COMPREPLY+=($(initctl list 2>/dev/null | cut -d' ' -f1))
    fi

    ((${#COMPREPLY[@]})) &&
        COMPREPLY=($(compgen -W '${COMPREPLY[@]#${sysvdirs[0]}/}' -- "$cur"))
}

function _have { type $1 &>/dev/null; }

complete -F _services service
complete -F _services invoke-rc.d
"""


def test_shell_functions_are_whole_definitions() -> None:
    chunks = chunk_source("lib/helpers", SHELL, max_tokens=100)
    assert_well_formed("lib/helpers", SHELL, chunks, 100)
    # A long function is cut into windows, every one named for it, blank lines inside or not.
    services = [chunk for chunk in chunks if chunk.symbol == "_services"]
    assert len(services) > 1 and {chunk.kind for chunk in services} == {"function"}
    assert holding(chunks, "upstart-udev-bridge").symbol == "_services"
    assert "# Complete the names of services." in services[0].text  # its comment goes with it
    assert holding(chunks, "uname -s").symbol == "_userland"
    assert holding(chunks, "function _have").symbol == "_have"  # `function name`, one line
    assert holding(chunks, "complete -F _services invoke-rc.d").symbol in (None, "_have")
    # Unbalanced braces: what follows is cut at blank lines, as before.
    broken = "f()\n{\n  echo {\n\n  echo x\n\ng() {\n" + "  echo y\n" * 30 + "}\n"
    chunks = chunk_source("broken.sh", broken, max_tokens=100)
    assert_well_formed("broken.sh", broken, chunks, 100)
    assert holding(chunks, "echo x").symbol == "f" and holding(chunks, "echo y").symbol == "g"


ZIG = r"""const std = @import("std");
const Step = std.Build.Step;

const Run = @This();

step: Step,
/// Arguments, in order.
argv: std.ArrayListUnmanaged(Arg),

pub const StdIo = union(enum) {
    infer_from_args,
    inherit,
};

pub fn addArg(run: *Run, arg: []const u8) void {
    const b = run.step.owner;
    // A comment with a stray } brace.
    const usage =
        \\usage: run [options] {
        \\  -h  print this help
    ;
    _ = usage;

    run.argv.append(b.allocator, .{ .bytes = b.dupe(arg) }) catch @panic("OOM");

    if (run.argv.items.len > 100) {
        std.log.warn("{d} arguments", .{run.argv.items.len});
    }

    const brace = '{';
    _ = brace;
    run.step.result_error_msgs.clearRetainingCapacity();
}

test "addArg appends" {
    var run: Run = undefined;
    run.addArg("--verbose");
    try std.testing.expectEqualStrings("--verbose", run.argv.items[0].bytes);
}
"""


def test_zig_is_chunked_by_its_braces() -> None:
    chunks = chunk_source("Step/Run.zig", ZIG, max_tokens=60)
    assert_well_formed("Step/Run.zig", ZIG, chunks, 60)
    # A long function is cut into windows, each named for it: braces in strings, multi-line string
    # literals, character literals and comments count for nothing.
    windows = [chunk for chunk in chunks if chunk.symbol == "addArg"]
    assert len(windows) > 1 and {chunk.kind for chunk in windows} == {"function"}
    assert holding(chunks, "clearRetainingCapacity").symbol == "addArg"
    union = holding(chunks, "infer_from_args")
    assert (union.symbol, union.kind) == ("StdIo", "union")
    assert holding(chunks, "expectEqualStrings").symbol == "test"  # weighs as a test in search
    assert holding(chunks, "@import").symbol in (None, "Run")  # imports name nothing


SOLIDITY = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @dev Implementation of the ERC-20 interface.
abstract contract ERC20 is Context, IERC20 {
    mapping(address account => uint256) private _balances;

    constructor(string memory name_, string memory symbol_) {
        _name = name_;
        _symbol = symbol_;
    }

    /// @dev Moves a `value` amount of tokens from the caller's account to `to`.
    function transfer(address to, uint256 value) public virtual returns (bool) {
        address owner = _msgSender();
        _transfer(owner, to, value); // a stray { brace in a comment
        return true;
    }

    modifier onlyOwner() {
        require(msg.sender == _owner, "caller is not the owner {");
        _;
    }
}
"""
D_PATH = """module std.path;

/// Returns the extension of a path: braces in "{strings}", `raw {strings}` and /+ comments { +/ do not count.
string extension(string path) @safe pure nothrow
{
    auto i = lastIndexOf(path, '.');
    return i < 0 ? null : path[i .. $];
}

@safe unittest
{
    assert(extension("file.d") == ".d");
}

struct PathSplitter(R)
{
    R _path;
    @property bool empty() const { return _path.length == 0; }
}
"""
TCL_HTTP = """# http.tcl --
namespace eval ::http {
    variable urlTypes
    array set urlTypes {http {80 ::socket}}
}

# Fetch a URL; a # inside a word such as a#b is no comment.
proc ::http::geturl {url args} {
    set token [CreateToken a#b]
    puts "{not a brace"
    return $token
}

oo::class create ::http::Pool {
    method request {url} {
        return [geturl $url]
    }
}
"""
POWERSHELL = """<#
.SYNOPSIS
Gets a { module.
#>
function Get-ModuleInfo {
    param([string]$Name)  # a { brace in a comment
    return "module {$Name"
}

class Inventory {
    [string] Describe() { return 'inventory' }
}
"""
HAXE = """package haxe.display;

@:forward
enum abstract ModuleTypeKind(Int) {
    var Class = 0;
}

typedef FieldResolution = {
    var isQualified:Bool;
}

class Lambda {
    public static inline function array<A>(it:Iterable<A>):Array<A> {
        return [for (x in it) x];
    }
}
"""
CRYSTAL = """module HTTP
  # Parses a request line.
  def self.parse_line(line : String) : Request?
    parts = line.split
    Request.new(parts[0], parts[1])
  end

  struct Headers
    def add(key, value)
      @hash[key] = value
    end
  end
end
"""
FSHARP = """let rec private chooseImpl f (source: seq<'T>) =
    // keeps the elements for which the chooser gives Some value, in order
    source |> Seq.filter f |> Seq.map (fun x -> x)

type Result<'T, 'E> =
    | Ok of 'T
    | Error of 'E

type Shape() =
    member this.Area = 1.0
    member this.Perimeter = 4.0
    member this.Describe() = sprintf "shape %f" this.Area
"""
FORTRAN = """module solvers
  implicit none
contains

  subroutine solve_tridiagonal(a, b, c, d, x)
    real, intent(in) :: a(:), b(:), c(:), d(:)
    real, intent(out) :: x(:)
    x = d / b
  end subroutine solve_tridiagonal

  pure real function norm2(v)
    real, intent(in) :: v(:)
    norm2 = sqrt(sum(v**2))
  end function norm2
end module solvers
"""
PASCAL = """unit JsonScanner;

interface

type
  TJSONScanner = class(TObject)
  end;

implementation

constructor TJSONScanner.Create(Source: TStream);
begin
  FSource := Source;
end;

function TJSONScanner.Fetch: TJSONToken;
begin
  Result := tkEOF;
end;
"""
ADA = """package body GNAT.CGI is

   procedure Check_Environment is
   begin
      if not Valid_Environment then
         raise Data_Error;
      end if;
   end Check_Environment;

   function Key_Exists (Key : String) return Boolean is
   begin
      return Index (Key) /= 0;
   end Key_Exists;
end GNAT.CGI;
"""
VB = """Public Class Parser
    Public Function ParseLine(line As String) As String()
        Return line.Split(","c)
    End Function

    Private Shared Sub Reset()
        count = 0
    End Sub
End Class
"""


def test_a_tcl_doc_comment_goes_with_the_proc_below_it() -> None:
    # tcllib's style: a comment headed `# name --`, a blank line, then the proc it describes.
    text = (
        "proc ::struct::queue::get {name} {\n    return [lindex $q 0]\n}\n\n"
        "# ::struct::queue::unget --\n#\n#\tPut an item into a queue, at the front.\n#\n# Results:\n#\tNone.\n\n"
        "proc ::struct::queue::unget {name item} {\n    set q [linsert $q 0 $item]\n    return\n}\n"
    )
    chunks = chunk_source("struct/queue.tcl", text, max_tokens=80)
    assert_well_formed("struct/queue.tcl", text, chunks, 80)
    doc = holding(chunks, "Put an item into a queue")
    assert (doc.symbol, doc.kind) == ("struct.queue.unget", "method")  # one definition with the proc


@pytest.mark.parametrize(
    ("path", "text", "line", "symbol", "kind"),
    [
        ("token/ERC20.sol", SOLIDITY, "_transfer(owner, to, value)", "ERC20.transfer", "method"),
        ("token/ERC20.sol", SOLIDITY, "_symbol = symbol_;", "ERC20.constructor", "method"),
        ("token/ERC20.sol", SOLIDITY, 'require(msg.sender == _owner', "ERC20.onlyOwner", "method"),
        ("std/path.d", D_PATH, "lastIndexOf(path, '.')", "extension", "function"),
        ("std/path.d", D_PATH, 'assert(extension("file.d")', "test", "function"),  # weighs as a test
        ("std/path.d", D_PATH, "R _path;", "PathSplitter", "struct"),
        ("http/http.tcl", TCL_HTTP, "CreateToken a#b", "http.geturl", "method"),
        ("http/http.tcl", TCL_HTTP, "array set urlTypes", "http", "module"),
        ("http/http.tcl", TCL_HTTP, "return [geturl $url]", "http.Pool", "class"),
        ("Modules.psm1", POWERSHELL, 'return "module {$Name"', "Get-ModuleInfo", "function"),
        ("Modules.psm1", POWERSHELL, "[string] Describe()", "Inventory", "class"),
        ("haxe/display/Display.hx", HAXE, "var Class = 0;", "ModuleTypeKind", "class"),  # no enum "abstract"
        ("haxe/display/Display.hx", HAXE, "var isQualified:Bool;", "FieldResolution", "type"),
        ("haxe/display/Display.hx", HAXE, "return [for (x in it) x];", "Lambda.array", "method"),
        ("src/http.cr", CRYSTAL, "Request.new(parts[0]", "HTTP.parse_line", "method"),
        ("src/http.cr", CRYSTAL, "@hash[key] = value", "HTTP.Headers", "struct"),
        ("seq.fs", FSHARP, "source |> Seq.filter f", "chooseImpl", "function"),
        ("seq.fs", FSHARP, "| Error of 'E", "Result", "type"),
        ("seq.fs", FSHARP, "member this.Area", "Shape", "type"),
        ("solvers.f90", FORTRAN, "x = d / b", "solve_tridiagonal", "function"),
        ("solvers.f90", FORTRAN, "norm2 = sqrt(sum(v**2))", "norm2", "function"),
        ("jsonscanner.pas", PASCAL, "FSource := Source;", "TJSONScanner.Create", "method"),
        ("jsonscanner.pas", PASCAL, "Result := tkEOF;", "TJSONScanner.Fetch", "function"),
        ("jsonscanner.pp", PASCAL, "Result := tkEOF;", "TJSONScanner.Fetch", "function"),  # Free Pascal's
        ("g-cgi.adb", ADA, "raise Data_Error;", "Check_Environment", "function"),
        ("g-cgi.adb", ADA, "return Index (Key) /= 0;", "Key_Exists", "function"),
        ("Parser.vb", VB, "Return line.Split", "Parser", "class"),
        ("Parser.vb", VB, "count = 0", "Reset", "function"),
    ],
)
def test_more_languages_name_their_definitions(path: str, text: str, line: str, symbol: str, kind: str) -> None:
    # Small budgets, so that each definition is a chunk of its own.
    chunks = chunk_source(path, text, max_tokens=60)
    assert_well_formed(path, text, chunks, 60)
    found = holding(chunks, line)
    assert (found.symbol, found.kind) == (symbol, kind)


R_LM = r"""#  File src/library/stats/R/lm.R
#  Part of the R package, https://www.R-project.org

lm <- function (formula, data, subset, weights, na.action,
		method = "qr", model = TRUE, ...)
{
    ret.x <- x
    cl <- match.call()
    ## a comment with a stray { brace
    mf <- match.call(expand.dots = FALSE)
    m <- match(c("formula", "data", "subset"), names(mf), 0L)

    mf <- mf[c(1L, m)]
    mf$drop.unused.levels <- TRUE
    msg <- "unbalanced } in a string"

    if (method == "model.frame")
	return(mf)
    else if (method != "qr")
	warning(gettextf("method = '%s' is not supported. Using 'qr'", method),
                domain = NA)

    z <- lm.fit(x, y, offset = offset, singular.ok = singular.ok, ...)
    class(z) <- c(if(mlm) "mlm", "lm")
    z
}

`[.formula` <- function(x, i) {
    ans <- NextMethod("[")
    ans
}
"""


def test_r_functions_are_chunked_by_their_braces() -> None:
    chunks = chunk_source("R/lm.R", R_LM, max_tokens=80)
    assert_well_formed("R/lm.R", R_LM, chunks, 80)
    # A long function is cut into windows, each named for it; braces in comments and strings count
    # for nothing, and a name's dots are part of it (`lm.fit` would be a function, not a method).
    windows = [chunk for chunk in chunks if chunk.symbol == "lm"]
    assert len(windows) > 1 and {chunk.kind for chunk in windows} == {"function"}
    assert holding(chunks, 'class(z) <- c(if(mlm) "mlm", "lm")').symbol == "lm"
    assert holding(chunks, 'NextMethod("[")').symbol == "[.formula"
    dotted = chunk_source("R/lm.R", "lm.fit <- function(x, y) {\n    qr(x)\n}\n")
    assert (dotted[0].symbol, dotted[0].kind) == ("lm.fit", "function")


VUE = """<script setup lang="ts">
import { computed } from 'vue'
import { useSidebarControl } from '../composables/sidebar'

const props = defineProps<{ item: SidebarItem; depth: number }>()

const { collapsed, toggle } = useSidebarControl(computed(() => props.item))

function onCaretClick() {
  props.item.link && toggle()
}
</script>

<template>
  <section class="VPSidebarItem" :class="{ collapsed }">
    <div class="item" role="button" @click="onCaretClick">
      <template v-if="item.link">
        <a :href="item.link">{{ item.text }}</a>
      </template>
    </div>
  </section>
</template>

<style scoped>
.VPSidebarItem.collapsed {
  padding-bottom: 10px;
}

.item {
  display: flex;
}
</style>
"""

SVELTE = """<script>
  export let count = 0;

  function increment() {
    count += 1;
  }
</script>

<button on:click={increment}>
  Clicked {count} {count === 1 ? 'time' : 'times'}
</button>

<style>
  button { color: red; }
</style>
"""


def test_vue_and_svelte_components_are_cut_into_script_markup_and_style() -> None:
    path = "theme/components/VPSidebarItem.vue"
    chunks = chunk_source(path, VUE, max_tokens=100)
    assert_well_formed(path, VUE, chunks, 100)
    assert holding(chunks, "function onCaretClick").symbol == "onCaretClick"
    assert "<template>" not in holding(chunks, "defineProps").text  # no chunk mixes the three parts
    markup = holding(chunks, '<a :href="item.link">')
    assert (markup.symbol, markup.kind) == ("VPSidebarItem", "template")
    assert "</script>" not in markup.text and "<style" not in markup.text
    style = holding(chunks, "display: flex")
    assert (style.symbol, style.kind) == ("VPSidebarItem", "style")
    assert "</template>" not in style.text
    chunks = chunk_source("src/Counter.svelte", SVELTE, max_tokens=60)
    assert_well_formed("src/Counter.svelte", SVELTE, chunks, 60)
    assert "<button" not in holding(chunks, "count += 1").text
    button = holding(chunks, "on:click")
    assert (button.symbol, button.kind) == ("Counter", "template")  # Svelte's markup is the rest of the file
    assert "function increment" not in button.text
    assert holding(chunks, "color: red").kind == "style"


LISP = r""";;; magit-section.el --- Sections  -*- lexical-binding:t -*-

(defvar magit-root-section nil
  "The root section in the current buffer.")

;;;###autoload
(defun magit-section-show (section)
  "Show the body of the current section.
(Also the headings of its children.)"
  (let ((beg (oref section start)))
    (when (memq (char-after beg) '(?( ?\())
      (magit-section-goto section))))

(defmacro magit-insert-section (&rest args)
  "Insert a section; see `magit-section-show'."
  `(progn ,@args))

(cl-defmethod magit-section-ident-value ((section magit-section))
  (oref section value))
"""


def test_lisp_top_level_forms_are_named_by_what_they_define() -> None:
    chunks = chunk_source("magit-section.el", LISP, max_tokens=100)
    assert_well_formed("magit-section.el", LISP, chunks, 100)
    show = [c for c in chunks if c.symbol == "magit-section-show"]
    # The function's windows run from its autoload cookie to its last line: neither a doc string's
    # line at column 0 nor the character literals ?( and ?\( end the form early.
    assert show[0].kind == "function" and show[0].text.startswith(";;;###autoload")
    assert show[-1].text.rstrip().endswith("(magit-section-goto section))))")
    assert holding(chunks, "(defvar magit-root").kind == "variable"
    insert = holding(chunks, "(defmacro")
    assert (insert.symbol, insert.kind) == ("magit-insert-section", "macro")
    ident = holding(chunks, "(cl-defmethod")
    assert (ident.symbol, ident.kind) == ("magit-section-ident-value", "method")
    clojure = "(ns app.core)\n\n(defn- parse-args\n  [args]\n  (map #(str \\( %) args))\n\n(defn run [x] x)\n"
    chunks = chunk_source("src/app/core.clj", clojure, max_tokens=30)
    assert_well_formed("src/app/core.clj", clojure, chunks, 30)
    assert holding(chunks, "(defn- parse-args").symbol == "parse-args"
    assert holding(chunks, "(defn run").symbol == "run"
    scheme = "(define (fold kons knil lst)\n  (if (null? lst) knil\n      (fold kons (cdr lst))))\n"
    assert chunk_source("srfi/1.scm", scheme)[0].symbol == "fold"


def test_lua_and_elixir_definitions_are_named() -> None:
    chunks = chunk_source("util.lua", LUA, max_tokens=80)
    assert_well_formed("util.lua", LUA, chunks, 80)
    join = holding(chunks, "function M.join")
    assert (join.symbol, join.kind) == ("M.join", "function") and "-- Joins two paths." in join.text
    assert holding(chunks, "local function trim").symbol == "trim"
    assert holding(chunks, "M.split = function").symbol == "M.split"
    chunks = chunk_source("lib/plug/router.ex", ELIXIR, max_tokens=60)
    assert_well_formed("lib/plug/router.ex", ELIXIR, chunks, 60)
    dispatch = holding(chunks, "def dispatch(")
    assert (dispatch.symbol, dispatch.kind) == ("Router.dispatch", "method")
    assert '@doc "Dispatches the connection."' in dispatch.text
    assert holding(chunks, "defp build_path").symbol == "Router.build_path"
    assert holding(chunks, "defmacro get").symbol == "Router.get"


def test_elixir_and_julia_doc_strings_go_with_their_definition() -> None:
    body = "".join(f"    step{n} = transform(conn, {n})\n" for n in range(6))
    elixir = (
        'defmodule Router do\n  @moduledoc """\n  Routes.\n  """\n\n  def first(conn) do\n'
        + body
        + '  end\n\n  # Matching.\n  @doc """\n  Matches a path\n  against the routes.\n  """\n'
        "  @spec match(term) :: term\n  def match(conn) do\n" + body + "  end\nend\n"
    )
    chunks = chunk_source("router.ex", elixir, max_tokens=90)
    assert_well_formed("router.ex", elixir, chunks, 90)
    match = holding(chunks, "def match(")
    assert match.symbol == "Router.match" and match.text.startswith("  # Matching.\n  @doc")
    julia = (
        'module Paths\n\n"""\n    join(a, b)\n\nJoins two paths.\n"""\nfunction join(a, b)\n'
        + body
        + 'end\n\n"""Splits a path."""\nfunction split(p)\n'
        + body
        + "end\n\nend # module\n"
    )
    chunks = chunk_source("paths.jl", julia, max_tokens=90)
    assert_well_formed("paths.jl", julia, chunks, 90)
    join = holding(chunks, "function join(")
    assert join.symbol == "Paths.join" and join.text.startswith('"""\n    join(a, b)')  # an unindented module
    split = holding(chunks, "function split(")
    assert split.text.startswith('"""Splits a path."""') and chunks[-1].symbol == "Paths.split"


def test_a_doc_comment_documents_the_declaration_after_a_blank_line() -> None:
    doc = "/**\n" + "".join(f" * Part {i} of what one exchange of a request is.\n" for i in range(6)) + " */\n"
    methods = "".join(f"    public abstract String header{i}();\n\n" for i in range(4))
    java = f"package web;\n\nimport java.net.URI;\n\n{doc}\npublic abstract class Exchange {{\n{methods}}}\n"
    chunks = chunk_source("web/Exchange.java", java, max_tokens=120)
    assert_well_formed("web/Exchange.java", java, chunks, 120)
    assert holding(chunks, "Part 0 of what").symbol == "Exchange"
    # A plain /* comment (a licence, a note on the file) stays apart from what follows a blank line.
    note = "/*\n * Notes on this file: the exchange classes of the server.\n */\n\n"
    chunks = chunk_source("web/Exchange.java", note + java, max_tokens=120)
    assert holding(chunks, "Notes on this file").symbol is None


def test_java_class_splits_into_members() -> None:
    chunks = chunk_source("shop/Shop.java", JAVA, max_tokens=120)
    assert_well_formed("shop/Shop.java", JAVA, chunks, 120)
    header = holding(chunks, "public class Shop")
    assert header.symbol == "Shop"
    assert "A shop that sells items." in header.text
    to_string = holding(chunks, "public String toString()")
    assert (to_string.symbol, to_string.kind) == ("Shop.toString", "method")
    assert "@Override" in to_string.text
    assert holding(chunks, "public int count(").symbol == "Shop.count"


def test_java_annotation_types_are_named() -> None:
    said = "fields without this annotation are left out when the builder says so"
    doc = "".join(f" * Note {k}: {said}.\n" for k in range(8))
    java = (
        f"package com.google.gson.annotations;\n\n/**\n{doc} */\n@Documented\n@Retention(RetentionPolicy.RUNTIME)\n"
        "public @interface Expose {\n  /** Whether the field is serialized. */\n"
        "  public boolean serialize() default true;\n}\n"
    )
    chunks = chunk_source("annotations/Expose.java", java, max_tokens=120)
    assert_well_formed("annotations/Expose.java", java, chunks, 120)
    assert (holding(chunks, "Note 7").symbol, holding(chunks, "Note 7").kind) == ("Expose", "interface")
    assert holding(chunks, "boolean serialize()").symbol == "Expose.serialize"


def test_cpp_and_csharp_operators_are_named() -> None:
    body = "".join(f"    int v{n} = compute(other, {n}) + offset_{n};\n" for n in range(6))
    signatures = (
        "bool operator==(const Vec& other) const",
        "auto operator<=>(const Vec& o) const",
        "double operator()(int i) const",
        "double& operator[](int i)",
        "explicit operator bool() const",
        "int operator_count(int x)",
    )
    source = "class Vec {\npublic:\n" + "".join(f"  {sig} {{\n{body}    return 1;\n  }}\n\n" for sig in signatures)
    source += "};\n\ntemplate <typename T>\nbool Box<T>::operator!=(const Box<T>& o) const {\n"
    source += body + "  return 1;\n}\n"
    chunks = chunk_source("vec.cpp", source, max_tokens=120)
    assert_well_formed("vec.cpp", source, chunks, 120)
    assert {c.symbol for c in chunks} == {
        "Vec",
        "Vec.operator==",
        "Vec.operator<=>",
        "Vec.operator()",
        "Vec.operator[]",
        "Vec.operator bool",
        "Vec.operator_count",
        "Box.operator!=",
    }
    csharp = "class Vec {\n  public static Vec operator +(Vec a, Vec b) {\n" + body + "    return a;\n  }\n}\n"
    assert holding(chunk_source("Vec.cs", csharp, max_tokens=120), "operator +").symbol == "Vec.operator+"


def test_a_php_namespace_is_named_in_full() -> None:
    source = "<?php declare(strict_types=1);\n\nnamespace Monolog\\Handler;\n\nuse Monolog\\Logger;\n"
    [chunk] = chunk_source("Handler/Null.php", source)
    assert (chunk.symbol, chunk.kind) == ("Monolog.Handler", "namespace")


def test_a_macro_among_template_parameters_does_not_name_the_function() -> None:
    body = "".join(f"    auto part{i} = convert<To>(from, ec, {i});\n" for i in range(6))
    cpp = (
        "template <typename To, typename From,\n"
        "          FMT_ENABLE_IF(!std::is_same<From, To>::value)>\n"
        f"FMT_CONSTEXPR To lossless_integral_conversion(const From from, int& ec) {{\n{body}"
        "    return To(from);\n}\n\n"
        f"template <typename Char, FMT_ENABLE_IF(is_char<Char>::value)>\n"
        f"FMT_INLINE auto to_string_view(const Char* s) -> basic_string_view<Char> {{\n{body}    return s;\n}}\n"
    )
    chunks = chunk_source("fmt/chrono.h", cpp, max_tokens=120)
    assert_well_formed("fmt/chrono.h", cpp, chunks, 120)
    assert holding(chunks, "return To(from)").symbol == "lossless_integral_conversion"
    assert holding(chunks, "return s;").symbol == "to_string_view"


def test_c_function_like_macros_are_named() -> None:
    c = (
        "/* Size of a declared array.  */\n#define ARRAY_SIZE(a_)  (sizeof (a_) / sizeof ((a_)[0]))\n\n"
        "/* Define ALIASNAME as a strong alias for NAME.  */\n"
        "# define strong_alias(name, aliasname) \\\n"
        "  extern __typeof (name) aliasname __attribute__ ((alias (#name)))\n\n"
        "/* Limits.  */\n#define SALT_LEN_MAX 16\n#define ROUNDS_DEFAULT 5000\n\n"
        "static int twice(int x)\n{\n  return 2 * x;\n}\n"
    )
    chunks = chunk_source("lib/port.h", c, max_tokens=60)
    assert_well_formed("lib/port.h", c, chunks, 60)
    assert (holding(chunks, "sizeof (a_)").symbol, holding(chunks, "sizeof (a_)").kind) == ("ARRAY_SIZE", "macro")
    assert holding(chunks, "__typeof (name)").symbol == "strong_alias"  # not `__typeof`
    assert holding(chunks, "SALT_LEN_MAX 16").symbol is None  # constants name nothing
    assert holding(chunks, "return 2 * x").symbol == "twice"


def test_c_anonymous_typedefs_are_named_by_what_follows_their_closing_brace() -> None:
    fields = "".join(f"    unsigned field{k};  /**< what field {k} holds */\n" for k in range(6))
    c = (
        f"/* Compression parameters. */\ntypedef struct {{\n{fields}}} ZSTD_compressionParameters;\n\n"
        "typedef enum {\n    ZSTD_dct_auto = 0,\n    ZSTD_dct_rawContent = 1\n} ZSTD_dictContentType_e;\n\n"
        f"typedef struct\n{{\n{fields}}} Point, *PointPtr;\n\n"
        "typedef union { int i; float f; } __attribute__((packed)) Number;\n"
    )
    chunks = chunk_source("lib/zstd.h", c, max_tokens=100)
    assert_well_formed("lib/zstd.h", c, chunks, 100)
    params = holding(chunks, "/* Compression parameters. */")
    assert (params.symbol, params.kind) == ("ZSTD_compressionParameters", "struct")
    assert (holding(chunks, "ZSTD_dct_auto").symbol, holding(chunks, "ZSTD_dct_auto").kind) == (
        "ZSTD_dictContentType_e",
        "enum",
    )
    assert holding(chunks, "typedef struct\n{").symbol == "Point"
    assert (holding(chunks, "float f;").symbol, holding(chunks, "float f;").kind) == ("Number", "union")
    # A variable of an unnamed type defines no type.
    assert symbols(chunk_source("lib/cli.c", "struct {\n    int verbose;\n} settings;\n")) == [None]


def test_c_braces_in_strings_chars_and_comments_do_not_count() -> None:
    chunks = chunk_source("tool/parse.c", C, max_tokens=120)
    assert_well_formed("tool/parse.c", C, chunks, 120)
    count = holding(chunks, "count_close(const char *s)")
    assert (count.symbol, count.kind) == ("count_close", "function")
    assert "// returns the } count" in count.text and "static int" in count.text
    main = holding(chunks, "int main(")
    assert (main.symbol, main.start) == ("main", C.split("\n").index("int main(int argc, char **argv) {") + 1)
    assert holding(chunks, "struct node {").symbol == "node"


def test_brace_declarations_need_no_blank_line_between_them() -> None:
    body = "".join(f"    total += values[{k}] * {k};\n" for k in range(12))
    text = f"int a(int *values) {{\n    int total = 0;\n{body}    return total;\n}}\n"
    text += f"// b sums too\nint b(int *values) {{\n    int total = 0;\n{body}    return total;\n}}\n"
    chunks = chunk_source("sum.c", text)
    assert_well_formed("sum.c", text, chunks)
    assert [chunk.symbol for chunk in chunks] == ["a", "b"]
    assert chunks[1].text.startswith("// b sums too")


OTHER_LANGUAGES = {
    "app/Main.kt": (
        'package app\n\ndata class User(val name: String) {\n    fun greet(): String = "hi $name"\n}\n\n'
        'fun main(args: Array<String>) {\n    println(User("a").greet())\n}\n',
        {"data class User": ("User", "class"), "fun main(": ("main", "function")},
    ),
    "Sources/Point.swift": (
        "import Foundation\n\nstruct Point {\n    var x: Double\n    var y: Double\n"
        "    var label: String\n}\n\n"
        "extension Point: CustomStringConvertible {\n"
        '    var description: String { "(\\(x), \\(y)) named \\(label) at \\(Date())" }\n}\n',
        {"struct Point": ("Point", "struct"), "extension Point": ("Point", "extension")},
    ),
    "Models/Order.cs": (
        "namespace Shop.Models\n{\n    public sealed class Order : IOrder\n    {\n"
        "        public async Task<decimal> TotalAsync(string currency)\n        {\n"
        '            var path = @"C:\\dir\\" + "{";\n'
        "            return await Compute(currency, path, this.Id, this.Lines, this.Discounts);\n"
        "        }\n\n        public void Reset(bool hard)\n        {\n"
        "            this.Lines.Clear();\n"
        "            this.Discounts.Clear(hard, this.Id, this.Lines.Count);\n"
        "        }\n    }\n}\n",
        {"TotalAsync(": ("Order.TotalAsync", "method"), "Reset(bool": ("Order.Reset", "method")},
    ),
    "app/Controller.php": (
        "<?php\n\nnamespace App\\Http;\n\nclass Controller extends Base\n{\n"
        "    public function index(Request $request): Response\n    {\n        # a } in a hash comment\n"
        "        return view('index', ['x' => '{', 'request' => $request, 'user' => $this->user]);\n    }\n\n"
        "    private static function &helper() { return null; }\n}\n\n"
        "function top_level($a) {\n    return $a;\n}\n",
        {
            "function index(": ("Controller.index", "method"),
            "&helper()": ("Controller.helper", "method"),
            "function top_level(": ("top_level", "function"),
        },
    ),
    "geo/box.cpp": (
        "#include <string>\n\nnamespace geo {\n\nstd::string Box<int>::name() const {\n"
        '    auto text = R"raw(a "}" b)raw";\n'
        '    return text + std::to_string(width_) + "x" + std::to_string(height_) + label_;\n'
        "}\n\n}  // namespace geo\n\n"
        'int main() {\n    return geo::run(0, nullptr, std::string("main"));\n}\n',
        {
            "Box<int>::name": ("Box.name", "method"),
            "return text +": ("Box.name", "method"),
            "int main(": ("main", "function"),
        },
    ),
}


@pytest.mark.parametrize("path", sorted(OTHER_LANGUAGES))
def test_other_brace_languages_name_their_declarations(path: str) -> None:
    text, expected = OTHER_LANGUAGES[path]
    chunks = chunk_source(path, text, max_tokens=70)
    assert_well_formed(path, text, chunks, 70)
    for needle, (symbol, kind) in expected.items():
        found = holding(chunks, needle)
        assert (found.symbol, found.kind) == (symbol, kind), needle


def test_a_call_at_file_level_is_not_a_function() -> None:
    chunks = chunk_source("mod.c", 'MODULE_LICENSE("GPL");\n')
    assert [(chunk.symbol, chunk.kind) for chunk in chunks] == [(None, "module")]


def test_deep_and_unbalanced_braces_do_not_recurse_forever() -> None:
    text = "void f() " + "{\n" * 3000 + "x;\n" * 50
    chunks = chunk_source("deep.c", text, max_tokens=64)
    assert_well_formed("deep.c", text, chunks, 64)
    closing = "}\n" * 4000 + "int g(void) { return 1; }\n"
    assert_well_formed("close.c", closing, chunk_source("close.c", closing))


# ---------------------------------------------------------------- Markdown and text


def test_markdown_sections_by_heading() -> None:
    chunks = chunk_source("docs/README.md", MARKDOWN)
    assert_well_formed("docs/README.md", MARKDOWN, chunks)
    assert holding(chunks, "Intro text").symbol is None
    assert holding(chunks, "Project is a tool").symbol == "# Project"
    assert holding(chunks, "pip install project").symbol == "## Installation"
    assert holding(chunks, "Use it by calling").symbol == "## Usage"
    assert holding(chunks, "Body of the setext").symbol == "## Setext Heading"
    assert {chunk.kind for chunk in chunks} == {"section"}
    assert "# not a heading" not in symbols(chunks)  # a comment inside a code fence


def test_markdown_big_section_splits_at_paragraphs() -> None:
    paragraphs = [f"Paragraph {k} " + "talks about the subject in words " * 8 for k in range(12)]
    text = "# Guide\n\n" + "\n\n".join(paragraphs) + "\n"
    chunks = chunk_source("guide.md", text, max_tokens=200)
    assert_well_formed("guide.md", text, chunks, 200)
    assert len(chunks) > 2
    assert all(chunk.symbol == "# Guide" for chunk in chunks)
    lines = file_lines(text)
    for chunk in chunks[1:]:
        assert lines[chunk.start - 2] == ""  # each piece starts right after a blank line


def test_plain_text_is_grouped_blocks() -> None:
    chunks = chunk_source("notes.txt", TEXT)
    assert_well_formed("notes.txt", TEXT, chunks)
    assert len(chunks) == 1 and chunks[0].kind == "block"
    small = chunk_source("notes.txt", TEXT, max_tokens=50)
    assert_well_formed("notes.txt", TEXT, small, 50)
    assert len(small) > 1
    lines = file_lines(TEXT)
    assert all(lines[chunk.start - 2] == "" for chunk in small[1:])


# ---------------------------------------------------------------- properties


@pytest.mark.parametrize("max_tokens", [MAX_TOKENS, 150, 60])
@pytest.mark.parametrize("path", sorted(FIXTURES))
def test_fixtures_are_covered_within_budget(path: str, max_tokens: int) -> None:
    text = FIXTURES[path]
    assert_well_formed(path, text, chunk_source(path, text, max_tokens=max_tokens), max_tokens)


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"{name} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def real_files() -> list[tuple[str, str]]:
    """All of pathspec, a few big numpy modules, numpy's C sources and headers, Markdown files."""
    files = sorted(package_dir("pathspec").rglob("*.py"))
    numpy = package_dir("numpy")
    files += [numpy / "_core" / "fromnumeric.py", numpy / "_core" / "_add_newdocs.py"]
    files += [numpy / "lib" / "_function_base_impl.py", numpy / "f2py" / "src" / "fortranobject.c"]
    files += sorted((numpy / "_core" / "include" / "numpy").glob("*.h"))[:12]
    files += sorted(numpy.parent.glob("*/*.md"))[:10]
    return [(str(path), path.read_text(encoding="utf-8", errors="replace")) for path in files]


def test_real_files_are_covered_within_budget() -> None:
    files = real_files()
    assert len(files) > 20
    for path, text in files:
        assert_well_formed(path, text, chunk_source(path, text))


def test_real_python_splits_classes_into_methods() -> None:
    path = package_dir("pathspec") / "pathspec.py"
    chunks = chunk_source(str(path), path.read_text(encoding="utf-8"))
    assert "PathSpec.match_file" in symbols(chunks)
    assert {chunk.kind for chunk in chunks} >= {"module", "class", "method"}


def test_long_single_line_is_cut_into_slices() -> None:
    line = "var a=function(b){return b+1};" * 1700  # 51,000 characters of minified code
    text = f"// header\n{line}\nvar z = 1;\n"
    started = time.perf_counter()
    chunks = chunk_source("dist/app.min.js", text)
    elapsed = time.perf_counter() - started
    assert_well_formed("dist/app.min.js", text, chunks)
    assert sum(1 for chunk in chunks if chunk.start == chunk.end == 2) > 50
    assert elapsed < 1.0
    python = f"DATA = [{'1, ' * 30000}]\n"
    assert_well_formed("data.py", python, chunk_source("data.py", python))


@pytest.mark.parametrize(
    "text", ['"\\' * 20000, "'\\" * 20000, "`\\" * 20000, "/*" * 20000, "{\n" * 20000, "=/[" * 20000]
)
def test_unterminated_literals_take_linear_time(text: str) -> None:
    for path in ("a.c", "a.js", "a.php", "a.rs"):
        started = time.perf_counter()
        chunks = chunk_source(path, text)
        assert time.perf_counter() - started < 0.5  # a rescan per quote would take seconds
        assert_well_formed(path, text, chunks)


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("CMakeLists.txt", "function(a)\n" * 20000),
        ("x.sh", "f() {\n" * 20000),
        ("a.c", "#if A\n{\n#else\n{\n" * 5000 + "#endif\n" * 5000),  # conditionals 5,000 deep
    ],
)
def test_unclosed_or_deeply_nested_blocks_take_linear_time(path: str, text: str) -> None:
    started = time.perf_counter()
    chunks = chunk_source(path, text)
    assert time.perf_counter() - started < 0.5  # a scan to the end per opening line would take minutes
    assert_well_formed(path, text, chunks)


def test_count_tokens_confirms_and_splits_only_what_is_over() -> None:
    calls = 0

    def double(text: str) -> int:  # a tokenizer that finds twice the estimate
        nonlocal calls
        calls += 1
        return 2 * estimate_tokens(text)

    text = PY + "LONG = '" + "xy1" * 5000 + "'\n"
    chunks = chunk_source("pkg/mod.py", text, count_tokens=double)
    assert_well_formed("pkg/mod.py", text, chunks, count=double)
    assert calls <= 3 * len(chunks)

    calls = 0

    def agreeing(text: str) -> int:
        nonlocal calls
        calls += 1
        return estimate_tokens(text)

    planned = chunk_source("pkg/mod.py", PY)
    assert chunk_source("pkg/mod.py", PY, count_tokens=agreeing) == planned
    assert calls == len(planned)  # each chunk measured once, nothing split again


GARBAGE_PIECES = [
    "{", "}", "(", ")", '"', "'", "`", "/*", "*/", "//", "#", "\n", "\n\n", "  ", "\t", "\\", "${",
    'r#"', '"#', '"""', "def f():", "class A:", "fn x() {", "func (r *R) M() {", "function g() {",
    "# Title\n", "```\n", "@deco\n", "x = 1;", "\r", "\u00e9", "\u4e2d", "\x00", "=" * 40,
    "def m\n", "  def n(x)\n", "class K\n", "module M\n", "end\n", "  end\n", "rescue\n", "-- c\n",
    "function M.f()\n", "defmodule X do\n", "@doc \"d\"\n", "<script>\n", "</script>\n", "<template>\n",
    "</template>\n", "<style>\n", "</style>\n", "f() {\n", "f()\n{\n", "}\n", "#!/bin/sh\n", "x <- function(a) {",
    "`[.f` <- function(x)", "\\\\ line", "pub fn z() void {", 'test "t" {', "private[p] def q", "-*- sh -*-",
    "contract C {", "proc ::a::b {x} {", "<#", "#>", "/+", "+/", "unittest {", "enum abstract K(Int) {",
    "subroutine s(x)\n", "procedure P;\n", "Public Sub S()\n", "let f x =\n",
]  # fmt: skip
LANG_PATHS = ["f.py", "f.js", "f.ts", "f.go", "f.rs", "f.java", "f.c", "f.cpp", "f.cs", "f.php"]
LANG_PATHS += ["f.kt", "f.swift", "f.scala", "f.dart", "f.rb", "f.lua", "f.ex", "f.jl", "f.md", "f.txt", "f.json"]
LANG_PATHS += ["f.vue", "f.svelte", "f.sh", "f.zig", "f.R", "f.m", "f.hs", "f.clj", "bin/script"]
LANG_PATHS += ["f.sol", "f.d", "f.tcl", "f.ps1", "f.hx", "f.cr", "f.fs", "f.f90", "f.pas", "f.adb", "f.vb"]


@pytest.mark.parametrize("path", LANG_PATHS)
def test_random_garbage_never_raises(path: str) -> None:
    rng = random.Random(path)
    for _ in range(25):
        raw = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000)))
        text = raw.decode("utf-8", errors="replace")
        assert_well_formed(path, text, chunk_source(path, text, max_tokens=64), 64)
        mixed = "".join(rng.choice(GARBAGE_PIECES) for _ in range(rng.randrange(1, 1500)))
        for budget in (64, MAX_TOKENS):
            assert_well_formed(path, mixed, chunk_source(path, mixed, max_tokens=budget), budget)


def test_whole_mcp_package_chunks_fast() -> None:
    files = sorted(package_dir("mcp").rglob("*.py"))
    texts = [(str(path), path.read_text(encoding="utf-8")) for path in files]
    started = time.perf_counter()
    total = sum(len(chunk_source(path, text)) for path, text in texts)
    elapsed = time.perf_counter() - started
    assert total > len(files)
    # About 1.2 MB; measured near 0.3 s. The bound leaves room for slow CI machines.
    assert elapsed < 3.0, f"{len(files)} files took {elapsed:.2f}s"


def test_clojure_metadata_is_no_name() -> None:
    text = (
        '(ns ^{:doc "Channels."\n      :author "Rich"}\n  app.channels)\n\n'
        "(defn ^:private ^String describe [ch]\n  (str ch))\n\n(defonce ^:private pool (make-pool))\n"
    )
    chunks = chunk_source("app/channels.clj", text, max_tokens=40)
    assert_well_formed("app/channels.clj", text, chunks, 40)
    assert holding(chunks, "(ns ").symbol == "app.channels"
    assert holding(chunks, "(defn ").symbol == "describe"
    assert holding(chunks, "(defonce").symbol == "pool"


def test_a_required_name_names_nothing() -> None:
    # lodash's modules open with their imports: `baseUniq` is defined in _baseUniq.js, not here.
    body = "".join(f"  step{i}(array, comparator);\n" for i in range(4))
    text = (
        "var baseUniq = require('./_baseUniq');\n\n"
        f"function uniqWith(array, comparator) {{\n{body}  return baseUniq(array, comparator);\n}}\n\n"
        "module.exports = uniqWith;\n"
    )
    chunks = chunk_source("uniqWith.js", text)
    assert [(c.symbol, c.kind) for c in chunks] == [("uniqWith", "function")]


def test_no_one_line_scraps_of_a_split_definition() -> None:
    # The opening of a nested form too big to merge with stayed a chunk of its own: ESLint's
    # `module.exports = {` before its members, the `(let [...]` lines of a long Clojure form.
    schema = "".join(f"            option{i}: {{ type: \"boolean\", default: false }},\n" for i in range(12))
    js = (
        "module.exports = {\n    meta: {\n        type: \"problem\",\n        schema: {\n"
        f"{schema}        }},\n    }},\n\n    create(context) {{\n        return {{}};\n    }}\n}};\n"
    )
    calls = "".join(f"            (step-{i} buf val handler)\n" for i in range(14))
    clj = (
        "(deftype Channel [buf]\n  WritePort\n  (put! [this val handler]\n    (let [done (atom false)]\n"
        f"      (if (full? buf)\n        (do\n{calls}            nil)\n        (do\n{calls}            true)))))\n"
    )
    for path, text in (("rules/no-eval.js", js), ("impl/channels.clj", clj)):
        chunks = chunk_source(path, text, max_tokens=120)
        assert_well_formed(path, text, chunks, 120)
        assert all(chunk.end > chunk.start for chunk in chunks), [(c.start, c.end, c.text) for c in chunks]


def test_a_swift_type_method_is_no_class() -> None:
    body = "".join(f"    let step{n} = NSStringFromClass(Self.self) + \"{n}\"\n" for n in range(6))
    swift = (
        "public final class ViewModuleWrapper: RCTViewManager {\n"
        f"  @objc\n  public override class func moduleName() -> String {{\n{body}    return step0\n  }}\n\n"
        f"  public class var isDynamic: Bool {{\n{body}    return true\n  }}\n}}\n"
    )
    chunks = chunk_source("Core/Views/ViewModuleWrapper.swift", swift, max_tokens=90)
    assert_well_formed("Core/Views/ViewModuleWrapper.swift", swift, chunks, 90)
    assert holding(chunks, "return step0").symbol == "ViewModuleWrapper.moduleName"
    assert "func" not in {chunk.symbol for chunk in chunks}
    assert all(not (chunk.symbol or "").endswith((".func", ".var")) for chunk in chunks)


OBJC = """#import "EXNativeModulesProxy.h"

@interface EXModulesProxyConfig ()
@property (readonly) NSMutableDictionary *exportedConstants;
@end

@implementation EXModulesProxyConfig

- (instancetype)initWithConstants:(nonnull NSDictionary *)constants
                      methodNames:(nonnull NSDictionary *)methodNames
{
""" + "".join(f"  _step{n} = [constants objectForKey:@\"k{n}\"];\n" for n in range(8)) + """  return self;
}

+ (void)addEntriesFromConfig:(nonnull const EXModulesProxyConfig *)config
{
""" + "".join(f"  [_exportedConstants addEntriesFromDictionary:config.c{n}];\n" for n in range(8)) + """}

@end

static void logMissingModule(NSString *name)
{
  NSLog(@"missing %@", name);
}
"""


def test_objective_c_methods_are_named_for_their_class() -> None:
    chunks = chunk_source("Legacy/EXNativeModulesProxy.m", OBJC, max_tokens=150)
    assert_well_formed("Legacy/EXNativeModulesProxy.m", OBJC, chunks, 150)
    # The class extension's @end comes before @implementation: the methods still get their class.
    assert holding(chunks, "return self;").symbol == "EXModulesProxyConfig.initWithConstants"
    assert (holding(chunks, "config.c7").symbol, holding(chunks, "config.c7").kind) == (
        "EXModulesProxyConfig.addEntriesFromConfig",
        "method",
    )
    assert holding(chunks, "NSLog").symbol == "logMissingModule"  # a C function after @end


def test_a_matlab_file_is_no_objective_c() -> None:
    # `.m` is MATLAB's extension too: with no #import, @implementation or `- (` method it is cut
    # at blank lines like other text, not into windows across its functions.
    body = "  if y > 3\n    y = y - 1;\n  end\n"
    matlab = "".join(f"function y = f{i}(x)\n% F{i} scales x.\n  y = x * {i};\n{body}end\n\n" for i in range(12))
    chunks = chunk_source("stats/scale.m", matlab)
    assert_well_formed("stats/scale.m", matlab, chunks, MAX_TOKENS)
    lines = matlab.split("\n")
    assert all(chunk.start == 1 or not lines[chunk.start - 2].strip() for chunk in chunks)
