// Command nwayacd-migrate applies mod_nwayacd's schema migrations to a
// PostgreSQL database (`make db-migrate`) and prints what it applied.
// FSGUI's existing ext_group / ext_group_map tables and rows are kept.
//
//	nwayacd-migrate -dsn postgres://postgres@127.0.0.1:5432/freeswitch
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nwayacd/mod_nwayacd/go/store/pg"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nwayacd-migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dsn := fs.String("dsn", os.Getenv("NWAYACD_DSN"), "PostgreSQL connection string (default $NWAYACD_DSN)")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	list := fs.Bool("list", false, "only list the embedded migrations")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *list {
		ms, err := pg.Migrations()
		if err != nil {
			fmt.Fprintln(stderr, "nwayacd-migrate:", err)
			return 1
		}
		for _, m := range ms {
			fmt.Fprintln(stdout, m.Name)
		}
		return 0
	}
	if *dsn == "" {
		fmt.Fprintln(stderr, "nwayacd-migrate: -dsn is required (e.g. postgres://postgres@127.0.0.1:5432/freeswitch)")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	pool, err := pgxpool.New(ctx, *dsn)
	if err != nil {
		fmt.Fprintln(stderr, "nwayacd-migrate:", err)
		return 1
	}
	defer pool.Close()
	applied, err := pg.Migrate(ctx, pool)
	for _, name := range applied {
		fmt.Fprintln(stdout, "applied", name)
	}
	if err != nil {
		fmt.Fprintln(stderr, "nwayacd-migrate:", err)
		return 1
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "schema up to date")
	}
	return 0
}
