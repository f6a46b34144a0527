"""Pure model code: it takes DataFrames and returns DataFrames; it never opens a connection."""
