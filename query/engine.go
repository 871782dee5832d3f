package query

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/leakscope/leakscope/ingest"
)

// Table is a lake table the engine exposes as a view.
type Table struct {
	Name string // view name and folder below the lake root
	// Partitions are the Hive partition keys below the folder, outermost
	// first, with their DuckDB types.
	Partitions []Partition
	// Empty writes a Parquet file with the table's schema and no rows;
	// it backs the view while the lake holds no file of the table.
	Empty func(io.Writer) error
}

// Partition is a Hive partition key.
type Partition struct{ Name, Type string }

// LakePartitions are the partition keys of the log tables.
var LakePartitions = []Partition{{"account", "VARCHAR"}, {"region", "VARCHAR"}, {"date", "DATE"}}

// ErrNotReadOnly is returned for statements that would change something.
var ErrNotReadOnly = errors.New("only a single read-only SELECT statement is allowed; leakscope query never writes, attaches or changes settings")

// Engine is an in-memory DuckDB database whose views read the lake.
type Engine struct {
	db   *sql.DB
	lake string
	tmp  string
}

// Open starts DuckDB and creates the views over the lake at root. After
// setup the engine can read nothing outside the lake and its settings are
// locked.
func Open(ctx context.Context, root string, tables []Table) (*Engine, error) {
	if err := ingest.CheckLocalLake(root); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("lake %s not found: run leakscope ingest --lake %s first, or set --lake / $LEAKSCOPE_LAKE", root, root)
	}
	tmp, err := os.MkdirTemp("", "leakscope-query-")
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("start duckdb: %w", err)
	}
	db.SetMaxOpenConns(1)
	e := &Engine{db: db, lake: abs, tmp: tmp}
	if err := e.setup(ctx, tables); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// Close releases DuckDB and the engine's temporary files.
func (e *Engine) Close() error {
	err := e.db.Close()
	os.RemoveAll(e.tmp)
	return err
}

// Lake is the absolute lake root.
func (e *Engine) Lake() string { return e.lake }

// DB gives trusted callers (detections, scoping) the database. Callers
// bind every value taken from logs or users as a parameter.
func (e *Engine) DB() *sql.DB { return e.db }

func lit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func ident(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func hasFiles(dir, suffix string) bool {
	found := false
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || found {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, suffix) && !strings.HasPrefix(d.Name(), ".") {
			found = true
			return filepath.SkipAll
		}
		return nil
	})
	return found
}

func (e *Engine) setup(ctx context.Context, tables []Table) error {
	var stmts []string
	stmts = append(stmts, "SET TimeZone = 'UTC'")
	for _, t := range tables {
		dir := filepath.Join(e.lake, t.Name)
		if hasFiles(dir, ".parquet") {
			glob := dir + strings.Repeat("/*", len(t.Partitions)) + "/*.parquet"
			var types []string
			for _, p := range t.Partitions {
				types = append(types, fmt.Sprintf("%s: %s", lit(p.Name), p.Type))
			}
			opts := "union_by_name = true"
			if len(t.Partitions) > 0 {
				opts += ", hive_partitioning = true, hive_types = {" + strings.Join(types, ", ") + "}"
			}
			stmts = append(stmts, fmt.Sprintf("CREATE VIEW %s AS SELECT * FROM read_parquet(%s, %s)", ident(t.Name), lit(glob), opts))
			continue
		}
		empty := filepath.Join(e.tmp, t.Name+".parquet")
		f, err := os.Create(empty)
		if err != nil {
			return err
		}
		if err := t.Empty(f); err != nil {
			f.Close()
			return fmt.Errorf("schema of %s: %w", t.Name, err)
		}
		if err := f.Close(); err != nil {
			return err
		}
		cols := ""
		for _, p := range t.Partitions {
			cols += fmt.Sprintf(", CAST(NULL AS %s) AS %s", p.Type, ident(p.Name))
		}
		stmts = append(stmts, fmt.Sprintf("CREATE VIEW %s AS SELECT *%s FROM read_parquet(%s)", ident(t.Name), cols, lit(empty)))
	}
	stmts = append(stmts, e.bookkeepingViews()...)
	stmts = append(stmts, viewStatements(tables)...)
	stmts = append(stmts,
		fmt.Sprintf("SET allowed_directories = [%s, %s]", lit(e.lake+"/"), lit(e.tmp+"/")),
		"SET enable_external_access = false",
		"SET autoinstall_known_extensions = false",
		"SET autoload_known_extensions = false",
		"SET lock_configuration = true",
	)
	for _, s := range stmts {
		if _, err := e.db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("prepare lake views (%s): %w", firstWords(s), err)
		}
	}
	return nil
}

