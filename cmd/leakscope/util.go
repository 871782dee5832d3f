package main

import (
	"sort"

	"github.com/leakscope/leakscope/query"
)

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// terminalSafe neutralises text from logs or paths for the terminal.
func terminalSafe(s string) string { return query.Terminal(s) }
