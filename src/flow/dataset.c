/* Data sets: lists a choice state picks a row from, read from JSON array
 * files next to the flow. Compiled once: names normalised, prefixes
 * ("Kota", "Kabupaten") split off, rows sorted by parent so the children of
 * a parent row are one contiguous range. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"

typedef struct idkey {
    const char *id;
    int row;
} idkey;

static int cmp_idkey(const void *a, const void *b)
{
    const idkey *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : x->row - y->row;
}

/* Row ids of ds, sorted, for lookups by id; NULL on OOM. */
static idkey *id_index(const lk_dataset *ds)
{
    idkey *ix = malloc(((size_t)ds->nrows + 1) * sizeof *ix);
    int r;
    if (!ix)
        return NULL;
    for (r = 0; r < ds->nrows; r++) {
        ix[r].id = ds->rows[r].id ? ds->rows[r].id : "";
        ix[r].row = r;
    }
    qsort(ix, (size_t)ds->nrows, sizeof *ix, cmp_idkey);
    return ix;
}

static int find_id(const idkey *ix, int n, const char *id)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2, c = strcmp(id, ix[mid].id);
        if (c == 0)
            return ix[mid].row;
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return -1;
}

/* A row's id or parent: a string, or an integer written as its digits. */
static const char *id_text(ld *l, const cJSON *v)
{
    char buf[32];
    int64_t i;
    if (cJSON_IsString(v))
        return ld_strdup(l, v->valuestring);
    if (ld_int_of(l, v, &i) != 0)
        return NULL;
    snprintf(buf, sizeof buf, "%lld", (long long)i);
    return ld_strdup(l, buf);
}

static void options(ld *l, lk_dataset *ds, const cJSON *def)
{
    const cJSON *v, *c, *w;
    int k;

    ds->fuzzy = 2;
    ld_int_member(l, def, "fuzzy", "a data set", 0, 5, &ds->fuzzy,
                  "fuzzy is an edit distance between 0 and 5");
    if ((v = ld_member(l, def, "strip", LD_ARR, 0, "a data set"))) {
        size_t mark = ld_push(l, "strip");
        ds->strip = ld_alloc(l, ((size_t)cJSON_GetArraySize(v) + 1) * sizeof *ds->strip);
        for (c = v->child, k = 0; c && ds->strip; c = c->next, k++) {
            size_t m2 = ld_push_i(l, k);
            if (cJSON_IsString(c))
                ds->strip[ds->nstrip++] = ld_norm(l, c->valuestring);
            else
                ld_want(l, c, LD_STR);
            ld_pop(l, m2);
        }
        ld_pop(l, mark);
    }
    if ((v = ld_member(l, def, "replace", LD_OBJ, 0, "a data set"))) {
        size_t mark = ld_push(l, "replace");
        size_t cnt = (size_t)cJSON_GetArraySize(v) + 1;
        ds->replace_from = ld_alloc(l, cnt * sizeof *ds->replace_from);
        ds->replace_to = ld_alloc(l, cnt * sizeof *ds->replace_to);
        for (c = v->child; c && ds->replace_to && ds->replace_from; c = c->next) {
            size_t m2 = ld_push(l, c->string);
            if (cJSON_IsString(c)) {
                ds->replace_from[ds->nreplace] = ld_norm(l, c->string);
                ds->replace_to[ds->nreplace++] = ld_norm(l, c->valuestring);
            } else {
                ld_want(l, c, LD_STR);
            }
            ld_pop(l, m2);
        }
        ld_pop(l, mark);
    }
    if ((v = ld_member(l, def, "prefixes", LD_OBJ, 0, "a data set"))) {
        size_t mark = ld_push(l, "prefixes"), total = 0;
        int i, j;
        for (c = v->child; c; c = c->next)
            total += (size_t)cJSON_GetArraySize(c);
        ds->classes = ld_alloc(l, ((size_t)cJSON_GetArraySize(v) + 1) * sizeof *ds->classes);
        ds->prefixes = ld_alloc(l, (total + 1) * sizeof *ds->prefixes);
        if (!ds->classes || !ds->prefixes) {
            ld_pop(l, mark);
            return;
        }
        for (c = v->child; c; c = c->next) {
            size_t m2 = ld_push(l, c->string);
            if (!cJSON_IsArray(c)) {
                ld_want(l, c, LD_ARR);
                ld_pop(l, m2);
                continue;
            }
            ds->classes[ds->nclasses] = ld_norm(l, c->string);
            for (w = c->child, k = 0; w; w = w->next, k++) {
                size_t m3 = ld_push_i(l, k);
                if (cJSON_IsString(w)) {
                    ds->prefixes[ds->nprefixes].word = ld_norm(l, w->valuestring);
                    ds->prefixes[ds->nprefixes++].klass = ds->nclasses;
                } else {
                    ld_want(l, w, LD_STR);
                }
                ld_pop(l, m3);
            }
            ds->nclasses++;
            ld_pop(l, m2);
        }
        /* Longest first, so "kota administrasi" wins over "kota" (stable). */
        for (i = 1; i < ds->nprefixes; i++) {
            lk_prefix p = ds->prefixes[i];
            size_t pl = p.word ? strlen(p.word) : 0;
            for (j = i;
                 j > 0 && (ds->prefixes[j - 1].word ? strlen(ds->prefixes[j - 1].word) : 0) < pl;
                 j--)
                ds->prefixes[j] = ds->prefixes[j - 1];
            ds->prefixes[j] = p;
        }
        ld_pop(l, mark);
    }
}

