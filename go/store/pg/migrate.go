package pg

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	schema "github.com/nwayacd/mod_nwayacd/sql"
)

// migrateLock is the pg_advisory_xact_lock key that serialises migrations
// across every node sharing the database ("nwayacd" in ASCII).
const migrateLock int64 = 0x6e7761796163640

// MigrationsTable records applied migrations.
const MigrationsTable = "nwayacd_schema_migrations"

// Migration is one numbered schema file.
type Migration struct {
	Version int
	Name    string // file name, e.g. 0001_fsgui_tables.sql
	SQL     string
}

// Migrations lists the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	names, err := fs.Glob(schema.Migrations, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	var ms []Migration
	seen := map[int]string{}
	for _, n := range names {
		num, _, ok := strings.Cut(n, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", n)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", prev, n, v)
		}
		seen[v] = n
		b, err := fs.ReadFile(schema.Migrations, n)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", n, err)
		}
		ms = append(ms, Migration{Version: v, Name: n, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// Migrate applies every embedded migration the database has not recorded,
// each once, each in its own transaction, in version order, and returns the
// names it applied. Concurrent callers (several nodes starting at once) are
// serialised by an advisory lock; the later ones find nothing left to do.
func Migrate(ctx context.Context, pool *pgxpool.Pool) ([]string, error) {
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	var applied []string
	for _, m := range ms {
		did, err := apply(ctx, pool, m)
		if err != nil {
			return applied, err
		}
		if did {
			applied = append(applied, m.Name)
		}
	}
	return applied, nil
}

func apply(ctx context.Context, pool *pgxpool.Pool, m Migration) (bool, error) {
	did := false
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLock); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+MigrationsTable+` (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			checksum   text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("create %s: %w", MigrationsTable, err)
		}
		var n int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+MigrationsTable+" WHERE version = $1", m.Version).Scan(&n); err != nil {
			return fmt.Errorf("read %s: %w", MigrationsTable, err)
		}
		if n > 0 {
			return nil
		}
		// No arguments: pgx sends it with the simple protocol, so a file
		// may hold many statements.
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return err
		}
		sum := sha256.Sum256([]byte(m.SQL))
		if _, err := tx.Exec(ctx, "INSERT INTO "+MigrationsTable+" (version, name, checksum) VALUES ($1, $2, $3)",
			m.Version, m.Name, hex.EncodeToString(sum[:])); err != nil {
			return fmt.Errorf("record: %w", err)
		}
		did = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("migration %s: %w", m.Name, err)
	}
	return did, nil
}
