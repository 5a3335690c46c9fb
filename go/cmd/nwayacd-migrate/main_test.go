package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/nwayacd/mod_nwayacd/go/store/pgtest"
)

func TestRun(t *testing.T) {
	_, dsn := pgtest.DB(t)
	var out, errb bytes.Buffer
	if code := run([]string{"-dsn", dsn}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "applied 0001_fsgui_tables.sql") || !strings.Contains(out.String(), "applied 0003_") {
		t.Fatalf("first run printed %q", out.String())
	}
	out.Reset()
	if code := run([]string{"-dsn", dsn}, &out, &errb); code != 0 || out.String() != "schema up to date\n" {
		t.Fatalf("second run: exit %d, %q %s", code, out.String(), errb.String())
	}
	if code := run(nil, &out, &errb); code != 2 || !strings.Contains(errb.String(), "-dsn is required") {
		t.Fatalf("no dsn: exit %d, %q", code, errb.String())
	}
}
