/*
 * test_inter.c — the plan shared by the inter-host kinds (inter.h): names
 * and addresses of a host's container for routed kinds (nat, routing) and
 * for overlay, and the refusals, without touching the network.
 */
#include "inter.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static netkind_ctx_t ctx_for(int64_t run, const char *addr, bool client)
{
    netkind_ctx_t c;
    memset(&c, 0, sizeof c);
    c.run = run;
    snprintf(c.testbed, sizeof c.testbed, "lab");
    snprintf(c.placement, sizeof c.placement, "cross-host");
    c.has_client = client;
    c.has_server = !client;
    snprintf(c.underlay_addr, sizeof c.underlay_addr, "%s", addr);
    return c;
}

START_TEST(test_routed_plan)
{
    char err[NETKIND_ERR_MAX];
    inter_plan_t p;
    netkind_ctx_t c = ctx_for(12, "198.18.7.2", false);
    ck_assert_int_eq(inter_plan(&c, "nat", true, &p, err), 0);
    ck_assert_str_eq(p.role, "server");
    ck_assert_int_eq(p.h, 2);
    ck_assert_str_eq(p.br, "cntb12-br");
    ck_assert_str_eq(p.veth, "cntb12-s");
    ck_assert_str_eq(p.ns, "cntb-lab-12-server");
    ck_assert_str_eq(p.subnet, "198.19.2.0/24");
    ck_assert_str_eq(p.gw, "198.19.2.1");
    ck_assert_str_eq(p.gw_cidr, "198.19.2.1/24");
    ck_assert_str_eq(p.addr, "198.19.2.2");
    ck_assert_str_eq(p.cidr, "198.19.2.2/24");
}
END_TEST

START_TEST(test_overlay_plan)
{
    char err[NETKIND_ERR_MAX];
    inter_plan_t p;
    netkind_ctx_t c = ctx_for(7, "198.18.40.1", true);
    ck_assert_int_eq(inter_plan(&c, "overlay", false, &p, err), 0);
    ck_assert_str_eq(p.role, "client");
    ck_assert_str_eq(p.veth, "cntb7-c");
    ck_assert_str_eq(p.ns, "cntb-lab-7-client");
    ck_assert_str_eq(p.subnet, "198.19.250.0/24");
    ck_assert_str_eq(p.gw, "");
    ck_assert_str_eq(p.addr, "198.19.250.1");
    ck_assert_str_eq(p.cidr, "198.19.250.1/24");
}
END_TEST

START_TEST(test_subnet_of)
{
    char s[20];
    ck_assert_int_eq(inter_subnet_of("198.18.7.200", s), 0);
    ck_assert_str_eq(s, "198.19.200.0/24");
    ck_assert_int_eq(inter_subnet_of("198.18.7", s), -1);
    ck_assert_int_eq(inter_subnet_of(NULL, s), -1);
}
END_TEST

START_TEST(test_refusals)
{
    char err[NETKIND_ERR_MAX];
    inter_plan_t p;
    netkind_ctx_t c = ctx_for(7, "198.18.7.1", true);
    c.has_server = true; /* both containers on one host: not a cross-host run */
    ck_assert_int_eq(inter_plan(&c, "routing", true, &p, err), -1);
    ck_assert_str_eq(err, "network routing: run 7: a host holds exactly one container of a cross-host run");
    c = ctx_for(7, "fe80::1", true);
    ck_assert_int_eq(inter_plan(&c, "nat", true, &p, err), -1);
    ck_assert_str_eq(err, "network nat: run 7: underlay address \"fe80::1\" is not IPv4");
    c = ctx_for(7, "198.18.7.255", true);
    ck_assert_int_eq(inter_plan(&c, "nat", true, &p, err), -1);
    ck_assert_str_eq(err, "network nat: run 7: underlay address 198.18.7.255: last octet must be 1..254");
    c = ctx_for(12345678901LL, "198.18.7.1", true); /* cntb12345678901-br: 18 bytes */
    ck_assert_int_eq(inter_plan(&c, "overlay", false, &p, err), -1);
    ck_assert_str_eq(err, "network overlay: run 12345678901: link name cntb12345678901-br is longer than 15 bytes");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("inter");
    TCase *tc = tcase_create("plan");
    tcase_set_timeout(tc, 5);
    tcase_add_test(tc, test_routed_plan);
    tcase_add_test(tc, test_overlay_plan);
    tcase_add_test(tc, test_subnet_of);
    tcase_add_test(tc, test_refusals);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
