#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/base/cleanup.h"
#include "specs/json.h"
#include "specs/state.h"

static struct oci_kv annotations[] = {{"org.example.a", "1"}, {"org.example.b", "two \"quoted\""}};

static struct oci_state sample(void)
{
        return (struct oci_state){
                .oci_version = "1.2.0",
                .id = "ctr-1",
                .status = OCI_STATUS_RUNNING,
                .pid = 4242,
                .bundle = "/srv/bundle",
                .annotations = annotations,
                .n_annotations = 2,
                .pid_start_time = 123456789012ULL,
                .created = "2026-01-02T03:04:05.123456789Z",
                .rootfs = "/srv/bundle/rootfs",
                .owner = 1000,
                .cgroup_path = "/sys/fs/cgroup/rc/ctr-1",
                .systemd_cgroup = true,
        };
}

static struct oci_state *round_trip(const struct oci_state *in, unsigned flags, char **ret_json)
{
        _cleanup_free_ char *json = NULL;
        struct oci_state *out = NULL;
        rc_error_t err = NULL;
        size_t len = 0;

        cr_assert_eq(oci_state_to_json(in, flags, &json, &len, &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(strlen(json), len);
        cr_assert_eq(oci_state_parse(json, len, "state.json", &out, &err), 0, "%s", err ? err->msg : "");
        if (ret_json != NULL)
                *ret_json = TAKE_PTR(json);
        return out;
}

Test(state, status_names)
{
        enum oci_status s;

        cr_assert_str_eq(oci_status_name(OCI_STATUS_CREATING), "creating");
        cr_assert_str_eq(oci_status_name(OCI_STATUS_PAUSED), "paused");
        cr_assert_eq(oci_status_from_name("stopped", &s), 0);
        cr_assert_eq(s, OCI_STATUS_STOPPED);
        cr_assert_eq(oci_status_from_name("Running", &s), -1);
        cr_assert_eq(oci_status_from_name("", &s), -1);
}

Test(state, round_trip_extended)
{
        struct oci_state in = sample();
        struct oci_state *out = round_trip(&in, OCI_STATE_EXTENDED | OCI_STATE_PRETTY, NULL);

        cr_assert_str_eq(out->oci_version, "1.2.0");
        cr_assert_str_eq(out->id, "ctr-1");
        cr_assert_eq(out->status, OCI_STATUS_RUNNING);
        cr_assert_eq(out->pid, 4242);
        cr_assert_str_eq(out->bundle, "/srv/bundle");
        cr_assert_eq(out->n_annotations, 2);
        cr_assert_str_eq(out->annotations[1].key, "org.example.b");
        cr_assert_str_eq(out->annotations[1].value, "two \"quoted\"");
        cr_assert_eq(out->pid_start_time, 123456789012ULL);
        cr_assert_str_eq(out->created, "2026-01-02T03:04:05.123456789Z");
        cr_assert_str_eq(out->rootfs, "/srv/bundle/rootfs");
        cr_assert_eq(out->owner, 1000);
        cr_assert_str_eq(out->cgroup_path, "/sys/fs/cgroup/rc/ctr-1");
        cr_assert(out->systemd_cgroup);
        oci_state_free(out);
}

Test(state, plain_omits_extensions)
{
        struct oci_state in = sample();
        _cleanup_free_ char *json = NULL;
        struct oci_state *out = round_trip(&in, 0, &json);

        cr_assert_null(strstr(json, "pidStartTime"));
        cr_assert_null(strstr(json, "rootfs"));
        cr_assert_null(strchr(json, '\n'));
        cr_assert_eq(out->pid_start_time, 0);
        cr_assert_null(out->created);
        cr_assert_not(out->systemd_cgroup);
        cr_assert_eq(out->pid, 4242);
        oci_state_free(out);
}

Test(state, pid_omitted_when_stopped_or_zero)
{
        struct oci_state in = sample();
        _cleanup_free_ char *j1 = NULL, *j2 = NULL;
        struct oci_state *out;

        in.status = OCI_STATUS_STOPPED;
        out = round_trip(&in, 0, &j1);
        cr_assert_null(strstr(j1, "\"pid\""), "%s", j1);
        cr_assert_eq(out->pid, 0);
        oci_state_free(out);

        in.status = OCI_STATUS_CREATING;
        in.pid = 0;
        out = round_trip(&in, 0, &j2);
        cr_assert_null(strstr(j2, "\"pid\""), "%s", j2);
        oci_state_free(out);
}

Test(state, annotations_only_when_present)
{
        struct oci_state in = sample();
        _cleanup_free_ char *json = NULL;
        struct oci_state *out;

        in.annotations = NULL;
        in.n_annotations = 0;
        out = round_trip(&in, OCI_STATE_EXTENDED, &json);
        cr_assert_null(strstr(json, "annotations"));
        cr_assert_eq(out->n_annotations, 0);
        cr_assert_null(out->annotations);
        oci_state_free(out);
}

static void expect_error(const char *json, const char *msg)
{
        struct oci_state *out = (struct oci_state *)0x1;
        rc_error_t err = NULL;

        cr_assert_lt(oci_state_parse(json, strlen(json), "s.json", &out, &err), 0, "accepted %s", json);
        cr_assert_eq(out, (struct oci_state *)0x1, "output touched on failure");
        cr_assert_str_eq(err->msg, msg);
        rc_error_free(&err);
}

Test(state, parse_errors)
{
        expect_error("{\"ociVersion\":\"1.2.0\",\"id\":\"a\",\"status\":\"running\",\"pid\":\"1\","
                     "\"bundle\":\"/b\"}",
                     "s.json: .pid: expected a number");
        expect_error("{\"ociVersion\":\"1.2.0\",\"id\":\"a\",\"status\":\"running\",\"pid\":-1,\"bundle\":"
                     "\"/b\"}",
                     "s.json: .pid: invalid value -1");
        expect_error("{\"ociVersion\":\"1.2.0\",\"id\":\"a\",\"status\":\"sleeping\",\"bundle\":\"/b\"}",
                     "s.json: .status: unknown status \"sleeping\"");
        expect_error("{\"ociVersion\":\"1.2.0\",\"status\":\"running\",\"bundle\":\"/b\"}",
                     "s.json: .id: missing");
        expect_error("{\"ociVersion\":\"1.2.0\",\"id\":\"a\",\"status\":\"running\",\"bundle\":\"/b\","
                     "\"annotations\":{\"k\":1}}",
                     "s.json: .annotations[\"k\"]: expected a string");
        expect_error("{\"ociVersion\":\"1.2.0\",\"id\":\"a\",\"status\":\"running\",\"bundle\":\"/b\","
                     "\"systemdCgroup\":\"yes\"}",
                     "s.json: .systemdCgroup: expected a boolean");
        expect_error("[]", "s.json: expected an object");
        expect_error("{", "s.json: invalid JSON: parse error: premature EOF");
}

Test(state, unknown_fields_ignored)
{
        const char *json = "{\"ociVersion\":\"1.0.2\",\"id\":\"x\",\"status\":\"created\",\"pid\":7,"
                           "\"bundle\":\"/b\",\"future\":{\"a\":[1]}}";
        struct oci_state *out = NULL;
        rc_error_t err = NULL;

        cr_assert_eq(oci_state_parse(json, strlen(json), "s.json", &out, &err), 0);
        cr_assert_eq(out->status, OCI_STATUS_CREATED);
        cr_assert_eq(out->pid, 7);
        oci_state_clear(out);
        cr_assert_null(out->id);
        oci_state_free(out);
        oci_state_free(NULL);
}

Test(state, missing_id_rejected_on_write)
{
        struct oci_state in = sample();
        char *json = NULL;
        rc_error_t err = NULL;

        in.id = NULL;
        cr_assert_lt(oci_state_to_json(&in, 0, &json, NULL, &err), 0);
        cr_assert_null(json);
        rc_error_free(&err);
}
