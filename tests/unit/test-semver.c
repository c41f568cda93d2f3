/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-semver.c: table-driven tests for juno-semver
 *
 * Match cases come from Cargo's documentation and the semver crate's tests,
 * and from node-semver's README and range-include/range-exclude fixtures.
 * npm cases that use a bare version as an exact match ("1.0.0", "2.3") are
 * written with "=" or an x-range here, because a bare version is a caret
 * requirement in juno (Cargo's rule).
 */
#include <glib.h>
#include <string.h>

#include "juno-semver.h"

/* ------------------------------------------------------------------ */
/* Tables                                                              */
/* ------------------------------------------------------------------ */

static const struct ValidVersion
{
  const char *text;
  guint64 major;
  guint64 minor;
  guint64 patch;
  const char *pre;
  const char *build;
} valid_versions[] = {
  { "0.0.0", 0, 0, 0, NULL, NULL },
  { "1.2.3", 1, 2, 3, NULL, NULL },
  { "10.20.30", 10, 20, 30, NULL, NULL },
  { "1.0.0-alpha", 1, 0, 0, "alpha", NULL },
  { "1.0.0-alpha.1", 1, 0, 0, "alpha.1", NULL },
  { "1.0.0-0.3.7", 1, 0, 0, "0.3.7", NULL },
  { "1.0.0-x.7.z.92", 1, 0, 0, "x.7.z.92", NULL },
  { "1.0.0-x-y-z.--", 1, 0, 0, "x-y-z.--", NULL },
  { "1.0.0-alpha+001", 1, 0, 0, "alpha", "001" },
  { "1.0.0+20130313144700", 1, 0, 0, NULL, "20130313144700" },
  { "1.0.0-beta+exp.sha.5114f85", 1, 0, 0, "beta", "exp.sha.5114f85" },
  { "1.0.0+21AF26D3----117B344092BD", 1, 0, 0, NULL, "21AF26D3----117B344092BD" },
  { "1.2.3-0", 1, 2, 3, "0", NULL },
  { "1.2.3-0a", 1, 2, 3, "0a", NULL },
  { "1.2.3--", 1, 2, 3, "-", NULL },
  { "1.2.3+01.002", 1, 2, 3, NULL, "01.002" },
  { "1.2.3----RC-SNAPSHOT.12.9.1--.12+788", 1, 2, 3, "---RC-SNAPSHOT.12.9.1--.12", "788" },
  { "2.0.0-rc.1+build.123", 2, 0, 0, "rc.1", "build.123" },
  { "1.0.0-99999999999999999999999", 1, 0, 0, "99999999999999999999999", NULL },
  { "18446744073709551615.18446744073709551615.18446744073709551615",
    G_MAXUINT64, G_MAXUINT64, G_MAXUINT64, NULL, NULL },
};

static const char *const invalid_versions[] = {
  "",
  "1",
  "1.2",
  "1.2.3.4",
  "1.2.3.",
  ".1.2.3",
  "1..3",
  "v1.2.3",
  "V1.2.3",
  "=1.2.3",
  " 1.2.3",
  "1.2.3 ",
  "1 .2.3",
  "1.2.3\n",
  "\t1.2.3",
  "01.2.3",
  "1.02.3",
  "1.2.03",
  "00.0.0",
  "-1.2.3",
  "1.-2.3",
  "+1.2.3",
  "1.2.3-",
  "1.2.3+",
  "1.2.3-+",
  "1.2.3-+build",
  "1.2.3++",
  "1.2.3+build+more",
  "1.2.3-01",
  "1.2.3-alpha.01",
  "1.2.3-alpha..1",
  "1.2.3-alpha.",
  "1.2.3-.alpha",
  "1.2.3+build.",
  "1.2.3+.build",
  "1.2.3+a..b",
  "1.2.3-alpha_beta",
  "1.2.3-alpha beta",
  "1.2.3-\xc3\xa9",
  "1.2.3+\xc3\xa9",
  "1.2.x",
  "1.*.3",
  "*",
  "a.b.c",
  "1.2.3a",
  "1.2.3beta",
  "1,2,3",
  "18446744073709551616.0.0",
  "0.18446744073709551616.0",
  "0.0.18446744073709551616",
  "99999999999999999999999999999.0.0",
  "1.2.3 - 1.2.4",
  "^1.2.3",
};

/* Each entry must sort strictly before the next (semver.org §11). */
static const char *const ordered_versions[] = {
  "0.0.0",
  "0.0.1",
  "0.1.0",
  "0.10.0",
  "1.0.0-0",
  "1.0.0-1",
  "1.0.0-2",
  "1.0.0-10",
  "1.0.0-99999999999999999999",
  "1.0.0-100000000000000000000",
  "1.0.0-A",
  "1.0.0-Z",
  "1.0.0-a",
  "1.0.0-alpha",
  "1.0.0-alpha.1",
  "1.0.0-alpha.beta",
  "1.0.0-beta",
  "1.0.0-beta.2",
  "1.0.0-beta.11",
  "1.0.0-rc.1",
  "1.0.0",
  "1.0.1",
  "1.1.0",
  "2.0.0",
  "2.1.0",
  "2.1.1",
  "18446744073709551615.0.0",
};

static const struct VersionComparison
{
  const char *a;
  const char *b;
  int expected;
} version_comparisons[] = {
  { "1.0.0+a", "1.0.0+b", 0 },
  { "1.0.0", "1.0.0+build.1", 0 },
  { "1.0.0-rc.1+x", "1.0.0-rc.1+y", 0 },
  { "1.0.0-alpha", "1.0.0-alpha.0", -1 },
  { "1.0.0-alpha.9", "1.0.0-alpha.10", -1 },
  { "1.0.0-alpha.a", "1.0.0-alpha.9", 1 },
  { "1.0.0-1a", "1.0.0-2", 1 },
  { "1.0.0-a-b", "1.0.0-a", 1 },
  { "1.0.0-rc.1", "0.9.9", 1 },
  { "2.0.0-0", "1.99.99", 1 },
};

static const struct MatchCase
{
  const char *req;
  const char *version;
  gboolean matches;
} match_cases[] = {
  /* Cargo reference: caret (bare) requirements */
  { "1.2.3", "1.2.3", TRUE },
  { "1.2.3", "1.9.0", TRUE },
  { "1.2.3", "1.2.2", FALSE },
  { "1.2.3", "2.0.0", FALSE },
  { "1.2", "1.2.0", TRUE },
  { "1.2", "1.99.1", TRUE },
  { "1.2", "1.1.9", FALSE },
  { "1", "1.0.0", TRUE },
  { "1", "1.99.99", TRUE },
  { "1", "2.0.0", FALSE },
  { "0.2.3", "0.2.3", TRUE },
  { "0.2.3", "0.2.9", TRUE },
  { "0.2.3", "0.3.0", FALSE },
  { "0.2", "0.2.0", TRUE },
  { "0.2", "0.3.0", FALSE },
  { "0.0.3", "0.0.3", TRUE },
  { "0.0.3", "0.0.4", FALSE },
  { "0.0", "0.0.7", TRUE },
  { "0.0", "0.1.0", FALSE },
  { "0", "0.9.9", TRUE },
  { "0", "1.0.0", FALSE },
  /* Cargo reference: tilde */
  { "~1.2.3", "1.2.3", TRUE },
  { "~1.2.3", "1.2.9", TRUE },
  { "~1.2.3", "1.3.0", FALSE },
  { "~1.2", "1.2.0", TRUE },
  { "~1.2", "1.3.0", FALSE },
  { "~1", "1.9.0", TRUE },
  { "~1", "2.0.0", FALSE },
  /* Cargo reference: wildcards */
  { "*", "0.0.0", TRUE },
  { "*", "99.0.0", TRUE },
  { "1.*", "1.0.0", TRUE },
  { "1.*", "1.9.9", TRUE },
  { "1.*", "2.0.0", FALSE },
  { "1.2.*", "1.2.7", TRUE },
  { "1.2.*", "1.3.0", FALSE },
  /* Cargo reference: comparison requirements */
  { ">= 1.2.0", "1.2.0", TRUE },
  { ">= 1.2.0", "1.1.9", FALSE },
  { "> 1", "2.0.0", TRUE },
  { "> 1", "1.9.9", FALSE },
  { "< 2", "1.9.9", TRUE },
  { "< 2", "2.0.0", FALSE },
  { "= 1.2.3", "1.2.3", TRUE },
  { "= 1.2.3", "1.2.4", FALSE },
  { ">= 1.2, < 1.5", "1.4.9", TRUE },
  { ">= 1.2, < 1.5", "1.5.0", FALSE },
  { ">= 1.2, < 1.5", "1.1.0", FALSE },
  /* semver crate: test_basic */
  { "1.0.0", "1.0.1", TRUE },
  { "1.0.0", "0.9.9", FALSE },
  { "1.0.0", "0.10.0", FALSE },
  { "1.0.0", "1.0.0-pre", FALSE },
  /* semver crate: test_exact */
  { "=1.0.0", "1.0.0", TRUE },
  { "=1.0.0", "1.0.1", FALSE },
  { "=1.0.0", "1.0.0-pre", FALSE },
  { "=0.9.0", "0.9.1", FALSE },
  { "=0.9.0", "0.9.0-pre", FALSE },
  { "=0.1.0-beta2.a", "0.1.0-beta2.a", TRUE },
  { "=0.1.0-beta2.a", "0.1.0", FALSE },
  { "=0.1.0-beta2.a", "0.1.1-beta2.a", FALSE },
  { "=0.1.0-beta2.a", "0.1.0-beta2", FALSE },
  { "=0.1.0+meta", "0.1.0", TRUE },
  { "=0.1.0+meta", "0.1.0+meta", TRUE },
  { "=0.1.0+meta", "0.1.0+any", TRUE },
  /* semver crate: test_greater_than */
  { ">= 1.0.0", "2.0.0", TRUE },
  { ">= 1.0.0", "0.1.0", FALSE },
  { ">= 1.0.0", "1.0.0-pre", FALSE },
  { ">= 1.0.0", "2.0.0-pre", FALSE },
  { ">= 2.1.0-alpha2", "2.1.0-alpha2", TRUE },
  { ">= 2.1.0-alpha2", "2.1.0-alpha3", TRUE },
  { ">= 2.1.0-alpha2", "2.1.0", TRUE },
  { ">= 2.1.0-alpha2", "3.0.0", TRUE },
  { ">= 2.1.0-alpha2", "2.0.0", FALSE },
  { ">= 2.1.0-alpha2", "2.1.0-alpha1", FALSE },
  { ">= 2.1.0-alpha2", "2.0.0-alpha2", FALSE },
  { ">= 2.1.0-alpha2", "3.0.0-alpha2", FALSE },
  /* semver crate: test_less_than */
  { "< 1.0.0", "0.1.0", TRUE },
  { "< 1.0.0", "1.0.0", FALSE },
  { "< 1.0.0", "1.0.0-beta", FALSE },
  { "< 1.0.0", "0.9.9-alpha", FALSE },
  { "<= 2.1.0-alpha2", "2.1.0-alpha2", TRUE },
  { "<= 2.1.0-alpha2", "2.1.0-alpha1", TRUE },
  { "<= 2.1.0-alpha2", "2.0.0", TRUE },
  { "<= 2.1.0-alpha2", "2.1.0", FALSE },
  { "<= 2.1.0-alpha2", "2.2.0-alpha1", FALSE },
  { "<= 2.1.0-alpha2", "1.0.0-alpha2", FALSE },
  { ">1.0.0-alpha, <1.0.0", "1.0.0-beta", TRUE },
  { ">1.0.0-alpha, <1.0", "1.0.0-beta", FALSE },
  { ">1.0.0-alpha, <1", "1.0.0-beta", FALSE },
  /* semver crate: test_multiple */
  { "> 0.0.9, <= 2.5.3", "0.0.10", TRUE },
  { "> 0.0.9, <= 2.5.3", "2.5.3", TRUE },
  { "> 0.0.9, <= 2.5.3", "0.0.8", FALSE },
  { "> 0.0.9, <= 2.5.3", "2.5.4", FALSE },
  { "0.3.0, 0.4.0", "0.3.0", FALSE },
  { "0.3.0, 0.4.0", "0.4.0", FALSE },
  { "<= 0.2.0, >= 0.5.0", "0.3.0", FALSE },
  { "0.1.0, 0.1.4, 0.1.6", "0.1.6", TRUE },
  { "0.1.0, 0.1.4, 0.1.6", "0.1.9", TRUE },
  { "0.1.0, 0.1.4, 0.1.6", "0.1.4", FALSE },
  { "0.1.0, 0.1.4, 0.1.6", "0.2.0", FALSE },
  { ">=0.5.1-alpha3, <0.6", "0.5.1-alpha3", TRUE },
  { ">=0.5.1-alpha3, <0.6", "0.5.1-beta", TRUE },
  { ">=0.5.1-alpha3, <0.6", "0.5.5", TRUE },
  { ">=0.5.1-alpha3, <0.6", "0.5.1-alpha1", FALSE },
  { ">=0.5.1-alpha3, <0.6", "0.5.2-alpha3", FALSE },
  { ">=0.5.1-alpha3, <0.6", "0.5.5-pre", FALSE },
  { ">=0.5.1-alpha3, <0.6", "0.6.0", FALSE },
  { ">=0.5.1-alpha3, <0.6", "0.6.0-pre", FALSE },
  /* semver crate: test_tilde */
  { "~1.2.2", "1.2.4", TRUE },
  { "~1.2.2", "1.2.1", FALSE },
  { "~1.2.2", "1.9.0", FALSE },
  { "~1.2.3-beta.2", "1.2.3", TRUE },
  { "~1.2.3-beta.2", "1.2.4", TRUE },
  { "~1.2.3-beta.2", "1.2.3-beta.2", TRUE },
  { "~1.2.3-beta.2", "1.2.3-beta.4", TRUE },
  { "~1.2.3-beta.2", "1.3.3", FALSE },
  { "~1.2.3-beta.2", "1.2.3-beta.1", FALSE },
  { "~1.2.3-beta.2", "1.2.4-beta.2", FALSE },
  /* semver crate: test_caret */
  { "^1", "1.0.1", TRUE },
  { "^1", "0.9.1", FALSE },
  { "^1", "1.0.0-beta1", FALSE },
  { "^1", "1.0.1-pre", FALSE },
  { "^1.1", "1.1.0", TRUE },
  { "^1.1", "1.0.1", FALSE },
  { "^1.1.2", "1.1.4", TRUE },
  { "^1.1.2", "1.1.1", FALSE },
  { "^1.1.2", "1.1.2-alpha1", FALSE },
  { "^1.1.2", "1.1.3-alpha1", FALSE },
  { "^1.1.2", "2.9.0-alpha1", FALSE },
  { "^0.1.2", "0.1.4", TRUE },
  { "^0.1.2", "0.2.0", FALSE },
  { "^0.1.2", "0.1.3-alpha", FALSE },
  { "^0.5.1-alpha3", "0.5.1-alpha4", TRUE },
  { "^0.5.1-alpha3", "0.5.1", TRUE },
  { "^0.5.1-alpha3", "0.5.5", TRUE },
  { "^0.5.1-alpha3", "0.5.1-alpha1", FALSE },
  { "^0.5.1-alpha3", "0.5.2-alpha3", FALSE },
  { "^0.5.1-alpha3", "0.6.0", FALSE },
  { "^0.0.2", "0.0.2", TRUE },
  { "^0.0.2", "0.0.1", FALSE },
  { "^0.0.2", "0.0.3", FALSE },
  { "^0.0.2", "0.1.4", FALSE },
  { "^0.0", "0.0.0", TRUE },
  { "^0.0", "0.0.2", TRUE },
  { "^0.0", "0.1.4", FALSE },
  { "^0", "0.0.0", TRUE },
  { "^0", "0.9.1", TRUE },
  { "^0", "1.1.1", FALSE },
  { "^1.4.2-beta.5", "1.4.2", TRUE },
  { "^1.4.2-beta.5", "1.4.2-beta.6", TRUE },
  { "^1.4.2-beta.5", "1.4.2-c", TRUE },
  { "^1.4.2-beta.5", "2.0.0", FALSE },
  { "^1.4.2-beta.5", "1.4.2-alpha", FALSE },
  { "^1.4.2-beta.5", "1.4.2-beta.4", FALSE },
  { "^1.4.2-beta.5", "1.4.3-beta.5", FALSE },
  /* semver crate: wildcards and pre-releases */
  { "*", "1.0.0-pre", FALSE },
  { "1.*", "1.2.0-pre", FALSE },
  { "1.2.*", "1.0.9", FALSE },
  { "=2.1.1-really.0", "2.1.1-really.0", TRUE },
  { "1.2.x", "1.2.9", TRUE },
  { "1.x", "1.7.0", TRUE },
  { "X", "5.0.0", TRUE },
  /* node-semver README: hyphen ranges */
  { "1.2.3 - 2.3.4", "1.2.3", TRUE },
  { "1.2.3 - 2.3.4", "2.3.4", TRUE },
  { "1.2.3 - 2.3.4", "2.3.5", FALSE },
  { "1.2 - 2.3.4", "1.2.0", TRUE },
  { "1.2 - 2.3.4", "1.1.9", FALSE },
  { "1.2.3 - 2.3", "2.3.99", TRUE },
  { "1.2.3 - 2.3", "2.4.0", FALSE },
  { "1.2.3 - 2", "2.99.0", TRUE },
  { "1.2.3 - 2", "3.0.0", FALSE },
  { "1.2.3 - 2", "3.0.0-alpha", FALSE },
  { "1.2.3 - 1.4", "1.4.9", TRUE },
  { "1.2.3 - 1.4", "1.5.0", FALSE },
  /* node-semver README: x-ranges and tilde/caret */
  { "", "1.2.3", TRUE },
  { "", "0.0.0", TRUE },
  { "", "1.2.3-alpha", FALSE },
  { "~0.2.3", "0.2.9", TRUE },
  { "~0.2.3", "0.3.0", FALSE },
  { "~0.2", "0.2.0", TRUE },
  { "~0", "0.9.9", TRUE },
  { "~0", "1.0.0", FALSE },
  { "^1.2.3-beta.2", "1.2.3-beta.4", TRUE },
  { "^1.2.3-beta.2", "1.2.4-beta.2", FALSE },
  { "^1.2.3-beta.2", "1.9.9", TRUE },
  { "^0.0.3-beta", "0.0.3-pr.2", TRUE },
  { "^0.0.3-beta", "0.0.3", TRUE },
  { "^0.0.3-beta", "0.0.4", FALSE },
  { "^1.2.x", "1.9.0", TRUE },
  { "^1.2.x", "1.1.0", FALSE },
  { "^0.0.x", "0.0.9", TRUE },
  { "^0.0.x", "0.1.0", FALSE },
  { "^1.x", "1.0.0", TRUE },
  { "^0.x", "0.99.0", TRUE },
  { "^0.x", "1.0.0", FALSE },
  /* node-semver README: the pre-release rule */
  { ">1.2.3-alpha.3", "1.2.3-alpha.7", TRUE },
  { ">1.2.3-alpha.3", "3.4.5-alpha.9", FALSE },
  { ">1.2.3-alpha.3", "3.4.5", TRUE },
  { ">=1.2.3-alpha.1", "1.2.3-alpha.7", TRUE },
  { ">=1.2.3-alpha.1", "3.4.5-alpha.9", FALSE },
  { ">=1.2.3-alpha.1 <1.3.0", "1.2.3-beta", TRUE },
  /* node-semver range-include fixtures */
  { "1.0.0 - 2.0.0", "1.2.3", TRUE },
  { "^1.2.3+build", "1.2.3", TRUE },
  { "^1.2.3+build", "1.3.0", TRUE },
  { "1.2.3-pre+asdf - 2.4.3-pre+asdf", "1.2.3", TRUE },
  { "1.2.3-pre+asdf - 2.4.3-pre+asdf", "1.2.3-pre.2", TRUE },
  { "1.2.3-pre+asdf - 2.4.3-pre+asdf", "2.4.3-alpha", TRUE },
  { "1.2.3+asdf - 2.4.3+asdf", "1.2.3", TRUE },
  { ">=*", "0.2.4", TRUE },
  { "*", "1.2.3", TRUE },
  { ">=1.0.0", "1.0.1", TRUE },
  { ">1.0.0", "1.1.0", TRUE },
  { "<=2.0.0", "2.0.0", TRUE },
  { "<=2.0.0", "1.9999.9999", TRUE },
  { "<2.0.0", "0.2.9", TRUE },
  { ">=  1.0.0", "1.0.1", TRUE },
  { ">  1.0.0", "1.1.0", TRUE },
  { "<    2.0.0", "1.9999.9999", TRUE },
  { "<\t2.0.0", "0.2.9", TRUE },
  { ">=0.1.97", "0.1.97", TRUE },
  { "0.1.20 || 1.2.4", "1.2.4", TRUE },
  { ">=0.2.3 || <0.0.1", "0.0.0", TRUE },
  { ">=0.2.3 || <0.0.1", "0.2.3", TRUE },
  { ">=0.2.3 || <0.0.1", "0.2.4", TRUE },
  { "2.x.x", "2.1.3", TRUE },
  { "1.2.x || 2.x", "2.1.3", TRUE },
  { "1.2.x || 2.x", "1.2.3", TRUE },
  { "x", "1.2.3", TRUE },
  { "2.*.*", "2.1.3", TRUE },
  { "1.2.* || 2.*", "2.1.3", TRUE },
  { "2", "2.1.2", TRUE },
  { "2.3.x", "2.3.1", TRUE },
  { "~0.0.1", "0.0.1", TRUE },
  { "~0.0.1", "0.0.2", TRUE },
  { "~x", "0.0.9", TRUE },
  { "~2", "2.0.9", TRUE },
  { "~2.4", "2.4.5", TRUE },
  { "~>3.2.1", "3.2.2", TRUE },
  { "~>1", "1.2.3", TRUE },
  { "~> 1", "1.2.3", TRUE },
  { "~1.0", "1.0.2", TRUE },
  { "~ 1.0", "1.0.2", TRUE },
  { "~ 1.0.3", "1.0.12", TRUE },
  { ">=1", "1.0.0", TRUE },
  { ">= 1", "1.0.0", TRUE },
  { "<1.2", "1.1.1", TRUE },
  { "< 1.2", "1.1.1", TRUE },
  { "~v0.5.4-pre", "0.5.5", TRUE },
  { "~v0.5.4-pre", "0.5.4", TRUE },
  { "=0.7.x", "0.7.2", TRUE },
  { "<=0.7.x", "0.7.2", TRUE },
  { ">=0.7.x", "0.7.2", TRUE },
  { "<=0.7.x", "0.6.2", TRUE },
  { "~1.2.1 >=1.2.3", "1.2.3", TRUE },
  { "~1.2.1 =1.2.3", "1.2.3", TRUE },
  { "~1.2.1 1.2.3", "1.2.3", TRUE },
  { "~1.2.1 >=1.2.3 1.2.3", "1.2.3", TRUE },
  { ">=1.2.1 1.2.3", "1.2.3", TRUE },
  { ">=1.2.3 >=1.2.1", "1.2.3", TRUE },
  { ">=1.2", "1.2.8", TRUE },
  { "^1.2.3", "1.8.1", TRUE },
  { "^0.1", "0.1.2", TRUE },
  { "^1.2 ^1", "1.4.2", TRUE },
  { "^1.2.3-alpha", "1.2.3-pre", TRUE },
  { "^1.2.0-alpha", "1.2.0-pre", TRUE },
  { "^0.0.1-alpha", "0.0.1-beta", TRUE },
  { "^0.0.1-alpha", "0.0.1", TRUE },
  { "^0.1.1-alpha", "0.1.1-beta", TRUE },
  { "^x", "1.2.3", TRUE },
  { "x - 1.0.0", "0.9.7", TRUE },
  { "x - 1.x", "0.9.7", TRUE },
  { "1.0.0 - x", "1.9.7", TRUE },
  { "1.x - x", "1.9.7", TRUE },
  { "<=7.x", "7.9.9", TRUE },
  /* node-semver range-exclude fixtures */
  { "1.0.0 - 2.0.0", "2.2.3", FALSE },
  { "1.2.3+asdf - 2.4.3+asdf", "1.2.3-pre.2", FALSE },
  { "1.2.3+asdf - 2.4.3+asdf", "2.4.3-alpha", FALSE },
  { "^1.2.3+build", "2.0.0", FALSE },
  { "^1.2.3+build", "1.2.0", FALSE },
  { "^1.2.3", "1.2.3-pre", FALSE },
  { "^1.2", "1.2.0-pre", FALSE },
  { ">1.2", "1.3.0-beta", FALSE },
  { "<=1.2.3", "1.2.3-beta", FALSE },
  { "=0.7.x", "0.7.0-asdf", FALSE },
  { ">=0.7.x", "0.7.0-asdf", FALSE },
  { "<=0.7.x", "0.7.0-asdf", FALSE },
  { "=1.0.0", "1.0.1", FALSE },
  { ">=1.0.0", "0.0.0", FALSE },
  { ">1.0.0", "0.0.1", FALSE },
  { "<=2.0.0", "3.0.0", FALSE },
  { "<=2.0.0", "2.9999.9999", FALSE },
  { "<2.0.0", "2.2.9", FALSE },
  { ">=0.1.97", "0.1.93", FALSE },
  { "0.1.20 || 1.2.4", "1.2.3", FALSE },
  { ">=0.2.3 || <0.0.1", "0.0.3", FALSE },
  { ">=0.2.3 || <0.0.1", "0.2.2", FALSE },
  { "2.x.x", "1.1.3", FALSE },
  { "2.x.x", "3.1.3", FALSE },
  { "1.2.x", "1.3.3", FALSE },
  { "1.2.x || 2.x", "3.1.3", FALSE },
  { "1.2.x || 2.x", "1.1.3", FALSE },
  { "2.*.*", "3.1.3", FALSE },
  { "1.2.* || 2.*", "1.1.3", FALSE },
  { "2", "1.1.2", FALSE },
  { "2.3.x", "2.4.1", FALSE },
  { "~0.0.1", "0.1.0-alpha", FALSE },
  { "~0.0.1", "0.1.0", FALSE },
  { "~2.4", "2.5.0", FALSE },
  { "~2.4", "2.3.9", FALSE },
  { "~>3.2.1", "3.3.2", FALSE },
  { "~>3.2.1", "3.2.0", FALSE },
  { "~1", "0.2.3", FALSE },
  { "~>1", "2.2.3", FALSE },
  { "~1.0", "1.1.0", FALSE },
  { "<1", "1.0.0", FALSE },
  { ">=1.2", "1.1.1", FALSE },
  { "~v0.5.4-beta", "0.5.4-alpha", FALSE },
  { "=0.7.x", "0.8.2", FALSE },
  { ">=0.7.x", "0.6.2", FALSE },
  { "<0.7.x", "0.7.2", FALSE },
  { "<1.2.3", "1.2.3-beta", FALSE },
  { "=1.2.3", "1.2.3-beta", FALSE },
  { ">1.2", "1.2.8", FALSE },
  { "^0.0.1", "0.0.2", FALSE },
  { "^1.2.3", "2.0.0-alpha", FALSE },
  { "^1.2.3", "1.2.2", FALSE },
  { "^1.2", "1.1.9", FALSE },
  /* npm forms: leading "v" / "=", mixed separators, alternatives */
  { "v1.2.3", "1.2.3", TRUE },
  { "v1.2.3", "1.5.0", TRUE },
  { "=v1.2.3", "1.2.3", TRUE },
  { "=v1.2.3", "1.2.4", FALSE },
  { ">=v1.2.3", "1.2.4", TRUE },
  { "v1.2.3 - v1.4.0", "1.4.0", TRUE },
  { ">=1.2.0 <2.0.0", "1.9.9", TRUE },
  { ">=1.2.0 <2.0.0", "2.0.0", FALSE },
  { ">=1.2.0,<2.0.0", "1.5.0", TRUE },
  { ">=1.2, <1.5 <1.4", "1.4.1", FALSE },
  { ">=1.2, <1.5 <1.4", "1.3.9", TRUE },
  { " >=1.2 ,<1.5 ", "1.3.9", TRUE },
  { "^1.2.0 || ^2.0.0", "2.5.0", TRUE },
  { "^1.2.0 || ^2.0.0", "3.0.0", FALSE },
  { "^1.2.0||^2.0.0", "1.2.0", TRUE },
  { "<1.0.0 || >=2.0.0 <3.0.0 || =4.1.0", "4.1.0", TRUE },
  { "<1.0.0 || >=2.0.0 <3.0.0 || =4.1.0", "4.1.1", FALSE },
  { "1.0.0-rc.1 || 2.0.0", "1.0.0-rc.2", TRUE },
  { "1.0.0-rc.1 || 2.0.0", "2.0.0-rc.2", FALSE },
  { "* >=1.2.3-alpha", "1.2.3-beta", TRUE },
  { "18446744073709551615.0.0", "18446744073709551615.99.0", TRUE },
  { ">18446744073709551614", "18446744073709551615.0.0", TRUE },
  { "=1.0.0-99999999999999999999", "1.0.0-99999999999999999999", TRUE },
  { ">1.0.0-99999999999999999999", "1.0.0-100000000000000000000", TRUE },
};

static const char *const invalid_requirements[] = {
  "garbage",
  "1.2.3.4",
  ">>1",
  "^",
  "~",
  "=",
  ">=",
  ">= ",
  "^^1",
  "~=1",
  "=>1",
  "=<1",
  "!=1.2.3",
  "1.2.3 -",
  "1.2.3 - ",
  "- 1.2.3",
  "1.2.3 -1.4",
  "1.2.3 - 1.4 - 2",
  ">=1.2 - 2",
  "1.2.3 - >=2",
  "||",
  "1.2.3 ||",
  "|| 1.2.3",
  "1 || || 2",
  "1 | 2",
  "1 ||| 2",
  ",",
  ">=1.2,",
  ",>=1.2",
  ">=1.2,,<2",
  ">=1.2<2",
  "1.2.3 1.2.3.4",
  "01.2.3",
  "1.02",
  "1.2.03",
  "1.2.3-01",
  "1.2.3-",
  "1.2.3+",
  "1.2.3-a..b",
  "1.2.3-alpha!",
  "1.2-alpha",
  "1-alpha",
  "1.2+build",
  "1.*.3",
  "*.1",
  "x.2.3",
  "1.x-alpha",
  "1.2.*-alpha",
  "1.2.3.*",
  "1.2.",
  "1..2",
  ".1",
  "a.b.c",
  "vv1",
  "v",
  "V1.2.3",
  " v ",
  ">*",
  "<*",
  "> x",
  "18446744073709551616",
  "1.18446744073709551616",
  ">=1.0.0, <99999999999999999999999999",
  "1.2.3 foo",
  "1.2.3-\xc3\xa9",
  "\xff\xfe",
  "1.2.3\x01",
  ">=1.2.0, <2.0.0 !=",
};

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static void
parse_version_or_fail (const char *text, JunoVersion *out)
{
  g_autoptr (GError) error = NULL;
  gboolean ok = juno_version_parse (text, out, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
}

static void
add_indexed (const char *prefix, guint i, gconstpointer data,
             GTestDataFunc func)
{
  g_autofree char *path = g_strdup_printf ("%s/%u", prefix, i);

  g_test_add_data_func (path, data, func);
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */
/* ------------------------------------------------------------------ */

static void
test_version_valid (gconstpointer data)
{
  const struct ValidVersion *c = data;
  g_auto (JunoVersion) v = { 0 };

  parse_version_or_fail (c->text, &v);
  g_assert_cmpuint (v.major, ==, c->major);
  g_assert_cmpuint (v.minor, ==, c->minor);
  g_assert_cmpuint (v.patch, ==, c->patch);
  g_assert_cmpstr (v.pre, ==, c->pre);
  g_assert_cmpstr (v.build, ==, c->build);
}

static void
test_version_invalid (gconstpointer data)
{
  const char *text = *(const char *const *) data;
  g_auto (JunoVersion) v = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *escaped = g_strescape (text, NULL);

  g_test_message ("version: \"%s\"", escaped);
  g_assert_false (juno_version_parse (text, &v, &error));
  g_assert_error (error, JUNO_SEMVER_ERROR, JUNO_SEMVER_ERROR_INVALID_VERSION);
  g_assert_null (v.pre);
  g_assert_null (v.build);
}

static void
test_version_order (gconstpointer data)
{
  guint i = GPOINTER_TO_UINT (data);
  g_auto (JunoVersion) a = { 0 };
  g_auto (JunoVersion) b = { 0 };

  parse_version_or_fail (ordered_versions[i], &a);
  parse_version_or_fail (ordered_versions[i + 1], &b);
  g_assert_cmpint (juno_version_compare (&a, &b), <, 0);
  g_assert_cmpint (juno_version_compare (&b, &a), >, 0);
  g_assert_cmpint (juno_version_compare (&a, &a), ==, 0);
}

/* Every pair of the ordered chain, not only neighbours. */
static void
test_version_order_all_pairs (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (ordered_versions); i++)
    for (guint j = 0; j < G_N_ELEMENTS (ordered_versions); j++)
      {
        g_auto (JunoVersion) a = { 0 };
        g_auto (JunoVersion) b = { 0 };
        int r;

        parse_version_or_fail (ordered_versions[i], &a);
        parse_version_or_fail (ordered_versions[j], &b);
        r = juno_version_compare (&a, &b);
        g_assert_cmpint (r, ==, (i > j) - (i < j));
      }
}

static void
test_version_compare (gconstpointer data)
{
  const struct VersionComparison *c = data;
  g_auto (JunoVersion) a = { 0 };
  g_auto (JunoVersion) b = { 0 };

  parse_version_or_fail (c->a, &a);
  parse_version_or_fail (c->b, &b);
  g_assert_cmpint (juno_version_compare (&a, &b), ==, c->expected);
  g_assert_cmpint (juno_version_compare (&b, &a), ==, -c->expected);
}

static void
test_match (gconstpointer data)
{
  const struct MatchCase *c = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JunoVersionReq) req = NULL;
  g_auto (JunoVersion) v = { 0 };
  g_autofree char *escaped = g_strescape (c->req, NULL);

  g_test_message ("\"%s\" against %s, expecting %s", escaped, c->version,
                  c->matches ? "a match" : "no match");
  req = juno_version_req_parse (c->req, &error);
  g_assert_no_error (error);
  g_assert_nonnull (req);
  parse_version_or_fail (c->version, &v);
  g_assert_cmpint (juno_version_req_matches (req, &v), ==, c->matches);
}

static void
test_req_invalid (gconstpointer data)
{
  const char *text = *(const char *const *) data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JunoVersionReq) req = NULL;
  g_autofree char *escaped = g_strescape (text, NULL);

  g_test_message ("requirement: \"%s\"", escaped);
  req = juno_version_req_parse (text, &error);
  g_assert_null (req);
  g_assert_error (error, JUNO_SEMVER_ERROR,
                  JUNO_SEMVER_ERROR_INVALID_REQUIREMENT);
}

