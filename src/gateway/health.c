/* GET /healthz: liveness and readiness in one answer. That the loop thread
 * answers at all shows the process lives; the body says whether the
 * database still answers on the loop's own connection (and is still the
 * file at the configured path) and whether the sender thread is alive.
 * 200 {"status":"ok",...} when both are; 503 {"status":"unavailable",...}
 * with what is wrong otherwise. Also carries the version and the schema. */
#include "gw.h"

int gw_route_healthz(gw_req *r)
{
    cJSON *o = cJSON_CreateObject();
    const char *db = "ok", *sender = "ok";
    int ok = 1;

    if (lk_store_ping(gw_srv->store) != LK_OK) {
        db = lk_store_errmsg(gw_srv->store);
        ok = 0;
    }
    if (!gw_sender_alive(gw_srv->sender)) {
        sender = "the sender thread is not running or stopped turning";
        ok = 0;
    }
    if (!ok)
        gw_log(GW_LOG_WARN, "health check failed", "database=\"%s\" sender=\"%s\"", db, sender);
    if (!o || !cJSON_AddStringToObject(o, "status", ok ? "ok" : "unavailable") ||
        !cJSON_AddStringToObject(o, "database", db) ||
        !cJSON_AddStringToObject(o, "sender", sender) ||
        !cJSON_AddStringToObject(o, "version", lk_version()) ||
        !cJSON_AddStringToObject(o, "git", lk_version_git()) ||
        !cJSON_AddNumberToObject(o, "schema", lk_store_schema_version())) {
        cJSON_Delete(o);
        GW_RESPOND_LIT(r, 500, "{\"error\":\"out of memory\"}");
        return 0;
    }
    gw_respond_json(r, ok ? 200 : 503, o);
    cJSON_Delete(o);
    return 0;
}
