/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-dbus-federation.c: the federation on the D-Bus control plane,
 * without NATS
 *
 * The service on a real dbus-daemon (GTestDBus), read by a plain
 * GDBusConnection. A federation is a GObject with the properties
 * "broker-name", "state" and "brokers": a small one stands in for
 * JunoFederation, so every build checks BrokerName, Federation,
 * FederationBrokers and their PropertiesChanged, and how GetStats takes
 * the broker's extra statistics, hostile ones included.
 */
#include "config.h"

#include <gio/gio.h>

#include "juno-common.h"
#include "juno-dbus-service.h"

#define TIMEOUT_SEC 10

/* A federation as the service sees it */

#define TEST_TYPE_FEDERATION (test_federation_get_type ())
G_DECLARE_FINAL_TYPE (TestFederation, test_federation, TEST, FEDERATION, GObject)

struct _TestFederation
{
  GObject parent_instance;
  char *broker_name;
  char *state;
  GStrv brokers;
};

G_DEFINE_FINAL_TYPE (TestFederation, test_federation, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_BROKER_NAME,
  PROP_STATE,
  PROP_BROKERS,
  N_PROPS
};

static void
test_federation_get_property (GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
  TestFederation *self = TEST_FEDERATION (object);

  switch (id)
    {
    case PROP_BROKER_NAME:
      g_value_set_string (value, self->broker_name);
      break;
    case PROP_STATE:
      g_value_set_string (value, self->state);
      break;
    case PROP_BROKERS:
      g_value_set_boxed (value, self->brokers);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec);
    }
}

static void
test_federation_set_property (GObject *object, guint id, const GValue *value, GParamSpec *pspec)
{
  TestFederation *self = TEST_FEDERATION (object);

  switch (id)
    {
    case PROP_BROKER_NAME:
      g_free (self->broker_name);
      self->broker_name = g_value_dup_string (value);
      break;
    case PROP_STATE:
      g_free (self->state);
      self->state = g_value_dup_string (value);
      break;
    case PROP_BROKERS:
      g_strfreev (self->brokers);
      self->brokers = g_value_dup_boxed (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec);
    }
}

static void
test_federation_finalize (GObject *object)
{
  TestFederation *self = TEST_FEDERATION (object);

  g_free (self->broker_name);
  g_free (self->state);
  g_strfreev (self->brokers);
  G_OBJECT_CLASS (test_federation_parent_class)->finalize (object);
}

static void
test_federation_init (TestFederation *self)
{
}

static void
test_federation_class_init (TestFederationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->get_property = test_federation_get_property;
  object_class->set_property = test_federation_set_property;
  object_class->finalize = test_federation_finalize;
  g_object_class_install_property (object_class, PROP_BROKER_NAME,
                                   g_param_spec_string ("broker-name", NULL, NULL, NULL, flags));
  g_object_class_install_property (object_class, PROP_STATE, g_param_spec_string ("state", NULL, NULL, NULL, flags));
  g_object_class_install_property (object_class, PROP_BROKERS,
                                   g_param_spec_boxed ("brokers", NULL, NULL, G_TYPE_STRV, flags));
}

/* Fixture: a dbus-daemon, the service owning its name, a client */

typedef struct
{
  GTestDBus *bus;
  JunoBroker *broker;
  JunoDBusService *service;
  GDBusConnection *client;
  GPtrArray *changed;     /* a{sv} of each PropertiesChanged of org.juno.Broker1 */
  guint subscription;
  gboolean ready;
  gboolean owned;
} Fixture;

static void
on_ready (JunoDBusService *service, gboolean owned, gpointer data)
{
  Fixture *f = data;

  f->ready = TRUE;
  f->owned = owned;
}

static void
on_properties_changed (GDBusConnection *connection, const char *sender, const char *path, const char *iface,
                       const char *member, GVariant *params, gpointer data)
{
  Fixture *f = data;
  const char *name;
  GVariant *changed;

  g_variant_get (params, "(&s@a{sv}@as)", &name, &changed, NULL);
  if (g_str_equal (name, JUNO_DBUS_NAME))
    g_ptr_array_add (f->changed, changed);
  else
    g_variant_unref (changed);
}