/* Extra fields: every key other than id, name, parent and aliases, over all
 * rows, in first-seen order. */
static void fields(ld *l, lk_dataset *ds, const cJSON *arr)
{
    const cJSON *row, *c;
    int cap = 0, k;

    for (row = arr->child; row; row = row->next) {
        for (c = cJSON_IsObject(row) ? row->child : NULL; c; c = c->next) {
            if (!strcmp(c->string, "id") || !strcmp(c->string, "name") ||
                !strcmp(c->string, "parent") || !strcmp(c->string, "aliases"))
                continue;
            for (k = 0; k < ds->nfields && strcmp(ds->field_names[k], c->string); k++)
                ;
            if (k < ds->nfields)
                continue;
            if (!ld_is_ident(c->string)) {
                /* A field becomes the variable <var>_<field>: it needs a name. */
                size_t mark = ld_push(l, c->string);
                ld_err_key(l, c,
                           "field '%s' cannot be part of a variable name (letters, "
                           "digits and '_')",
                           c->string);
                ld_pop(l, mark);
                continue;
            }
            if (ds->nfields == cap) {
                const char **nf;
                cap = cap ? cap * 2 : 8;
                if (!(nf = ld_alloc(l, (size_t)cap * sizeof *nf)))
                    return;
                if (ds->nfields)
                    memcpy(nf, ds->field_names, (size_t)ds->nfields * sizeof *nf);
                ds->field_names = nf;
            }
            ds->field_names[ds->nfields++] = ld_strdup(l, c->string);
        }
    }
}

static void row(ld *l, lk_dataset *ds, lk_row *r, const cJSON *obj, const lk_dataset *pds,
                const idkey *pix)
{
    static const char *const must[] = {"id", "name"};
    const cJSON *c, *v;
    int k;

    r->parent = -1;
    r->klass = -1;
    if (!cJSON_IsObject(obj)) {
        ld_err(l, obj, "a row is an object {\"id\": ..., \"name\": ...}, not %s",
               ld_type_name(obj));
        return;
    }
    for (k = 0; k < 2; k++) {
        v = cJSON_GetObjectItemCaseSensitive(obj, must[k]);
        if (!v)
            ld_err(l, obj, "missing required key '%s' in a row", must[k]);
    }
    if ((v = ld_member(l, obj, "id", LD_STR | LD_INT, 0, "a row")))
        r->id = id_text(l, v);
    if ((v = ld_member(l, obj, "name", LD_STR, 0, "a row"))) {
        size_t mark = ld_push(l, "name");
        r->name = ld_strdup(l, v->valuestring);
        r->norm = ld_norm(l, v->valuestring);
        if (r->norm && !*r->norm)
            ld_err(l, v, "the name is empty once normalised");
        ld_pop(l, mark);
    }
    if (r->norm) {
        r->bare = r->norm;
        for (k = 0; k < ds->nprefixes; k++) {
            const char *p = ds->prefixes[k].word;
            size_t pl = p ? strlen(p) : 0;
            if (pl && strncmp(r->norm, p, pl) == 0 && r->norm[pl] == ' ') {
                r->bare = r->norm + pl + 1;
                r->klass = ds->prefixes[k].klass;
                break;
            }
        }
    }
    v = cJSON_GetObjectItemCaseSensitive(obj, "parent");
    if (v && !pds) {
        size_t mark = ld_push(l, "parent");
        ld_err(l, v, "the row has a parent but data set '%s' has no \"parent\" data set", ds->name);
        ld_pop(l, mark);
    } else if (!v && pds) {
        ld_err(l, obj, "missing required key 'parent' in a row (data set '%s' has parent '%s')",
               ds->name, pds->name);
    } else if (v && (v = ld_member(l, obj, "parent", LD_STR | LD_INT, 0, "a row"))) {
        const char *pid = id_text(l, v);
        size_t mark = ld_push(l, "parent");
        if (pid && (r->parent = find_id(pix, pds->nrows, pid)) < 0)
            ld_err(l, v, "no row of data set '%s' has the id '%s'", pds->name, pid);
        ld_pop(l, mark);
    }
    if ((v = ld_member(l, obj, "aliases", LD_ARR, 0, "a row"))) {
        size_t mark = ld_push(l, "aliases");
        r->aliases = ld_alloc(l, ((size_t)cJSON_GetArraySize(v) + 1) * sizeof *r->aliases);
        for (c = v->child, k = 0; c && r->aliases; c = c->next, k++) {
            size_t m2 = ld_push_i(l, k);
            if (cJSON_IsString(c))
                r->aliases[r->naliases++] = ld_norm(l, c->valuestring);
            else
                ld_want(l, c, LD_STR);
            ld_pop(l, m2);
        }
        ld_pop(l, mark);
    }
    r->fields = ld_alloc(l, ((size_t)ds->nfields + 1) * sizeof *r->fields);
    for (k = 0; k < ds->nfields && r->fields; k++) {
        lk_value *fv = &r->fields[k];
        if (!(v = cJSON_GetObjectItemCaseSensitive(obj, ds->field_names[k])))
            continue;
        if (cJSON_IsString(v)) {
            fv->type = LK_VT_STR;
            fv->s = ld_strdup(l, v->valuestring);
            fv->n = strlen(v->valuestring);
        } else if (ld_int_of(l, v, &fv->i) == 0) {
            fv->type = LK_VT_INT;
        } else {
            size_t mark = ld_push(l, ds->field_names[k]);
            ld_err(l, v, "a row's fields are strings or integers, not %s", ld_type_name(v));
            ld_pop(l, mark);
        }
    }
}

