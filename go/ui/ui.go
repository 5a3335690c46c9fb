// Package ui holds the wallboard and agent console pages, embedded in the
// binary: the module serves them at /ui/ and loads nothing from the
// internet (hotline networks are often isolated).
package ui

import (
	"embed"
	"io/fs"
)

//go:embed files
var files embed.FS

// Files is the page tree: index.html (wallboard), console.html, and their
// scripts and styles.
var Files, _ = fs.Sub(files, "files")
