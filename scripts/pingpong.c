// The floor under one-connection lookup latency, in C: a client process writes a 26-byte request and reads a
// 220-byte reply over a Unix socketpair, one at a time, against a server process that answers each request
// (the sizes of a GetKey call). BENCHMARKS.md ("Where the time goes") uses it to separate the kernel's round
// trip, the wake-up of an event-loop server, and the cost of the two processes being on different CPUs.
//
//   cc -O2 -o /tmp/pingpong scripts/pingpong.c
//   /tmp/pingpong MODE [SERVER_CPU CLIENT_CPU]
//
// MODE: block (the server blocks in read), epoll (epoll_wait, then read: what an event loop does),
// spin (non-blocking reads in a loop: busy polling). With CPUs given, each side is pinned to its CPU.
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { ROUNDS = 200000, REQUEST = 26, REPLY = 220 };

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static void pin(int cpu) {
    if (cpu < 0) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

static void serve(int fd, const char *mode) {
    char buffer[512], reply[REPLY];
    memset(reply, 1, sizeof reply);
    int poller = -1;
    if (strcmp(mode, "epoll") == 0) {
        poller = epoll_create1(0);
        struct epoll_event event = {.events = EPOLLIN, .data.fd = fd};
        epoll_ctl(poller, EPOLL_CTL_ADD, fd, &event);
    }
    for (;;) {
        ssize_t n;
        if (strcmp(mode, "spin") == 0) {
            do n = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT); while (n < 0);
        } else {
            if (poller >= 0) {
                struct epoll_event event;
                epoll_wait(poller, &event, 1, -1);
            }
            n = read(fd, buffer, sizeof buffer);
        }
        if (n <= 0) return;
        if (write(fd, reply, sizeof reply) != sizeof reply) return;
    }
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 2 && argc != 4) {
        fprintf(stderr, "usage: %s block|epoll|spin [SERVER_CPU CLIENT_CPU]\n", argv[0]);
        return 2;
    }
    int server_cpu = argc == 4 ? atoi(argv[2]) : -1, client_cpu = argc == 4 ? atoi(argv[3]) : -1;
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return 1;
    pid_t server = fork();
    if (server == 0) {
        close(fds[0]);
        pin(server_cpu);
        serve(fds[1], argv[1]);
        _exit(0);
    }
    close(fds[1]);
    pin(client_cpu);
    char request[REQUEST], buffer[512];
    memset(request, 2, sizeof request);
    double *latency = malloc(ROUNDS * sizeof(double));
    for (int i = 0; i < ROUNDS; i++) {
        double start = now_ns();
        if (write(fds[0], request, sizeof request) != sizeof request) return 1;
        for (int got = 0; got < REPLY;) {
            ssize_t n = read(fds[0], buffer, sizeof buffer);
            if (n <= 0) return 1;
            got += (int)n;
        }
        latency[i] = now_ns() - start;
    }
    qsort(latency, ROUNDS, sizeof(double), compare);
    printf("%s: p50 %.1f us, p99 %.1f us\n", argv[1], latency[ROUNDS / 2] / 1e3, latency[ROUNDS * 99 / 100] / 1e3);
    close(fds[0]);
    waitpid(server, NULL, 0);
    return 0;
}
