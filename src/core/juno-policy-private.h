/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-policy-private.h: the rule and policy structures, shared by the
 * parser (juno-policy-file.c) and the matcher (juno-policy.c).
 */
#pragma once

#include "juno-policy.h"

G_BEGIN_DECLS

/* Levels: the most specific subject key of a rule */
enum
{
  JUNO_POLICY_LEVEL_ANY = 0,
  JUNO_POLICY_LEVEL_GROUP = 1,
  JUNO_POLICY_LEVEL_UNIT = 2,
  JUNO_POLICY_LEVEL_USER = 3,
};

struct _JunoPolicyRule
{
  char *name;        /* "Allow root" as in the group header */
  char *origin;      /* "file:line" of the header */
  gboolean deny;
  guint level;
  gboolean never;    /* names only users or groups this host lacks */
  GArray *uids;      /* uid_t; NULL matches any */
  GArray *gids;      /* gid_t; NULL matches any */
  GStrv units;       /* globs; NULL matches any */
  guint transports;  /* JunoPolicyTransport bits; 0 matches any */
  GStrv patterns[JUNO_POLICY_N_ACTIONS]; /* globs, may hold %i; NULL: says nothing */
};

struct _JunoPolicy
{
  gint ref_count;
  GPtrArray *rules;  /* JunoPolicyRule, in file order */
  GPtrArray *files;  /* char *, NULL-terminated */
};

void juno_policy_rule_free (JunoPolicyRule *rule);
/* * and ? over bytes, as fnmatch without flags but with no classes */
gboolean juno_policy_glob_match (const char *pattern, const char *text);

G_END_DECLS
