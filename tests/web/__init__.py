"""Browser tests of the operations console, and its serving."""
