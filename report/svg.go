package report

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Charts are computed here as plain geometry and drawn by html/template,
// so every label taken from logs is escaped like any other text.

var palette = []string{"#1f5f99", "#c0392b", "#2e8b57", "#d68910", "#7d3c98", "#17a2b8", "#5d6d7e", "#a04000"}

type tick struct {
	Pos    string
	Label  string
	Anchor string
}

type line struct {
	Name   string
	Color  string
	Points string
	Dots   []dot
}

type dot struct{ X, Y string }

type legendItem struct {
	X, Y  string
	Color string
	Name  string
}

type lineChart struct {
	W, H             int
	Left, Top        int
	Right, Bottom    int // plot area edges
	Lines            []line
	XTicks, YTicks   []tick
	Legend           []legendItem
	Empty            bool
	XLabel, YLabel   string
	LegendY, LegendH int
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// newLineChart lays out series over a shared time axis; unit formats the
// y-axis labels.
func newLineChart(series []Series, yLabel string, unit func(int64) string) lineChart {
	c := lineChart{W: 960, H: 250, Left: 90, Top: 16, Right: 940, Bottom: 200, YLabel: yLabel}
	var tMin, tMax time.Time
	var vMax int64
	n := 0
	for _, s := range series {
		for _, p := range s.Points {
			if n == 0 || p.Time.Before(tMin) {
				tMin = p.Time
			}
			if n == 0 || p.Time.After(tMax) {
				tMax = p.Time
			}
			vMax = max(vMax, p.Value)
			n++
		}
	}
	if n == 0 {
		c.Empty = true
		return c
	}
	if vMax == 0 {
		vMax = 1
	}
	span := tMax.Sub(tMin)
	if span <= 0 {
		span = time.Hour
		tMin = tMin.Add(-span / 2)
	}
	pw, ph := float64(c.Right-c.Left), float64(c.Bottom-c.Top)
	x := func(t time.Time) float64 { return float64(c.Left) + pw*float64(t.Sub(tMin))/float64(span) }
	y := func(v int64) float64 { return float64(c.Bottom) - ph*float64(v)/float64(vMax) }
	for i := 0; i <= 4; i++ {
		t := tMin.Add(span * time.Duration(i) / 4)
		anchor := "middle"
		if i == 4 {
			anchor = "end"
		}
		c.XTicks = append(c.XTicks, tick{Pos: f1(x(t)), Label: t.UTC().Format("01-02 15:04"), Anchor: anchor})
		v := vMax * int64(i) / 4
		c.YTicks = append(c.YTicks, tick{Pos: f1(y(v)), Label: unit(v)})
	}
	for i, s := range series {
		pts := append([]Point(nil), s.Points...)
		sort.SliceStable(pts, func(a, b int) bool { return pts[a].Time.Before(pts[b].Time) })
		l := line{Name: clean(s.Name), Color: palette[i%len(palette)]}
		var b strings.Builder
		for _, p := range pts {
			fmt.Fprintf(&b, "%s,%s ", f1(x(p.Time)), f1(y(p.Value)))
			if len(pts) <= 48 {
				l.Dots = append(l.Dots, dot{X: f1(x(p.Time)), Y: f1(y(p.Value))})
			}
		}
		l.Points = strings.TrimSpace(b.String())
		c.Lines = append(c.Lines, l)
	}
	// Legend rows of four under the axis.
	c.LegendY = c.Bottom + 40
	for i, l := range c.Lines {
		c.Legend = append(c.Legend, legendItem{X: strconv.Itoa(c.Left + (i%4)*215), Y: strconv.Itoa(c.LegendY + (i/4)*18), Color: l.Color, Name: truncate(l.Name, 30)})
	}
	c.H = c.LegendY + ((len(c.Lines)+3)/4)*18 + 4
	return c
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// truncateLeft keeps the end of s, the informative part of an ARN or URI.
func truncateLeft(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return "…" + string(r[len(r)-n+1:])
}

type node struct {
	X, Y      int
	W, H      int
	Label     string
	Full      string
	TextX     int
	TextY     int
	Column    int
	BytesText string
}

type edge struct {
	D     string
	Width string
	Title string
}

type pathGraph struct {
	W, H    int
	Headers []tick
	Nodes   []node
	Edges   []edge
	Empty   bool
	More    []tick
}

const maxNodes = 12

// newPathGraph draws identity → session → data → destination as four
// columns of boxes joined by edges as wide as the bytes they carried.
func newPathGraph(paths []Path) pathGraph {
	g := pathGraph{W: 960}
	if len(paths) == 0 {
		g.Empty = true
		g.H = 40
		return g
	}
	cols := [4][]string{}
	bytesAt := [4]map[string]int64{{}, {}, {}, {}}
	key := func(p Path, i int) string {
		v := [4]string{p.Identity, p.Session, p.Data, p.Destination}[i]
		if v == "" {
			return "(unknown)"
		}
		return clean(v)
	}
	for _, p := range paths {
		for i := range 4 {
			k := key(p, i)
			if _, ok := bytesAt[i][k]; !ok {
				cols[i] = append(cols[i], k)
			}
			bytesAt[i][k] += p.Bytes
		}
	}
	pos := [4]map[string]int{{}, {}, {}, {}}
	colX := [4]int{10, 250, 490, 730}
	const boxW, boxH, gap, top = 220, 30, 12, 34
	rows := 0
	for i := range 4 {
		sort.SliceStable(cols[i], func(a, b int) bool { return bytesAt[i][cols[i][a]] > bytesAt[i][cols[i][b]] })
		shown := cols[i]
		if len(shown) > maxNodes {
			g.More = append(g.More, tick{Pos: strconv.Itoa(colX[i] + 4), Label: fmt.Sprintf("+%d more", len(shown)-maxNodes)})
			shown = shown[:maxNodes]
		}
		rows = max(rows, len(shown))
		for j, k := range shown {
			y := top + j*(boxH+gap)
			pos[i][k] = y + boxH/2
			g.Nodes = append(g.Nodes, node{X: colX[i], Y: y, W: boxW, H: boxH, Label: truncateLeft(k, 30), Full: k, TextX: colX[i] + 8, TextY: y + 19, Column: i, BytesText: HumanBytes(bytesAt[i][k])})
		}
	}
	for i, h := range []string{"Identity", "Session / key", "Data", "Destination"} {
		g.Headers = append(g.Headers, tick{Pos: strconv.Itoa(colX[i]), Label: h})
	}
	// Edges between adjacent columns, aggregated.
	type pair struct {
		col  int
		a, b string
	}
	agg := map[pair]int64{}
	var order []pair
	var maxB int64 = 1
	for _, p := range paths {
		for i := range 3 {
			k := pair{i, key(p, i), key(p, i+1)}
			if _, ok := agg[k]; !ok {
				order = append(order, k)
			}
			agg[k] += p.Bytes
			maxB = max(maxB, agg[k])
		}
	}
	for _, k := range order {
		y1, ok1 := pos[k.col][k.a]
		y2, ok2 := pos[k.col+1][k.b]
		if !ok1 || !ok2 {
			continue
		}
		x1, x2 := colX[k.col]+boxW, colX[k.col+1]
		mx := (x1 + x2) / 2
		w := 1.5 + 8*float64(agg[k])/float64(maxB)
		g.Edges = append(g.Edges, edge{D: fmt.Sprintf("M %d %d C %d %d, %d %d, %d %d", x1, y1, mx, y1, mx, y2, x2, y2), Width: f1(w),
			Title: fmt.Sprintf("%s → %s: %s", k.a, k.b, HumanBytes(agg[k]))})
	}
	g.H = top + rows*(boxH+gap) + 24
	return g
}
