package node

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nwayacd/mod_nwayacd/go/service"
	"github.com/nwayacd/mod_nwayacd/go/store/pg"
	"github.com/nwayacd/mod_nwayacd/go/store/pgtest"
)

// BenchmarkLoadIntoCore: at module load, 10,000 extensions, 1,000 groups
// and 20,000 logins are read from PostgreSQL and filled into the core.
// Reports ms per complete load (target ≤ 1,000 ms).
func BenchmarkLoadIntoCore(b *testing.B) {
	need(b, "127.0.0.1:5432")
	_, dsn := pgtest.DB(b)
	ctx := context.Background()
	s, err := pg.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	_, err = conn.Exec(ctx, `
		INSERT INTO nwayacd_extension (number, job_number) SELECT (10000 + i)::text, i::text FROM generate_series(1, 10000) i;
		INSERT INTO ext_group (group_name, group_number, group_call_mode) SELECT 'g' || i, (500000 + i)::text, i % 6 FROM generate_series(1, 1000) i;
		INSERT INTO ext_group_map (ext_group_number, ext)
			SELECT (500000 + (i % 1000) + 1 + k)::text, (10000 + i)::text FROM generate_series(1, 10000) i, generate_series(0, 1) k;
		ANALYZE;`)
	conn.Close(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		snap, err := s.Load(ctx)
		if err != nil {
			b.Fatal(err)
		}
		svc := service.New(service.Options{})
		svc.Load(snap)
		if st := svc.Status(); st.Extensions != 10000 || st.Groups != 1000 {
			b.Fatalf("filled %d extensions, %d groups", st.Extensions, st.Groups)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/load")
}
