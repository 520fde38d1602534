// Command ferretdb runs FerretDB for Byron's tests and benchmarks: on SQLite
// (--sqlite-dir) or on PostgreSQL (--postgresql-url).
//
// FerretDB's own cmd/ferretdb panics when built with `go install` because a
// generated version file is missing; embedding the public ferretdb package
// avoids that and keeps the flag surface small.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	addr := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on (empty: none)")
	tlsAddr := flag.String("listen-tls", "", "TLS address to listen on (empty: none)")
	tlsCert := flag.String("listen-tls-cert-file", "", "the TLS listener's certificate (PEM)")
	tlsKey := flag.String("listen-tls-key-file", "", "the TLS listener's key (PEM; may be the certificate's file)")
	dir := flag.String("sqlite-dir", "", "directory for the SQLite databases")
	pgURL := flag.String("postgresql-url", "", "PostgreSQL connection string (instead of --sqlite-dir)")
	flag.Parse()
	if (*dir == "") == (*pgURL == "") {
		fmt.Fprintln(os.Stderr, "ferretdb: give one of --sqlite-dir and --postgresql-url")
		os.Exit(2)
	}
	cfg := ferretdb.Config{
		Listener: ferretdb.ListenerConfig{
			TCP: *addr, TLS: *tlsAddr, TLSCertFile: *tlsCert, TLSKeyFile: *tlsKey,
		},
		Handler:       "postgresql",
		PostgreSQLURL: *pgURL,
	}
	if *dir != "" {
		if err := os.MkdirAll(*dir, 0o700); err != nil {
			fmt.Fprintln(os.Stderr, "ferretdb:", err)
			os.Exit(1)
		}
		cfg.Handler, cfg.PostgreSQLURL, cfg.SQLiteURL = "sqlite", "", "file:"+*dir+"/"
	}
	f, err := ferretdb.New(&cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintln(os.Stderr, "ferretdb: listening on", *addr, *tlsAddr, "uri", f.MongoDBURI())
	if err := f.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}
