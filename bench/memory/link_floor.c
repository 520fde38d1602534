/*
 * bench/memory/link_floor.c — the memory floor of a set of shared libraries
 * (docs/benchmarks.md, "Issue 13's goals", Memory).
 *
 *   bench_link_floor LIB...
 *
 * Loads each LIB in order as the dynamic loader loads a binary's DT_NEEDED
 * entries (RTLD_NOW | RTLD_GLOBAL: every relocation resolved, constructors
 * run — Debian builds these libraries with BIND_NOW anyway), prints "ready"
 * and waits for stdin to close, so that scripts/bench can read its
 * /proc/PID/smaps. Nothing of the libraries is called: what is resident then
 * is what linking them costs a process that does nothing else, a bound no
 * change to Byron's own code can go below.
 */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!dlopen(argv[i], RTLD_NOW | RTLD_GLOBAL)) {
            fprintf(stderr, "bench_link_floor: %s\n", dlerror());
            return 1;
        }
    }
    printf("ready\n");
    fflush(stdout);
    while (getchar() != EOF) {
    }
    return 0;
}