static JunoVersionReq *
parse_repeated (const char *item, guint count, const char *tail,
                GError **error)
{
  g_autoptr (GString) text = g_string_new (NULL);

  for (guint i = 0; i < count; i++)
    g_string_append (text, item);
  g_string_append (text, tail);
  return juno_version_req_parse (text->str, error);
}

static void
assert_req_rejected (const char *item, guint count, const char *tail)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JunoVersionReq) req = parse_repeated (item, count, tail, &error);

  g_assert_null (req);
  g_assert_error (error, JUNO_SEMVER_ERROR,
                  JUNO_SEMVER_ERROR_INVALID_REQUIREMENT);
}

static void
assert_req_accepted (const char *item, guint count, const char *tail)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JunoVersionReq) req = parse_repeated (item, count, tail, &error);

  g_assert_no_error (error);
  g_assert_nonnull (req);
}

static void
test_req_limits (void)
{
  /* at most 64 comparators, counted across all alternatives */
  assert_req_accepted (">=0.0.0 ", 64, "");
  assert_req_rejected (">=0.0.0 ", 65, "");
  assert_req_accepted ("1 || ", 63, "1");
  assert_req_rejected ("1 || ", 64, "1");
  assert_req_accepted ("1.0.0 - 2.0.0 || ", 31, "1 - 2");
  assert_req_rejected ("1.0.0 - 2.0.0 || ", 32, "1");
  /* wildcards add no comparator */
  assert_req_accepted ("* ", 200, "");
  /* at most 1024 bytes */
  assert_req_accepted (" ", 1023, "1");
  assert_req_rejected (" ", 1024, "1");
  assert_req_accepted ("* ", 512, "");
  assert_req_rejected ("* ", 512, "*");
  assert_req_rejected ("9", 100000, "");
  assert_req_rejected ("1 ||", 100000, "");
}

