// Command probe is the e2e tier's in-cluster test tool (standard library only).
//
//	probe serve [ADDR]            HTTP server: "/" answers "byron-probe <hostname>", "/healthz" ok
//	probe get URL                 GET URL, print the body; fails on a non-2xx status
//	      [-token FILE] [-ca FILE]  bearer token and CA bundle (e.g. the pod's service account)
//	probe lookup NAME             resolve NAME with the pod's resolver, print the addresses
//	probe banner HOST:PORT        connect, print the first line the server sends (NATS: INFO ...)
//	probe mongo-ping HOST:PORT    MongoDB wire protocol: OP_MSG {hello: 1}, fails unless ok: 1
//
// It runs inside pods of the local cluster, so every request stays in the cluster.
package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
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

func banner(args []string) {
	if len(args) != 1 {
		fail("usage: probe banner HOST:PORT")
	}
	c, err := net.DialTimeout("tcp", args[0], 5*time.Second)
	if err != nil {
		fail("%v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		fail("%s: %v", args[0], err)
	}
	fmt.Print(line)
}

// natsPub connects to a NATS server without credentials, publishes one
// message and prints the server's answer: "+OK", or the -ERR line (e.g.
// "-ERR 'Authorization Violation'" where NATS requires credentials).
func natsPub(args []string) {
	if len(args) != 2 {
		fail("usage: probe nats-pub HOST:PORT SUBJECT")
	}
	c, err := net.DialTimeout("tcp", args[0], 5*time.Second)
	if err != nil {
		fail("%v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	if info, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(info, "INFO ") {
		fail("%s: no INFO (%v)", args[0], err)
	}
	fmt.Fprintf(c, "CONNECT {\"verbose\":true,\"pedantic\":false}\r\nPUB %s 2\r\n{}\r\nPING\r\n", args[1])
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			fail("%s: %v", args[0], err)
		}
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "-ERR") || line == "PONG" {
			fmt.Println(line)
			return
		}
		if line == "+OK" {
			fmt.Println(line)
		}
	}
}

// bsonDoc encodes a flat document of int32 and string fields, in order.
func bsonDoc(fields ...any) []byte {
	var b bytes.Buffer
	for i := 0; i+1 < len(fields); i += 2 {
		name := fields[i].(string)
		switch v := fields[i+1].(type) {
		case int32:
			b.WriteByte(0x10)
			b.WriteString(name + "\x00")
			binary.Write(&b, binary.LittleEndian, v)
		case string:
			b.WriteByte(0x02)
			b.WriteString(name + "\x00")
			binary.Write(&b, binary.LittleEndian, int32(len(v)+1))
			b.WriteString(v + "\x00")
		}
	}
	b.WriteByte(0)
	out := make([]byte, 4, 4+b.Len())
	binary.LittleEndian.PutUint32(out, uint32(4+b.Len()))
	return append(out, b.Bytes()...)
}

func mongoPing(args []string) {
	if len(args) != 1 {
		fail("usage: probe mongo-ping HOST:PORT")
	}
	c, err := net.DialTimeout("tcp", args[0], 5*time.Second)
	if err != nil {
		fail("%v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	doc := bsonDoc("hello", int32(1), "$db", "admin")
	// OP_MSG: header (length, requestID, responseTo, opCode 2013), flags, section kind 0
	msg := make([]byte, 16+4+1, 16+4+1+len(doc))
	binary.LittleEndian.PutUint32(msg[4:], 1)
	binary.LittleEndian.PutUint32(msg[12:], 2013)
	msg = append(msg, doc...)
	binary.LittleEndian.PutUint32(msg[0:], uint32(len(msg)))
	if _, err := c.Write(msg); err != nil {
		fail("%v", err)
	}
	hdr := make([]byte, 16)
	if _, err := io.ReadFull(c, hdr); err != nil {
		fail("reading reply: %v", err)
	}
	n := binary.LittleEndian.Uint32(hdr[0:])
	if op := binary.LittleEndian.Uint32(hdr[12:]); op != 2013 || n < 21 || n > 16<<20 {
		fail("unexpected reply: opCode %d, length %d", op, n)
	}
	body := make([]byte, n-16)
	if _, err := io.ReadFull(c, body); err != nil {
		fail("reading reply: %v", err)
	}
	reply := body[5:] // flags, section kind 0
	// "ok" as a double (0x01) equal to 1.0
	i := bytes.Index(reply, []byte("\x01ok\x00"))
	if i < 0 || i+12 > len(reply) || binary.LittleEndian.Uint64(reply[i+4:]) != 0x3FF0000000000000 {
		fail("reply without ok: 1 (%d bytes)", len(reply))
	}
	fmt.Printf("ok: hello answered by %s (%d bytes)\n", args[0], len(reply))
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
	case "banner":
		banner(os.Args[2:])
	case "mongo-ping":
		mongoPing(os.Args[2:])
	case "nats-pub":
		natsPub(os.Args[2:])
	default:
		fail("unknown command %q", os.Args[1])
	}
}
