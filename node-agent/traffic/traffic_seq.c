/*
 * traffic_seq.c — loss, reordering and duplicates of a datagram flow from
 * the sequence numbers its sender writes into every datagram (0, 1, 2, ...).
 *
 * The receiver remembers the highest number seen and a bitmap of the last
 * TRAFFIC_SEQ_WINDOW numbers below it.  A number above the highest is in
 * order (any gap is, for now, missing); one below it that the bitmap has not
 * seen is late (reordered: it counts as received and as reordered, so
 * reordering never shows up as loss, nor as negative loss); one the bitmap
 * has seen is a duplicate (not counted as received).  A number older than
 * the window is taken as late and unique.  Loss is what the sender says it
 * sent minus the unique numbers received, never below zero (RFC 3550
 * appendix A.3 computes "expected" the same way and clamps the same way).
 */
#include "traffic.h"

#include <string.h>

void
traffic_seq_init(struct traffic_seq *s)
{
    memset(s, 0, sizeof *s);
}

/* Bit of number n in the window (the caller checks n is inside it). */
static int
seq_bit_test_set(struct traffic_seq *s, uint64_t n)
{
    uint64_t i = n % TRAFFIC_SEQ_WINDOW;
    uint64_t mask = 1ull << (i % 64);
    int was = (s->bits[i / 64] & mask) != 0;

    s->bits[i / 64] |= mask;
    return was;
}

static void
seq_bit_clear(struct traffic_seq *s, uint64_t n)
{
    uint64_t i = n % TRAFFIC_SEQ_WINDOW;

    s->bits[i / 64] &= ~(1ull << (i % 64));
}

void
traffic_seq_add(struct traffic_seq *s, uint64_t n)
{
    if (!s->any || n > s->highest) {
        /* Clear the slots the window slides over (they held numbers now too old). */
        uint64_t from = s->any ? s->highest + 1 : 0;

        if (n - from >= TRAFFIC_SEQ_WINDOW)
            memset(s->bits, 0, sizeof s->bits);
        else
            for (uint64_t k = from; k <= n; k++)
                seq_bit_clear(s, k);
        seq_bit_test_set(s, n);
        s->highest = n;
        s->any = 1;
        s->received++;
        return;
    }
    if (s->highest - n >= TRAFFIC_SEQ_WINDOW) {
        s->received++;          /* too old to tell a duplicate: late and unique */
        s->reordered++;
        return;
    }
    if (seq_bit_test_set(s, n)) {
        s->duplicates++;
        return;
    }
    s->received++;
    s->reordered++;
}

uint64_t
traffic_seq_lost(const struct traffic_seq *s, uint64_t sent)
{
    uint64_t expected = sent;

    if (sent == 0 && s->any)
        expected = s->highest + 1;  /* sender's count unknown: up to the highest seen */
    return expected > s->received ? expected - s->received : 0;
}
