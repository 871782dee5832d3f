// Package query owns the embedded DuckDB engine over the leakscope lake:
// it exposes every lake table as a view (with Hive partition columns
// account, region and date), plus the ingest manifest and quarantine, runs
// read-only SQL with bound parameters and cancellation, and renders
// results as an aligned terminal table, CSV that spreadsheets cannot
// execute, JSON or JSON Lines.
package query