static void
test_version_long (void)
{
  g_autoptr (GError) error = NULL;
  g_auto (JunoVersion) v = { 0 };
  g_autoptr (GString) text = g_string_new ("1.2.3-");

  for (guint i = 0; i < 10000; i++)
    g_string_append (text, "a.");
  g_string_append (text, "z+b");
  parse_version_or_fail (text->str, &v);
  g_assert_cmpuint (strlen (v.pre), ==, 20001);
  juno_version_clear (&v);

  g_string_append (text, "..");
  g_assert_false (juno_version_parse (text->str, &v, &error));
  g_assert_error (error, JUNO_SEMVER_ERROR, JUNO_SEMVER_ERROR_INVALID_VERSION);
}

static void
test_version_clear (void)
{
  JunoVersion v = { 0 };

  parse_version_or_fail ("4.5.6-rc.1+b", &v);
  juno_version_clear (&v);
  g_assert_cmpuint (v.major, ==, 0);
  g_assert_null (v.pre);
  g_assert_null (v.build);
  juno_version_clear (&v); /* clearing twice is harmless */
  juno_version_req_free (NULL);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (valid_versions); i++)
    add_indexed ("/core/semver/version/valid", i, &valid_versions[i],
                 test_version_valid);
  for (guint i = 0; i < G_N_ELEMENTS (invalid_versions); i++)
    add_indexed ("/core/semver/version/invalid", i, &invalid_versions[i],
                 test_version_invalid);
  for (guint i = 0; i + 1 < G_N_ELEMENTS (ordered_versions); i++)
    add_indexed ("/core/semver/order/chain", i, GUINT_TO_POINTER (i),
                 test_version_order);
  for (guint i = 0; i < G_N_ELEMENTS (version_comparisons); i++)
    add_indexed ("/core/semver/order/compare", i, &version_comparisons[i],
                 test_version_compare);
  for (guint i = 0; i < G_N_ELEMENTS (match_cases); i++)
    add_indexed ("/core/semver/match", i, &match_cases[i], test_match);
  for (guint i = 0; i < G_N_ELEMENTS (invalid_requirements); i++)
    add_indexed ("/core/semver/req/invalid", i, &invalid_requirements[i],
                 test_req_invalid);

  g_test_add_func ("/core/semver/order/all-pairs", test_version_order_all_pairs);
  g_test_add_func ("/core/semver/version/long", test_version_long);
  g_test_add_func ("/core/semver/version/clear", test_version_clear);
  g_test_add_func ("/core/semver/req/limits", test_req_limits);

  return g_test_run ();
}
