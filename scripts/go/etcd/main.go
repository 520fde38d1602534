// Command etcd is the upstream etcd server behind a one-line main: etcd's own
// module carries replace directives, so `go install` of it cannot work.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