static void rows(ld *l, lk_dataset *ds, const cJSON *arr)
{
    const lk_dataset *pds = ds->parent >= 0 ? &l->f->datasets[ds->parent] : NULL;
    idkey *pix = pds ? id_index(pds) : NULL, *ix = NULL;
    lk_row *tmp = NULL;
    const cJSON *c;
    int i, k, line, col;

    if (pds && !pix) {
        l->oom = 1;
        return;
    }
    fields(l, ds, arr);
    ds->nrows = cJSON_GetArraySize(arr);
    tmp = calloc((size_t)ds->nrows + 1, sizeof *tmp);
    ds->rows = ld_alloc(l, ((size_t)ds->nrows + 1) * sizeof *ds->rows);
    if (!tmp || !ds->rows) {
        l->oom = 1;
        goto done;
    }
    if (!ds->nrows)
        ld_err(l, arr, "data set '%s' has no rows", ds->name);
    for (c = arr->child, i = 0; c; c = c->next, i++) {
        size_t mark = ld_push_i(l, i);
        row(l, ds, &tmp[i], c, pds, pix);
        ld_pop(l, mark);
    }
    /* Sort by parent, keeping file order within one parent. */
    if (pds) {
        ds->child_first = ld_alloc(l, ((size_t)pds->nrows + 1) * sizeof *ds->child_first);
        ds->child_count = ld_alloc(l, ((size_t)pds->nrows + 1) * sizeof *ds->child_count);
        if (!ds->child_first || !ds->child_count)
            goto done;
        for (i = 0; i < ds->nrows; i++)
            if (tmp[i].parent >= 0)
                ds->child_count[tmp[i].parent]++;
        for (k = 0, i = 0; i < pds->nrows; i++) {
            ds->child_first[i] = k;
            k += ds->child_count[i];
        }
        for (i = 0; i < ds->nrows; i++) /* rows without a valid parent last (an error anyway) */
            if (tmp[i].parent < 0)
                ds->rows[k++] = tmp[i];
        for (i = 0; i < pds->nrows; i++)
            ds->child_count[i] = 0;
        for (i = 0; i < ds->nrows; i++) {
            int p = tmp[i].parent;
            if (p >= 0)
                ds->rows[ds->child_first[p] + ds->child_count[p]++] = tmp[i];
        }
    } else if (ds->nrows) {
        memcpy(ds->rows, tmp, (size_t)ds->nrows * sizeof *tmp);
    }
    /* Ids are unique: a choice stores the id and finds the row again by it. */
    for (i = 0, c = arr->child; c; c = c->next, i++)
        tmp[i].id = tmp[i].id ? tmp[i].id : "";
    if (!(ix = malloc(((size_t)ds->nrows + 1) * sizeof *ix))) {
        l->oom = 1;
        goto done;
    }
    for (i = 0; i < ds->nrows; i++) {
        ix[i].id = tmp[i].id;
        ix[i].row = i;
    }
    qsort(ix, (size_t)ds->nrows, sizeof *ix, cmp_idkey);
    for (i = 1; i < ds->nrows; i++) {
        const ld_pos *p;
        size_t mark;
        if (!*ix[i].id || strcmp(ix[i].id, ix[i - 1].id) != 0)
            continue;
        p = ld_pos_of(l, cJSON_GetArrayItem(arr, ix[i - 1].row));
        line = col = 0;
        if (p)
            ld_line_col(l, p->file, p->val_off, &line, &col);
        mark = ld_push_i(l, ix[i].row);
        ld_push(l, "id");
        ld_err(l, cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(arr, ix[i].row), "id"),
               "id '%s' is used twice in data set '%s' (first by the row at line %d, column %d)",
               ix[i].id, ds->name, line, col);
        ld_pop(l, mark);
    }