func firstWords(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// bookkeepingViews expose the ingest manifest and the quarantine.
func (e *Engine) bookkeepingViews() []string {
	manDir := filepath.Join(e.lake, "_leakscope", "manifest")
	qDir := filepath.Join(e.lake, "_leakscope", "quarantine")
	manifestCols := `uri VARCHAR, type VARCHAR, "table" VARCHAR, size BIGINT, mtime TIMESTAMP, etag VARCHAR, version_id VARCHAR, sha256 VARCHAR, bytes_decompressed BIGINT, records_read BIGINT, rows_written BIGINT, quarantined BIGINT, duplicates BIGINT, resumed BIGINT, status VARCHAR, reason VARCHAR, run VARCHAR, "commit" VARCHAR`
	quarantineCols := `"table" VARCHAR, object VARCHAR, line BIGINT, "offset" BIGINT, reason VARCHAR, snippet VARCHAR, snippet_base64 VARCHAR, run VARCHAR, "commit" VARCHAR`
	var out []string
	if hasFiles(manDir, ".json") {
		out = append(out, fmt.Sprintf(`CREATE VIEW manifest AS SELECT unnest(objects, recursive := true) FROM read_json(%s, columns = {objects: %s})`,
			lit(manDir+"/*.json"), lit("STRUCT("+manifestCols+")[]")))
	} else {
		out = append(out, "CREATE VIEW manifest AS SELECT * FROM (SELECT "+nullCols(manifestCols)+") WHERE false")
	}
	if hasFiles(qDir, ".jsonl") {
		out = append(out, fmt.Sprintf(`CREATE VIEW quarantine AS SELECT * FROM read_json(%s, format = 'newline_delimited', columns = {%s})`,
			lit(qDir+"/*.jsonl"), structCols(quarantineCols)))
	} else {
		out = append(out, "CREATE VIEW quarantine AS SELECT * FROM (SELECT "+nullCols(quarantineCols)+") WHERE false")
	}
	return out
}

// nullCols turns `a T, b U` into `NULL::T AS a, NULL::U AS b`.
func nullCols(cols string) string {
	var out []string
	for _, c := range strings.Split(cols, ", ") {
		name, typ, _ := strings.Cut(c, " ")
		out = append(out, fmt.Sprintf("CAST(NULL AS %s) AS %s", typ, name))
	}
	return strings.Join(out, ", ")
}

// structCols turns `a T, b U` into `'a': 'T', 'b': 'U'`.
func structCols(cols string) string {
	var out []string
	for _, c := range strings.Split(cols, ", ") {
		name, typ, _ := strings.Cut(c, " ")
		out = append(out, fmt.Sprintf("%s: %s", lit(strings.Trim(name, `"`)), lit(typ)))
	}
	return strings.Join(out, ", ")
}

// Query runs trusted SQL with bound arguments.
func (e *Engine) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return e.db.QueryContext(ctx, q, args...)
}

// readKeywords may start a read-only statement.
var readKeywords = map[string]bool{"SELECT": true, "WITH": true, "FROM": true, "VALUES": true, "TABLE": true, "(": true, "DESCRIBE": true, "SUMMARIZE": true, "SHOW": true}

// firstKeyword returns the first word of q after comments and blanks.
func firstKeyword(q string) string {
	for {
		q = strings.TrimLeft(q, " \t\r\n")
		switch {
		case strings.HasPrefix(q, "--"):
			if i := strings.IndexByte(q, '\n'); i >= 0 {
				q = q[i+1:]
				continue
			}
			return ""
		case strings.HasPrefix(q, "/*"):
			if i := strings.Index(q, "*/"); i >= 0 {
				q = q[i+2:]
				continue
			}
			return ""
		case strings.HasPrefix(q, "("):
			return "("
		}
		end := strings.IndexFunc(q, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') })
		if end < 0 {
			end = len(q)
		}
		return strings.ToUpper(q[:end])
	}
}

// CheckReadOnly refuses anything but one SELECT statement: the first
// keyword must start a query, and DuckDB must classify the prepared
// statement as a SELECT.
func (e *Engine) CheckReadOnly(ctx context.Context, q string) error {
	if !readKeywords[firstKeyword(q)] {
		return ErrNotReadOnly
	}
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return errors.New("duckdb driver cannot prepare")
		}
		st, err := c.PrepareContext(ctx, q)
		if err != nil {
			if strings.Contains(err.Error(), "multiple") || strings.Contains(err.Error(), "prepare") && strings.Contains(err.Error(), "context") {
				return ErrNotReadOnly
			}
			return err
		}
		defer st.Close()
		ds, ok := st.(*duckdb.Stmt)
		if !ok {
			return errors.New("duckdb driver returned an unknown statement")
		}
		typ, err := ds.StatementType()
		if err != nil {
			return err
		}
		if typ != duckdb.STATEMENT_TYPE_SELECT {
			return ErrNotReadOnly
		}
		return nil
	})
}
