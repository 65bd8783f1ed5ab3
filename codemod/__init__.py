"""unleak: find goroutine-leak-prone Go idioms and rewrite them into safe forms."""

__version__ = "0.1.0"