done:
    free(tmp);
    free(ix);
    free(pix);
}

static void dataset(ld *l, int i, char *state)
{
    static const char *const keys[] = {"file",    "parent", "prefixes", "strip",
                                       "replace", "fuzzy",  NULL};
    lk_dataset *ds = &l->f->datasets[i];
    const cJSON *def = l->dsets[i].node, *v;
    size_t mark;
    int file;

    if (state[i] == 2)
        return;
    mark = ld_push(l, "datasets");
    ld_push(l, ds->name);
    if (state[i] == 1) {
        ld_err_key(l, def, "data set '%s' is its own ancestor through \"parent\"", ds->name);
        state[i] = 2;
        ld_pop(l, mark);
        return;
    }
    state[i] = 1;
    ds->parent = -1;
    ds->fuzzy = 2;
    if (!cJSON_IsObject(def)) {
        ld_err(l, def, "a data set is an object {\"file\": ...}, not %s", ld_type_name(def));
        goto out;
    }
    ld_check_keys(l, def, "a data set", keys);
    if ((v = ld_member(l, def, "parent", LD_STR, 0, "a data set"))) {
        size_t m2 = ld_push(l, "parent");
        if ((ds->parent = ld_dataset(l, v->valuestring)) < 0) {
            ld_err(l, v, "no data set named '%s'", v->valuestring);
        } else {
            char saved[sizeof l->path];
            size_t slen = l->plen;
            memcpy(saved, l->path, sizeof saved);
            ld_pop(l, 0);
            dataset(l, ds->parent, state);
            memcpy(l->path, saved, sizeof saved);
            l->plen = slen;
            if (state[ds->parent] != 2 || !l->f->datasets[ds->parent].rows)
                ds->parent = -1; /* its errors are reported; don't cascade */
        }
        ld_pop(l, m2);
    }
    options(l, ds, def);
    if ((v = ld_member(l, def, "file", LD_STR, 1, "a data set"))) {
        const char *dir = l->files[l->dsets[i].file].dir;
        char *path = malloc(strlen(dir) + strlen(v->valuestring) + 1);
        if (!path) {
            l->oom = 1;
            goto out;
        }
        strcpy(path, v->valuestring[0] == '/' ? "" : dir);
        strcat(path, v->valuestring);
        ds->file = ld_strdup(l, path);
        ld_push(l, "file");
        file = ld_file_load(l, path, v);
        free(path);
        if (file >= 0) {
            char saved[sizeof l->path];
            size_t slen = l->plen;
            const cJSON *root = l->files[file].root;
            memcpy(saved, l->path, sizeof saved);
            ld_pop(l, 0);
            if (!cJSON_IsArray(root))
                ld_err(l, root, "a data file is a JSON array of rows, not %s", ld_type_name(root));
            else
                rows(l, ds, root);
            memcpy(l->path, saved, sizeof saved);
            l->plen = slen;
        }
    }
out:
    state[i] = 2;
    ld_pop(l, mark);
}

void ld_datasets(ld *l)
{
    lk_flow *f = l->f;
    char *state;
    int i;

    if (!l->ndsets)
        return;
    f->datasets = ld_alloc(l, (size_t)l->ndsets * sizeof *f->datasets);
    state = calloc((size_t)l->ndsets, 1);
    if (!f->datasets || !state) {
        free(state);
        l->oom = 1;
        return;
    }
    f->ndatasets = l->ndsets;
    for (i = 0; i < l->ndsets; i++) {
        f->datasets[i].name = ld_strdup(l, l->dsets[i].name);
        f->datasets[i].parent = -1;
    }
    for (i = 0; i < l->ndsets; i++)
        dataset(l, i, state);
    free(state);
}
