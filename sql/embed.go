// Package sql holds mod_nwayacd's PostgreSQL schema as numbered migrations
// (NNNN_name.sql). They are embedded here because //go:embed cannot reach
// parent folders; go/store/pg applies them.
package sql

import "embed"

// Migrations holds every NNNN_*.sql file of this folder.
//
//go:embed *.sql
var Migrations embed.FS
