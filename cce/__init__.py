"""cce: a code context engine — local semantic + lexical code search for coding agents."""

__version__ = "0.1.0"
