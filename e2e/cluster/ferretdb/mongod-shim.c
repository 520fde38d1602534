/* mongod-shim — entrypoint of the local cluster's FerretDB image, which stands
 * in for a mongo image (no MongoDB image can be built here).
 *
 * A ByronComponent's cache StatefulSet starts its image the way the official
 * mongo image is started (`args: [--bind_ip_all]`, data in /data/db).
 * FerretDB takes other flags, so this shim translates: FerretDB's own flags
 * (--listen-addr, --sqlite-dir) are passed through as given; anything else
 * (mongod's --bind_ip_all, --port 27017, ...) means "run like mongod": listen on
 * every address, port 27017, data in /data/db. mongod's
 * `--tlsCertificateKeyFile FILE` (spec.cache.tls: certificate and key in one
 * PEM file, which Go's TLS reads as both) means TLS only on that port, as
 * `--tlsMode requireTLS`; mongod's --tlsCAFile is not passed on (FerretDB would
 * then require client certificates, which mongod's
 * --tlsAllowConnectionsWithoutCertificates waives). Static C, no libc at run
 * time. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int own = 0;
    const char *pem = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "--listen-addr", 13) || !strncmp(argv[i], "--sqlite-dir", 12) ||
            !strncmp(argv[i], "-listen-addr", 12) || !strncmp(argv[i], "-sqlite-dir", 11))
            own = 1;
        if (!strcmp(argv[i], "--tlsCertificateKeyFile") && i + 1 < argc) pem = argv[i + 1];
        if (!strncmp(argv[i], "--tlsCertificateKeyFile=", 24)) pem = argv[i] + 24;
    }
    if (own) {
        argv[0] = "/ferretdb";
        execv("/ferretdb", argv);
    } else if (pem) {
        static char cert[4200], key[4200];
        if (snprintf(cert, sizeof cert, "--listen-tls-cert-file=%s", pem) >= (int)sizeof cert ||
            snprintf(key, sizeof key, "--listen-tls-key-file=%s", pem) >= (int)sizeof key) {
            fprintf(stderr, "mongod-shim: --tlsCertificateKeyFile: path too long\n");
            return 2;
        }
        fprintf(stderr, "mongod-shim: TLS only, certificate and key from %s\n", pem);
        char *args[] = {
            "/ferretdb", "--listen-addr=", "--listen-tls=0.0.0.0:27017", cert, key, "--sqlite-dir=/data/db",
            NULL};
        execv("/ferretdb", args);
    } else {
        for (int i = 1; i < argc; i++) fprintf(stderr, "mongod-shim: ignoring mongod flag %s\n", argv[i]);
        char *args[] = {"/ferretdb", "--listen-addr=0.0.0.0:27017", "--sqlite-dir=/data/db", NULL};
        execv("/ferretdb", args);
    }
    perror("mongod-shim: exec /ferretdb");
    return 127;
}
