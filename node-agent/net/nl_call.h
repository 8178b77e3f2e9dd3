/*
 * nl_call.h — the netlink call frame shared by nl.c and nl_l2.c (internal to
 * node-agent/net/): enter a named namespace on the calling thread, open an
 * rtnetlink socket there, and return home afterwards.
 */
#ifndef CNTB_NL_CALL_H
#define CNTB_NL_CALL_H

#include <netlink/netlink.h>

struct nlcall {
    int home;             /* the thread's own namespace while in another, else -1 */
    struct nl_sock *sk;   /* rtnetlink socket opened inside the target namespace */
};

/*
 * Enters netns (NULL or "" = stay) and opens a connected NETLINK_ROUTE socket
 * there.  0, or -1 with a message in err (NL_ERR_MAX bytes), back home.
 */
int nl_call_begin(struct nlcall *c, const char *netns, char *err);

/* Closes the socket and returns home; aborts when it cannot (wrong namespace). */
void nl_call_end(struct nlcall *c);

/* The kernel's wording for a libnl error code (negative or positive NLE_*), static. */
const char *nl_errstr(int code);

/* printf into err (NL_ERR_MAX bytes); err may be NULL. */
void nl_seterr(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
