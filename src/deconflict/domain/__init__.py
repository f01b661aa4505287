"""Pure domain: volumes, geodesy, agreements, operations, conflicts, index; no web or database imports."""
