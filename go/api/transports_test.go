package api_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/api"
	"github.com/nwayacd/mod_nwayacd/go/console"
	"github.com/nwayacd/mod_nwayacd/go/ident/identtest"
	"github.com/nwayacd/mod_nwayacd/go/service"
)

// restClient posts JSON to a live server with a token.
type restClient struct {
	t    *testing.T
	addr string
	tok  string
}

func (c *restClient) post(path, body string) (int, string) {
	c.t.Helper()
	conn, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
	if err != nil {
		c.t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	auth := ""
	if c.tok != "" {
		auth = "Authorization: Nway " + c.tok + "\r\n"
	}
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", path, auth, len(body), body)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestSameVerdictOverBothTransports sends the same extensions and dial
// strings through fs_cli's commands and the REST API, on one real service,
// and expects the same verdict from each: both take it or both refuse it.
func TestSameVerdictOverBothTransports(t *testing.T) {
	svc := service.New(service.Options{ManualTimers: true, SyncHost: true})
	srv, err := api.New(api.Config{Listen: "127.0.0.1:0"}, svc)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown(t.Context()) })
	c := &restClient{t: t, addr: ln.Addr().String()}
	st, body := c.post("/api/login", `{"username":"admin","password":"admin"}`)
	if st != 200 {
		t.Fatalf("login: %d %s", st, body)
	}
	c.tok = strings.TrimSuffix(strings.TrimPrefix(body, `{"token":"`), `"}`)

	// Extensions: made from fs_cli, then addressed by both transports.
	exts := append(append([]string{}, identtest.GoodNumbers...), identtest.BadNumbers...)
	exts = append(exts, strings.Repeat("7", 60), "-1", "1003@evil.example.com")
	for _, x := range exts {
		if x == "" || strings.TrimSpace(x) != x || strings.ContainsAny(x, " \t") {
			continue // the console splits words at blanks and drops line ends by design
		}
		added := strings.HasPrefix(console.Run(svc, "nway_add_ext", x), "+OK")
		cli := console.Run(svc, "nway_set_ext_dialstring", x+" default")
		code, rbody := c.post("/api/extension_dialstring", `{"Extension":"`+api.JSONRaw(x)+`","DialString":""}`)
		cliOK, restOK := strings.HasPrefix(cli, "+OK"), code == 200
		if cliOK != restOK || cliOK != added {
			t.Errorf("extension %q: added %v; console %q; REST %d %s", x, added, cli, code, rbody)
		}
		if !restOK && code != 400 {
			t.Errorf("extension %q: REST %d, want 400", x, code)
		}
	}
	if !strings.HasPrefix(console.Run(svc, "nway_add_ext", "5555"), "+OK") {
		t.Fatal("cannot add 5555")
	}
	dials := append(append([]string{}, identtest.GoodDials...), identtest.BadDials...)
	for _, d := range dials {
		if d == "" || strings.TrimSpace(d) != d {
			continue
		}
		cli := console.Run(svc, "nway_set_ext_dialstring", "5555 "+d)
		code, rbody := c.post("/api/extension_dialstring", `{"Extension":"5555","DialString":"`+api.JSONRaw(d)+`"}`)
		cliOK, restOK := strings.HasPrefix(cli, "+OK"), code == 200
		if cliOK != restOK {
			t.Errorf("dial %q: console %q; REST %d %s", d, cli, code, rbody)
		}
		if want := containsString(identtest.GoodDials, d); cliOK != want {
			t.Errorf("dial %q accepted=%v, want %v", d, cliOK, want)
		}
	}
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
