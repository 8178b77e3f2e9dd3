/*
 * traffic_io.h — socket plumbing of cntb-traffic shared by client and server
 * (traffic_io.c): protocol lines, exact reads and writes, datagram loops.
 */
#ifndef CNTB_TRAFFIC_IO_H
#define CNTB_TRAFFIC_IO_H

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "traffic.h"

/* Sends all len bytes (MSG_NOSIGNAL); 0, or -1 with errno when the peer is gone. */
int traffic_send_all(int fd, const void *buf, size_t len);
/* Reads exactly len bytes; 0, 1 at EOF before len, -1 with errno. */
int traffic_recv_all(int fd, void *buf, size_t len);
/*
 * Reads one '\n'-terminated line of at most cap - 1 bytes within timeout_ms
 * without consuming anything after it; stores it without the newline,
 * NUL-terminated.  Returns its length or -1 (timeout, EOF, too long, error).
 */
int traffic_read_line(int fd, char *buf, size_t cap, int timeout_ms);
/* Writes obj (reference taken, even on failure) as one compact JSON line; 0 or -1. */
int traffic_write_json_line(int fd, json_t *obj);
/* Reads one JSON line (traffic_read_line); a fresh value or NULL. */
json_t *traffic_read_json_line(int fd, int timeout_ms);
/* Sleeps until the monotonic time t_ns. */
void traffic_sleep_until(uint64_t t_ns);
/* Big-endian 64-bit word at p. */
uint64_t traffic_get_be64(const unsigned char *p);
void traffic_put_be64(unsigned char *p, uint64_t v);
/* Turns UDP_SEGMENT (sender) or UDP_GRO (receiver) on when `on`; 0 or -1. */
int traffic_udp_set_gso(int fd, int sender, int on, long size);
/* Reads UDP_SEGMENT (sender: the segment size) or UDP_GRO (receiver) back; 0 = off. */
int traffic_udp_get_gso(int fd, int sender);

/* One paced datagram flow (traffic_udp_send_loop). */
struct traffic_udp_tx {
    int fd;                       /* connected UDP socket, borrowed */
    size_t size;                  /* bytes per datagram, >= 8 */
    long rate;                    /* datagrams/s, 0 = as fast as possible */
    int gso;                      /* 1: UDP_SEGMENT is set to size on fd */
    uint64_t start_ns;            /* monotonic start; warm-up until start + omit */
    uint64_t omit_ns, dur_ns;     /* warm-up and measured durations, ns */
    _Atomic uint64_t sent;        /* measured datagrams sent (seq 0..sent-1) */
    _Atomic uint64_t sent_warmup; /* warm-up datagrams sent */
    _Atomic int stop;             /* set to end early */
    uint64_t measure_start_ns;    /* start + omit */
    uint64_t end_ns;              /* when sending stopped */
    int failed, err;              /* 1 and errno on a send error */
};
/* Sends until start + omit + dur (or stop). */
void traffic_udp_send_loop(struct traffic_udp_tx *t);

/* One datagram receiver (traffic_udp_recv_loop). */
struct traffic_udp_rx {
    int fd;                       /* UDP socket, borrowed */
    int ctl_fd;                   /* readable = stop (the server's TCP connection), or -1 */
    size_t size;                  /* bytes per datagram */
    int gso;                      /* 1: UDP_GRO is on; buffers are split into size bytes */
    struct traffic_seq seq;       /* measured datagrams (receiver thread only) */
    _Atomic uint64_t rx_pkts;     /* measured datagrams received, duplicates included */
    _Atomic uint64_t rx_bytes;    /* their payload bytes */
    _Atomic uint64_t rx_warmup;   /* warm-up datagrams received */
    _Atomic int stop;             /* set to end */
    uint64_t first_ns, last_ns;   /* monotonic arrival of the first and last measured batch */
    struct sockaddr_storage peer; /* source of the first PUNCH datagram */
    socklen_t peer_len;
    int have_peer;
    int failed;
};
/* Receives until stop or ctl_fd is readable. */
void traffic_udp_recv_loop(struct traffic_udp_rx *r);
/*
 * Echoes datagrams of at most size bytes (8..TRAFFIC_UDP_SIZE_MAX) on the
 * connected UDP socket fd until the control connection ctl_fd is readable
 * (its "end" line or EOF, seen within about 20 ms); punches are not echoed.
 * Returns the datagrams echoed, 0 also when out of memory.  Both sockets are
 * borrowed; fd is left with a receive timeout (SO_RCVTIMEO) of 20 ms.
 */
uint64_t traffic_udp_echo_loop(int fd, int ctl_fd, size_t size);

#endif
