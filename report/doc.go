// Package report renders the forensic report of a leak investigation.
//
// Everything starts from one canonical Document: a provenance header
// (tool and rule-catalog versions, generation time supplied by the caller,
// SHA-256 of every input), the executive summary, the leak scope (Scope,
// the structure "leakscope scope --format json" prints, SPEC §6),
// findings, key timeline events, coverage and gaps, the evidence appendix
// and the integrity verdict of "leakscope verify". RenderJSON,
// RenderMarkdown and RenderHTML are three views of the same Document, so
// the numbers in each are the same.
//
// Log content is hostile. The HTML report is built with html/template
// (contextual escaping), is self-contained (inline CSS and inline SVG
// charts, no script, no external fetch) and carries a strict
// Content-Security-Policy; the Markdown renderer escapes Markdown and HTML
// syntax and strips control characters; CSV cells are made
// spreadsheet-safe. Rendering is deterministic: no clock, no randomness.
package report
