// Command probe is the e2e tier's in-cluster test tool (standard library only).
//
//	probe serve [ADDR]            HTTP server: "/" answers "byron-probe <hostname>", "/healthz" ok
//	probe get URL                 GET URL, print the body; fails on a non-2xx status
//	      [-token FILE] [-ca FILE]  bearer token and CA bundle (e.g. the pod's service account)
//	probe lookup NAME             resolve NAME with the pod's resolver, print the addresses
//
// It runs inside pods of the local cluster, so every request stays in the cluster.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "probe: "+format+"\n", args...)
	os.Exit(1)
}

func serve(args []string) {
	addr := ":8080"
	if len(args) > 0 {
		addr = args[0]
	}
	host, _ := os.Hostname()
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "byron-probe %s\n", host)
	})
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
		<-ch
		srv.Close()
	}()
	fmt.Fprintf(os.Stderr, "probe: serving on %s\n", addr)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		fail("%v", err)
	}
}

func get(args []string) {
	fs := flag.NewFlagSet("get", flag.ExitOnError)
	token := fs.String("token", "", "file with a bearer token")
	ca := fs.String("ca", "", "PEM CA bundle for https")
	timeout := fs.Duration("timeout", 10*time.Second, "request timeout")
	fs.Parse(args)
	if fs.NArg() != 1 {
		fail("usage: probe get [-token FILE] [-ca FILE] URL")
	}
	tr := &http.Transport{}
	if *ca != "" {
		pem, err := os.ReadFile(*ca)
		if err != nil {
			fail("%v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			fail("no certificate in %s", *ca)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	req, err := http.NewRequest("GET", fs.Arg(0), nil)
	if err != nil {
		fail("%v", err)
	}
	if *token != "" {
		b, err := os.ReadFile(*token)
		if err != nil {
			fail("%v", err)
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(b)))
	}
	resp, err := (&http.Client{Transport: tr, Timeout: *timeout}).Do(req)
	if err != nil {
		fail("%v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	os.Stdout.Write(body)
	if resp.StatusCode/100 != 2 {
		fail("%s: HTTP %d", fs.Arg(0), resp.StatusCode)
	}
}

func lookup(args []string) {
	if len(args) != 1 {
		fail("usage: probe lookup NAME")
	}
	addrs, err := net.LookupHost(args[0])
	if err != nil {
		fail("%v", err)
	}
	fmt.Println(strings.Join(addrs, " "))
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: probe serve|get|lookup ...")
	}
	switch os.Args[1] {
	case "serve":
		serve(os.Args[2:])
	case "get":
		get(os.Args[2:])
	case "lookup":
		lookup(os.Args[2:])
	default:
		fail("unknown command %q", os.Args[1])
	}
}
