// Command ferretdb runs FerretDB (SQLite backend) for Byron's tests.
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
	dir := flag.String("sqlite-dir", "", "directory for the SQLite databases (required)")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "ferretdb: --sqlite-dir is required")
		os.Exit(2)
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{
			TCP: *addr, TLS: *tlsAddr, TLSCertFile: *tlsCert, TLSKeyFile: *tlsKey,
		},
		Handler:   "sqlite",
		SQLiteURL: "file:" + *dir + "/",
	})
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
