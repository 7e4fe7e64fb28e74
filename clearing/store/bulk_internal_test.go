package store

import (
	"errors"
	"reflect"
	"testing"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// A column bun writes as NULL or DEFAULT when zero cannot go in as an
// array, which would write the zero value itself: the statement is refused
// rather than storing something bun would not.
func TestUnnestRefusesColumnsBunWritesAsNull(t *testing.T) {
	type plain struct {
		bun.BaseModel `bun:"table:plain"`
		ID            string `bun:"id,pk"`
		N             int64  `bun:"n"`
	}
	type nullable struct {
		bun.BaseModel `bun:"table:nullable"`
		ID            string `bun:"id,pk"`
		Note          string `bun:"note,nullzero"`
	}
	type counted struct {
		bun.BaseModel `bun:"table:counted"`
		ID            int64 `bun:"id,pk,autoincrement"`
	}
	type defaulted struct {
		bun.BaseModel `bun:"table:defaulted"`
		ID            string `bun:"id,pk"`
		State         string `bun:"state,default:'new'"`
	}
	tables := pgdialect.New().Tables()
	var u unnestInserts
	if q, err := u.text(tables.Get(reflect.TypeFor[plain]())); err != nil || q != `INSERT INTO "plain" ("id", "n") SELECT * FROM unnest($1::text[], $2::int8[])` {
		t.Errorf("plain: %q, %v", q, err)
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[nullable](), reflect.TypeFor[counted](), reflect.TypeFor[defaulted]()} {
		if _, err := u.text(tables.Get(typ)); !errors.Is(err, errUnbound) {
			t.Errorf("%s: %v, want %v", typ.Name(), err, errUnbound)
		}
	}
}
