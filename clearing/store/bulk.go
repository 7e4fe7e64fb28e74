package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/schema"
)

// On PostgreSQL a batch's rows (its payments, events, postings,
// screenings) go in as one array per column, unnested by one short
// statement that pgx prepares once per connection, instead of bun's
// multi-row INSERT with every value formatted into its text: PostgreSQL
// parsed a statement of 500 rows' literals for every table of every batch,
// and binding each value as a parameter of its own cost more in
// database/sql and pgx than it saved. The values are those bun would have
// written: the same strings (invalid UTF-8 replaced), times to the
// microsecond. SQLite keeps bun's statement: binding saved it
// nothing measurable (docs/performance.md).

// unnestInserts are a Store's unnest statements, by table.
type unnestInserts struct {
	mu    sync.Mutex
	texts map[string]string
}

// text is the statement inserting t's rows from one array per column.
func (u *unnestInserts) text(t *schema.Table) (string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if q, ok := u.texts[t.Name]; ok {
		return q, nil
	}
	var cols, arrays []string
	for i, f := range t.Fields {
		if f.NullZero || f.AutoIncrement || f.Identity || f.SQLDefault != "" || f.IsPtr {
			// bun writes NULL or DEFAULT for such a field's zero value; an
			// array would write the zero value itself.
			return "", fmt.Errorf("%w: column %s.%s may be written as NULL or DEFAULT", errUnbound, t.Name, f.Name)
		}
		typ, ok := arrayTypes[f.IndirectType]
		if !ok {
			return "", fmt.Errorf("%w: column %s.%s of type %s has no array", errUnbound, t.Name, f.Name, f.IndirectType)
		}
		cols = append(cols, string(f.SQLName))
		arrays = append(arrays, "$"+strconv.Itoa(i+1)+"::"+typ)
	}
	q := "INSERT INTO " + string(t.SQLName) + " (" + strings.Join(cols, ", ") + ") SELECT * FROM unnest(" + strings.Join(arrays, ", ") + ")"
	if u.texts == nil {
		u.texts = map[string]string{}
	}
	u.texts[t.Name] = q
	return q, nil
}

var errUnbound = errors.New("not insertable as arrays")

// arrayTypes are the PostgreSQL array types of the Go field types the
// store's rows use.
var arrayTypes = map[reflect.Type]string{
	reflect.TypeFor[string]():       "text[]",
	reflect.TypeFor[int]():          "int8[]",
	reflect.TypeFor[int64]():        "int8[]",
	reflect.TypeFor[float64]():      "float8[]",
	reflect.TypeFor[time.Time]():    "timestamptz[]",
	reflect.TypeFor[bun.NullTime](): "timestamptz[]",
}

// insertRows inserts rows, a slice of one of the store's bun models, in
// tx: on PostgreSQL as arrays, on SQLite through bun.
func insertRows[T any](ctx context.Context, s *Store, tx bun.Tx, rows []T) error {
	if len(rows) == 0 {
		return nil
	}
	if !s.postgres {
		_, err := tx.NewInsert().Model(&rows).Exec(ctx)
		return err
	}
	t := s.db.Dialect().Tables().Get(reflect.TypeFor[T]())
	q, err := s.unnest.text(t)
	if err != nil {
		return err
	}
	structs := make([]reflect.Value, len(rows))
	for i := range rows {
		structs[i] = reflect.ValueOf(&rows[i]).Elem()
	}
	args := make([]any, len(t.Fields))
	for j, f := range t.Fields {
		if args[j], err = columnArray(structs, f); err != nil {
			return fmt.Errorf("insert into %s: column %s: %w", t.Name, f.Name, err)
		}
	}
	if _, err := tx.Tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("insert %d rows into %s: %w", len(rows), t.Name, err)
	}
	return nil
}

// columnArray is field f of every row, as bun would write each value.
func columnArray(rows []reflect.Value, f *schema.Field) (any, error) {
	switch f.IndirectType {
	case reflect.TypeFor[string]():
		out := make([]string, len(rows))
		for i, r := range rows {
			out[i] = bunString(f.Value(r).String())
		}
		return out, nil
	case reflect.TypeFor[int](), reflect.TypeFor[int64]():
		out := make([]int64, len(rows))
		for i, r := range rows {
			out[i] = f.Value(r).Int()
		}
		return out, nil
	case reflect.TypeFor[float64]():
		out := make([]float64, len(rows))
		for i, r := range rows {
			out[i] = f.Value(r).Float()
		}
		return out, nil
	case reflect.TypeFor[time.Time]():
		out := make([]time.Time, len(rows))
		for i, r := range rows {
			out[i] = bunTime(f.Value(r).Interface().(time.Time))
		}
		return out, nil
	case reflect.TypeFor[bun.NullTime]():
		out := make([]*time.Time, len(rows))
		for i, r := range rows {
			if nt := f.Value(r).Interface().(bun.NullTime); !nt.IsZero() {
				t := bunTime(nt.Time)
				out[i] = &t
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: type %s", errUnbound, f.IndirectType)
}

// bunString is s as bun writes it: invalid UTF-8 replaced with U+FFFD,
// byte by byte (PostgreSQL would refuse it). A NUL, which bun refuses,
// PostgreSQL refuses too.
func bunString(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s { // each invalid byte a U+FFFD, as bun's loop
		b.WriteRune(r)
	}
	return b.String()
}

// bunTime is t as bun writes a time: in UTC, to the microsecond.
func bunTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
