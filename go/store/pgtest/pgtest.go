// Package pgtest gives tests a fresh PostgreSQL database of their own.
package pgtest

import (
	"context"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nwayacd/mod_nwayacd/go/store"

	"github.com/nwayacd/mod_nwayacd/go/internal/testsvc"
)

// AdminDSN is the server tests use (env NWAYACD_PG_DSN overrides it).
func AdminDSN() string {
	if dsn := os.Getenv("NWAYACD_PG_DSN"); dsn != "" {
		return dsn
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// DB creates an empty database with a unique name, drops it when the test
// ends and returns its name and DSN. Without a reachable server the test is
// skipped, or fails when NWAYACD_REQUIRE_SERVICES=1.
func DB(t testing.TB) (name, dsn string) {
	t.Helper()
	// CREATE and DROP DATABASE wait for a checkpoint, which takes well
	// over 10 s while CI runs every package with -race at once.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, AdminDSN())
	if err != nil {
		testsvc.Unavailable(t, "postgres unreachable: %v", err)
	}
	defer func() { _ = admin.Close(context.Background()) }()
	name = "nwayacd_t_" + store.NewID()[:16]
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c, err := pgx.Connect(ctx, AdminDSN())
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer func() { _ = c.Close(context.Background()) }()
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(AdminDSN())
	if err != nil {
		t.Fatalf("admin dsn: %v", err)
	}
	u.Path = "/" + name
	return name, u.String()
}
