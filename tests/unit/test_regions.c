/* Checks the generated region data (flows/data, from idn-area-data) and what
 * the bundled flow makes of it: 38 provinces, 514 kabupaten/kota (416
 * Kabupaten, 98 Kota), every kabupaten/kota under an existing province, every
 * province with a time zone, and the 25 names that are both a Kota and a
 * Kabupaten in one province. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow_model.h"
#include "loket/flow.h"
#include "test.h"

static cJSON *read_json(const char *path)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long n;
    cJSON *j;

    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        free(buf);
        fclose(fp);
        return NULL;
    }
    buf[n] = '\0';
    fclose(fp);
    j = cJSON_Parse(buf);
    free(buf);
    return j;
}

static const char *bare(const char *name)
{
    static const char *prefixes[] = {"Kota Administrasi ", "Kabupaten Administrasi ", "Kota ",
                                     "Kabupaten "};
    size_t i;
    for (i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (!strncmp(name, prefixes[i], strlen(prefixes[i])))
            return name + strlen(prefixes[i]);
    return name;
}

static void test_data_files(void)
{
    cJSON *prov = read_json("flows/data/provinces.json");
    cJSON *reg = read_json("flows/data/regencies.json");
    cJSON *p, *r, *r2;
    int nkab = 0, nkota = 0, orphans = 0, pairs = 0, wib = 0, wita = 0, wit = 0;

    CHECK(prov && cJSON_IsArray(prov));
    CHECK(reg && cJSON_IsArray(reg));
    if (!prov || !reg)
        goto done;
    CHECK_INT(cJSON_GetArraySize(prov), 38);
    CHECK_INT(cJSON_GetArraySize(reg), 514);
    cJSON_ArrayForEach(p, prov)
    {
        const char *tz = cJSON_GetStringValue(cJSON_GetObjectItem(p, "tz"));
        cJSON *off = cJSON_GetObjectItem(p, "utc_offset");
        int ok = tz && cJSON_IsNumber(off) &&
                 ((!strcmp(tz, "WIB") && off->valueint == 420) ||
                  (!strcmp(tz, "WITA") && off->valueint == 480) ||
                  (!strcmp(tz, "WIT") && off->valueint == 540));
        if (!ok)
            fprintf(stderr, "province %s has no valid time zone\n",
                    cJSON_GetStringValue(cJSON_GetObjectItem(p, "name")));
        CHECK(ok);
        if (tz) {
            wib += !strcmp(tz, "WIB");
            wita += !strcmp(tz, "WITA");
            wit += !strcmp(tz, "WIT");
        }
    }
    CHECK_INT(wib, 18);
    CHECK_INT(wita, 12);
    CHECK_INT(wit, 8);
    cJSON_ArrayForEach(r, reg)
    {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(r, "name"));
        const char *parent = cJSON_GetStringValue(cJSON_GetObjectItem(r, "parent"));
        int found = 0;
        CHECK(name != NULL);
        if (!name)
            continue;
        nkab += !strncmp(name, "Kabupaten ", 10);
        nkota += !strncmp(name, "Kota ", 5);
        cJSON_ArrayForEach(p, prov)
        {
            if (parent && !strcmp(parent, cJSON_GetStringValue(cJSON_GetObjectItem(p, "id"))))
                found = 1;
        }
        orphans += !found;
        /* Count each Kota whose bare name is also a Kabupaten of its province. */
        if (!strncmp(name, "Kota ", 5)) {
            cJSON_ArrayForEach(r2, reg)
            {
                const char *n2 = cJSON_GetStringValue(cJSON_GetObjectItem(r2, "name"));
                const char *p2 = cJSON_GetStringValue(cJSON_GetObjectItem(r2, "parent"));
                if (n2 && p2 && parent && !strcmp(p2, parent) && !strncmp(n2, "Kabupaten ", 10) &&
                    !strcmp(bare(n2), bare(name)))
                    pairs++;
            }
        }
    }
    CHECK_INT(nkab, 416);
    CHECK_INT(nkota, 98);
    CHECK_INT(orphans, 0);
    CHECK_INT(pairs, 25);
done:
    cJSON_Delete(prov);
    cJSON_Delete(reg);
}

static void test_flow_datasets(void)
{
    lk_flow *flow = NULL;
    lk_diag diag = {0};
    const lk_dataset *prov = NULL, *reg = NULL;
    int i, covered = 0;

    CHECK_INT(lk_flow_load("flows/chika.json", &flow, &diag), LK_OK);
    lk_diag_print(&diag, stderr);
    lk_diag_clear(&diag);
    if (!flow)
        return;
    for (i = 0; i < flow->ndatasets; i++) {
        if (!strcmp(flow->datasets[i].name, "provinces"))
            prov = &flow->datasets[i];
        if (!strcmp(flow->datasets[i].name, "regencies"))
            reg = &flow->datasets[i];
    }
    CHECK(prov && reg);
    if (prov && reg) {
        CHECK_INT(prov->nrows, 38);
        CHECK_INT(reg->nrows, 514);
        CHECK_INT(reg->parent, (int)(prov - flow->datasets));
        for (i = 0; i < prov->nrows; i++)
            covered += reg->child_count[i];
        CHECK_INT(covered, 514);
        for (i = 0; i < reg->nrows; i++) {
            CHECK(reg->rows[i].parent >= 0 && reg->rows[i].parent < prov->nrows);
            if (reg->rows[i].klass < 0)
                fprintf(stderr, "no class for %s\n", reg->rows[i].name);
            CHECK(reg->rows[i].klass >= 0); /* every name starts with Kota or Kabupaten */
        }
    }
    lk_flow_free(flow);
}

int main(void)
{
    test_data_files();
    test_flow_datasets();
    return test_done("test_regions");
}