static gboolean
on_timeout (gpointer data)
{
  gboolean *expired = data;

  *expired = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates the main context until *@flag, or fails after TIMEOUT_SEC. */
static void
wait_for (gboolean *flag, const char *what)
{
  gboolean expired = FALSE;
  guint id = g_timeout_add_seconds (TIMEOUT_SEC, on_timeout, &expired);

  while (!*flag && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (id);
  if (!*flag)
    g_error ("timed out waiting for %s", what);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  const char *addresses[] = { "unix:/nonexistent/juno.sock", NULL };
  g_autoptr(GError) error = NULL;

  f->bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (f->bus);
  f->broker = juno_broker_new ();
  f->service = juno_dbus_service_new (f->broker, addresses);
  juno_dbus_service_start (f->service, G_BUS_TYPE_SESSION, g_test_dbus_get_bus_address (f->bus), on_ready, f);
  wait_for (&f->ready, "the service to own its name");
  g_assert_true (f->owned);

  f->client = g_dbus_connection_new_for_address_sync (g_test_dbus_get_bus_address (f->bus),
                                                      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                        G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                      NULL, NULL, &error);
  g_assert_no_error (error);
  f->changed = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  f->subscription = g_dbus_connection_signal_subscribe (f->client, JUNO_DBUS_NAME, "org.freedesktop.DBus.Properties",
                                                        "PropertiesChanged", JUNO_DBUS_PATH, NULL,
                                                        G_DBUS_SIGNAL_FLAGS_NONE, on_properties_changed, f, NULL);
  /* the AddMatch is in force once a later call is answered */
  g_variant_unref (g_dbus_connection_call_sync (f->client, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                "org.freedesktop.DBus", "GetId", NULL, NULL,
                                                G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error));
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_dbus_connection_signal_unsubscribe (f->client, f->subscription);
  g_dbus_connection_close_sync (f->client, NULL, NULL);
  g_clear_object (&f->client);
  if (f->service != NULL)
    juno_dbus_service_stop (f->service);
  g_clear_object (&f->service);
  g_clear_object (&f->broker);
  g_ptr_array_unref (f->changed);
  g_test_dbus_down (f->bus);
  g_clear_object (&f->bus);
}

typedef struct
{
  GVariant *reply;
  GError *error;
  gboolean done;
} Call;

static void
on_call_done (GObject *source, GAsyncResult *result, gpointer data)
{
  Call *call = data;

  call->reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &call->error);
  call->done = TRUE;
}

/* A call to the service, which answers from this thread's main context:
 * made asynchronously, the context iterated until the reply. */
static GVariant *
call_service (Fixture *f, const char *iface, const char *method, GVariant *params, const GVariantType *type)
{
  Call call = { NULL, NULL, FALSE };

  g_dbus_connection_call (f->client, JUNO_DBUS_NAME, JUNO_DBUS_PATH, iface, method, params, type,
                          G_DBUS_CALL_FLAGS_NONE, TIMEOUT_SEC * 1000, NULL, on_call_done, &call);
  wait_for (&call.done, method);
  g_assert_no_error (call.error);
  return call.reply;
}

static GVariant *
get_property (Fixture *f, const char *name)
{
  g_autoptr(GVariant) reply = call_service (f, "org.freedesktop.DBus.Properties", "Get",
                                            g_variant_new ("(ss)", JUNO_DBUS_NAME, name), G_VARIANT_TYPE ("(v)"));
  GVariant *value;

  g_variant_get (reply, "(v)", &value);
  return value;
}

static void
assert_string_property (Fixture *f, const char *name, const char *expected)
{
  g_autoptr(GVariant) value = get_property (f, name);

  g_assert_cmpstr (g_variant_get_type_string (value), ==, "s");
  g_assert_cmpstr (g_variant_get_string (value, NULL), ==, expected);
}

static void
assert_brokers_property (Fixture *f, const char *expected)
{
  g_autoptr(GVariant) value = get_property (f, "FederationBrokers");
  g_autofree const char **names = NULL;
  g_autofree char *joined = NULL;

  g_assert_cmpstr (g_variant_get_type_string (value), ==, "as");
  names = g_variant_get_strv (value, NULL);
  joined = g_strjoinv (",", (char **) names);
  g_assert_cmpstr (joined, ==, expected);
}

/* TRUE once a PropertiesChanged carried @name with the string @value. */
static gboolean
changed_to (Fixture *f, const char *name, const char *value)
{
  for (guint i = 0; i < f->changed->len; i++)
    {
      g_autoptr(GVariant) v = g_variant_lookup_value (g_ptr_array_index (f->changed, i), name, NULL);

      if (v == NULL)
        continue;
      if (g_variant_is_of_type (v, G_VARIANT_TYPE_STRING) && g_str_equal (g_variant_get_string (v, NULL), value))
        return TRUE;
      if (g_variant_is_of_type (v, G_VARIANT_TYPE_STRING_ARRAY))
        {
          g_autofree const char **names = g_variant_get_strv (v, NULL);
          g_autofree char *joined = g_strjoinv (",", (char **) names);

          if (g_str_equal (joined, value))
            return TRUE;
        }
    }
  return FALSE;
}

typedef struct
{
  Fixture *f;
  const char *name;
  const char *value;
  gboolean seen;
} Awaited;

static gboolean
check_awaited (gpointer data)
{
  Awaited *a = data;

  a->seen = changed_to (a->f, a->name, a->value);
  return a->seen ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

static void
wait_changed (Fixture *f, const char *name, const char *value)
{
  Awaited a = { f, name, value, FALSE };
  g_autofree char *what = g_strdup_printf ("PropertiesChanged with %s = %s", name, value);

  /* removes itself once seen; wait_for fails the test otherwise */
  g_timeout_add (10, check_awaited, &a);
  wait_for (&a.seen, what);
}

static void
test_no_federation (Fixture *f, gconstpointer data)
{
  assert_string_property (f, "BrokerName", "");
  assert_string_property (f, "Federation", "off");
  assert_brokers_property (f, "");
}

static void
test_federation_followed (Fixture *f, gconstpointer data)
{
  const char *none[] = { NULL };
  const char *two[] = { "b2", "b3", NULL };
  g_autoptr(TestFederation) federation = g_object_new (TEST_TYPE_FEDERATION, "broker-name", "b1", "state",
                                                       "connecting", "brokers", none, NULL);

  juno_dbus_service_set_federation (f->service, G_OBJECT (federation));
  wait_changed (f, "Federation", "connecting");
  assert_string_property (f, "BrokerName", "b1");
  assert_string_property (f, "Federation", "connecting");
  assert_brokers_property (f, "");

  g_object_set (federation, "state", "connected", NULL);
  wait_changed (f, "Federation", "connected");
  g_object_set (federation, "brokers", two, NULL);
  wait_changed (f, "FederationBrokers", "b2,b3");
  assert_brokers_property (f, "b2,b3");
  g_object_set (federation, "state", "reconnecting", NULL);
  wait_changed (f, "Federation", "reconnecting");
  assert_string_property (f, "Federation", "reconnecting");

  /* forgotten: back to the values of a broker without one, and no longer followed */
  juno_dbus_service_set_federation (f->service, NULL);
  wait_changed (f, "Federation", "off");
  assert_string_property (f, "BrokerName", "");
  assert_brokers_property (f, "");
  g_object_set (federation, "state", "closed", NULL);
  assert_string_property (f, "Federation", "off");
}

/* The service outlives neither its federation's signals nor its reference. */
static void
test_federation_outlived (Fixture *f, gconstpointer data)
{
  TestFederation *federation = g_object_new (TEST_TYPE_FEDERATION, "broker-name", "b1", "state", "connected", NULL);
  GObject *alive;
  GWeakRef ref;

  g_weak_ref_init (&ref, federation);
  juno_dbus_service_set_federation (f->service, G_OBJECT (federation));
  g_object_unref (federation);
  assert_string_property (f, "Federation", "connected");
  /* the service's reference keeps it, and its changes are still followed */
  alive = g_weak_ref_get (&ref);
  g_assert_nonnull (alive);
  g_object_set (alive, "state", "closed", NULL);
  g_object_unref (alive);
  assert_string_property (f, "Federation", "closed");
  juno_dbus_service_stop (f->service);
  g_clear_object (&f->service);
  g_assert_null (g_weak_ref_get (&ref));
  g_weak_ref_clear (&ref);
}

static GVariant *
extra_stats (gpointer data)
{
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

  g_variant_builder_add (&b, "{sv}", "federation", g_variant_new_string ("connected"));
  g_variant_builder_add (&b, "{sv}", "natsReconnects", g_variant_new_uint64 (7));
  /* none of these may reach GetStats */
  g_variant_builder_add (&b, "{sv}", "version", g_variant_new_string ("forged"));
  g_variant_builder_add (&b, "{sv}", "messagesIn", g_variant_new_uint64 (G_MAXUINT64));
  g_variant_builder_add (&b, "{sv}", "", g_variant_new_uint64 (1));
  g_variant_builder_add (&b, "{sv}", "Upper", g_variant_new_uint64 (1));
  g_variant_builder_add (&b, "{sv}", "ratio", g_variant_new_double (0.5));
  g_variant_builder_add (&b, "{sv}", "natsReconnects", g_variant_new_uint64 (8));
  return g_variant_builder_end (&b);
}

static void
test_extra_stats (Fixture *f, gconstpointer data)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) stats = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  GVariantIter iter;
  const char *key;

  juno_broker_set_extra_stats_func (f->broker, extra_stats, NULL);
  reply = call_service (f, JUNO_DBUS_NAME, "GetStats", NULL, G_VARIANT_TYPE ("(a{sv})"));
  stats = g_variant_get_child_value (reply, 0);

  /* every key once */
  g_variant_iter_init (&iter, stats);
  while (g_variant_iter_next (&iter, "{&sv}", &key, NULL))
    {
      g_assert_false (g_hash_table_contains (seen, key));
      g_hash_table_add (seen, (gpointer) key);
    }
  value = g_variant_lookup_value (stats, "Federation", G_VARIANT_TYPE_STRING);
  g_assert_nonnull (value);
  g_assert_cmpstr (g_variant_get_string (value, NULL), ==, "connected");
  g_clear_pointer (&value, g_variant_unref);
  value = g_variant_lookup_value (stats, "NatsReconnects", G_VARIANT_TYPE_UINT64);
  g_assert_nonnull (value);
  g_assert_cmpuint (g_variant_get_uint64 (value), ==, 7);
  g_clear_pointer (&value, g_variant_unref);
  value = g_variant_lookup_value (stats, "Version", G_VARIANT_TYPE_STRING);
  g_assert_cmpstr (g_variant_get_string (value, NULL), ==, juno_broker_get_version (f->broker));
  g_clear_pointer (&value, g_variant_unref);
  value = g_variant_lookup_value (stats, "MessagesIn", G_VARIANT_TYPE_UINT64);
  g_assert_cmpuint (g_variant_get_uint64 (value), ==, juno_broker_get_stats (f->broker)->messages_in);
  g_assert_false (g_hash_table_contains (seen, ""));
  g_assert_false (g_hash_table_contains (seen, "Upper"));
  g_assert_false (g_hash_table_contains (seen, "Ratio"));
  g_assert_false (g_hash_table_contains (seen, "ratio"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/dbus/federation/none", Fixture, NULL, fixture_setup, test_no_federation, fixture_teardown);
  g_test_add ("/dbus/federation/followed", Fixture, NULL, fixture_setup, test_federation_followed, fixture_teardown);
  g_test_add ("/dbus/federation/outlived", Fixture, NULL, fixture_setup, test_federation_outlived, fixture_teardown);
  g_test_add ("/dbus/federation/extra-stats", Fixture, NULL, fixture_setup, test_extra_stats, fixture_teardown);
  return g_test_run ();
}
