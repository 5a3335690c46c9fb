package config

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FreeSWITCH's XML preprocessor runs an X-PRE-PROCESS line even inside a
// comment: an include of the file's own name there made a copied phrase
// file include itself until reloadxml failed ("unclosed <!--", seen on
// FreeSWITCH 1.10.12). The example files must not carry one in a comment.
func TestConfExamplesHaveNoPreprocessInComments(t *testing.T) {
	root := filepath.Join("..", "..", "conf")
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".xml") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		in := false
		for i, line := range strings.Split(string(b), "\n") {
			rest := line
			for {
				if !in {
					j := strings.Index(rest, "<!--")
					if j < 0 {
						break
					}
					in, rest = true, rest[j+4:]
					continue
				}
				j := strings.Index(rest, "-->")
				if strings.Contains(strings.ToUpper(firstN(rest, j)), "<X-PRE-PROCESS") {
					t.Errorf("%s:%d: X-PRE-PROCESS inside a comment (FreeSWITCH runs it): %s", path, i+1, strings.TrimSpace(line))
				}
				if j < 0 {
					break
				}
				in, rest = false, rest[j+3:]
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 3 {
		t.Fatalf("found %d example XML files under %s", n, root)
	}
}

func firstN(s string, j int) string {
	if j < 0 {
		return s
	}
	return s[:j]
}
