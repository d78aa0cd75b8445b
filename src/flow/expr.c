/* The expression compiler: the text of an `if`, a `set` value, a function
 * body or a template placeholder becomes an lk_expr tree. Every name is
 * resolved here, once: variables to slots, parameters to indexes, settings
 * to constants or tables, calls to builtins or flow functions. Errors point
 * at the offending byte in the file and repeat the expression with the
 * column inside it. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"

typedef enum tkind {
    T_END,
    T_INT,
    T_STR,
    T_ID,
    T_OP,
    T_NOT,
    T_LP,
    T_RP,
    T_LB,
    T_RB,
    T_COMMA,
    T_DOT,
    T_PIPE,
    T_CLOSE /* }} */
} tkind;

typedef struct xp {
    ld *l;
    const cJSON *node; /* the JSON string holding the text */
    const char *s;
    size_t n, start;
    int in_template;
    size_t i; /* next byte */
    tkind t;  /* current token */
    tkind prev;
    size_t tpos, tlen;
    lk_op op;
    int64_t ival;
    char *sval; /* T_STR, decoded, in the arena */
    int failed;
    int depth; /* unary operators and parentheses open around the token */
    int nodes; /* nodes made for this expression */
} xp;

/* Bounds on one expression, so that neither parsing here nor evaluating in
 * the engine recurses without limit ("((((((...", "!!!!!!...", "1+1+...+1"). */
#define EXPR_MAX_DEPTH 64
#define EXPR_MAX_NODES 256

static const struct {
    const char *name;
    lk_builtin id;
    int min, max;
} builtins[] = {
    {"min", LK_FN_MIN, 1, 64},
    {"max", LK_FN_MAX, 1, 64},
    {"abs", LK_FN_ABS, 1, 1},
    {"if", LK_FN_IF, 3, 3},
    {"local_weekday", LK_FN_LOCAL_WEEKDAY, 1, 1},
    {"local_minutes", LK_FN_LOCAL_MINUTES, 1, 1},
    {"minutes", LK_FN_MINUTES, 1, 1},
    {"contains", LK_FN_CONTAINS, 2, 2},
    {"len", LK_FN_LEN, 1, 1},
};

static void xerr(xp *x, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

int ld_is_builtin(const char *name)
{
    size_t k;
    for (k = 0; k < sizeof builtins / sizeof builtins[0]; k++)
        if (strcmp(builtins[k].name, name) == 0)
            return 1;
    return 0;
}

static void xerr(xp *x, size_t at, const char *fmt, ...)
{
    char msg[512];
    size_t end = x->n;
    const char *close;
    va_list ap;

    if (x->failed)
        return; /* one error per expression: the rest would be noise */
    x->failed = 1;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (x->in_template && (close = strstr(x->s + x->start, "}}")))
        end = (size_t)(close - x->s);
    ld_err_in(x->l, x->node, at, "%s (column %d of the expression \"%.*s\")", msg,
              (int)(at - x->start) + 1, (int)(end - x->start), x->s + x->start);
}

static const char *tok_text(xp *x, char *buf, size_t cap)
{
    if (x->t == T_END)
        return "the end";
    snprintf(buf, cap, "'%.*s'", (int)(x->tlen > 30 ? 30 : x->tlen), x->s + x->tpos);
    return buf;
}

static int is_id(int c)
{
    return isalnum(c) || c == '_';
}

static void next(xp *x)
{
    const char *s = x->s;
    size_t i = x->i;

    while (i < x->n && isspace((unsigned char)s[i]))
        i++;
    x->prev = x->t;
    x->tpos = i;
    x->tlen = 1;
    if (i >= x->n) {
        x->t = T_END;
        x->tlen = 0;
        x->i = i;
        return;
    }
    switch (s[i]) {
    case '(': x->t = T_LP; break;
    case ')': x->t = T_RP; break;
    case '[': x->t = T_LB; break;
    case ']': x->t = T_RB; break;
    case ',': x->t = T_COMMA; break;
    case '.': x->t = T_DOT; break;
    case '+':
        x->t = T_OP;
        x->op = LK_X_ADD;
        break;
    case '-':
        x->t = T_OP;
        x->op = LK_X_SUB;
        break;
    case '*':
        x->t = T_OP;
        x->op = LK_X_MUL;
        break;
    case '/':
        x->t = T_OP;
        x->op = LK_X_DIV;
        break;
    case '%':
        x->t = T_OP;
        x->op = LK_X_MOD;
        break;
    case '<':
        x->t = T_OP;
        x->op = LK_X_LT;
        break;
    case '>':
        x->t = T_OP;
        x->op = LK_X_GT;
        break;
    case '!': x->t = T_NOT; break;
    case '=':
        if (s[i + 1] != '=') {
            xerr(x, i, "'=' is not an operator: compare with '=='");
            x->t = T_END;
            break;
        }
        x->t = T_OP;
        x->op = LK_X_EQ;
        break;
    case '&':
        if (s[i + 1] != '&') {
            xerr(x, i, "'&' is not an operator: use '&&' or 'and'");
            x->t = T_END;
            break;
        }
        x->t = T_OP;
        x->op = LK_X_AND;
        x->tlen = 2;
        break;
    case '|':
        if (s[i + 1] == '|') {
            x->t = T_OP;
            x->op = LK_X_OR;
            x->tlen = 2;
        } else {
            x->t = T_PIPE;
        }
        break;
    case '}':
        if (s[i + 1] == '}') {
            x->t = T_CLOSE;
            x->tlen = 2;
        } else {
            xerr(x, i, "unexpected '}'");
            x->t = T_END;
        }
        break;
    case '"': {
        size_t j = i + 1, k = 0;
        char *out;
        while (j < x->n && s[j] != '"')
            j += s[j] == '\\' && j + 1 < x->n ? 2 : 1;
        if (j >= x->n) {
            xerr(x, i, "string is not closed (missing '\"')");
            x->t = T_END;
            break;
        }
        out = ld_alloc(x->l, j - i);
        if (!out) {
            x->failed = 1;
            x->t = T_END;
            break;
        }
        for (i = i + 1; i < j; i++) {
            if (s[i] != '\\') {
                out[k++] = s[i];
                continue;
            }
            i++;
            switch (s[i]) {
            case '"':
            case '\\': out[k++] = s[i]; break;
            case 'n': out[k++] = '\n'; break;
            case 't': out[k++] = '\t'; break;
            default: xerr(x, i - 1, "unknown escape '\\%c' in a string", s[i]); break;
            }
        }
        x->t = T_STR;
        x->sval = out;
        x->tlen = j + 1 - x->tpos;
        break;
    }
    case '\'':
        xerr(x, i, "strings are written in double quotes: \\\"text\\\"");
        x->t = T_END;
        break;
    default:
        if (isdigit((unsigned char)s[i])) {
            size_t j = i;
            uint64_t v = 0;
            while (j < x->n && isdigit((unsigned char)s[j])) {
                if (v > ((uint64_t)INT64_MAX - (uint64_t)(s[j] - '0')) / 10) {
                    xerr(x, i, "integer too large");
                    x->t = T_END;
                    x->i = j;
                    return;
                }
                v = v * 10 + (uint64_t)(s[j] - '0');
                j++;
            }
            if (j < x->n && (isalpha((unsigned char)s[j]) || s[j] == '_' ||
                             (s[j] == '.' && x->prev != T_DOT))) {
                xerr(x, i, "integers are whole numbers written with digits only");
                x->t = T_END;
                break;
            }
            x->t = T_INT;
            x->ival = (int64_t)v;
            x->tlen = j - i;
        } else if (isalpha((unsigned char)s[i]) || s[i] == '_') {
            size_t j = i;
            while (j < x->n && is_id((unsigned char)s[j]))
                j++;
            x->tlen = j - i;
            x->t = T_ID;
            if (x->tlen == 3 && memcmp(s + i, "and", 3) == 0) {
                x->t = T_OP;
                x->op = LK_X_AND;
            } else if (x->tlen == 2 && memcmp(s + i, "or", 2) == 0) {
                x->t = T_OP;
                x->op = LK_X_OR;
            } else if (x->tlen == 3 && memcmp(s + i, "not", 3) == 0) {
                x->t = T_NOT;
            }
        } else {
            xerr(x, i, "unexpected character '%c'", isprint((unsigned char)s[i]) ? s[i] : '?');
            x->t = T_END;
        }
    }
    if (x->t == T_OP && (x->op == LK_X_LT || x->op == LK_X_GT) && s[i + 1] == '=') {
        x->op = x->op == LK_X_LT ? LK_X_LE : LK_X_GE;
        x->tlen = 2;
    } else if (x->t == T_OP && x->op == LK_X_EQ) {
        x->tlen = 2;
    } else if (x->t == T_NOT && s[i] == '!' && s[i + 1] == '=') {
        x->t = T_OP;
        x->op = LK_X_NE;
        x->tlen = 2;
    }
    x->i = x->tpos + x->tlen;
}

static lk_expr *mk(xp *x, lk_op op, int nargs)
{
    lk_expr *e;

    if (++x->nodes > EXPR_MAX_NODES) {
        if (!x->failed)
            xerr(x, x->tpos, "the expression is too long (at most %d parts)", EXPR_MAX_NODES);
        return NULL;
    }
    if (!(e = ld_alloc(x->l, sizeof *e)))
        return NULL;
    e->op = op;
    e->nargs = nargs;
    if (nargs && !(e->args = ld_alloc(x->l, (size_t)nargs * sizeof *e->args)))
        return NULL;
    return e;
}

static lk_expr *parse_expr(xp *x);

static lk_expr *mk_const_int(xp *x, int64_t v)
{
    lk_expr *e = mk(x, LK_X_CONST, 0);
    if (e) {
        e->v.type = LK_VT_INT;
        e->v.i = v;
    }
    return e;
}

static lk_expr *mk_const_str(xp *x, const char *s)
{
    lk_expr *e = mk(x, LK_X_CONST, 0);
    if (e && (e->v.s = ld_strdup(x->l, s))) {
        e->v.type = LK_VT_STR;
        e->v.n = strlen(s);
    }
    return e && e->v.s ? e : NULL;
}

static int table_of(xp *x, const cJSON *node, const char *name)
{
    ld *l = x->l;
    lk_flow *f = l->f;
    const cJSON *c;
    lk_table *t;
    int k = 0, bad = 0;
    char path[256], key[32];

    for (k = 0; k < f->ntables; k++)
        if (l->table_nodes[k] == node)
            return k;
    if (f->ntables == l->captables) {
        int ncap = l->captables ? l->captables * 2 : 8;
        lk_table *nt = ld_alloc(l, (size_t)ncap * sizeof *nt);
        const cJSON **nn = realloc(l->table_nodes, (size_t)ncap * sizeof *nn);
        if (!nt || !nn) {
            if (nn)
                l->table_nodes = nn;
            l->oom = 1;
            return -1;
        }
        if (f->ntables)
            memcpy(nt, f->tables, (size_t)f->ntables * sizeof *nt);
        f->tables = nt;
        l->table_nodes = nn;
        l->captables = ncap;
    }
    t = &f->tables[f->ntables];
    memset(t, 0, sizeof *t);
    t->name = ld_strdup(l, name);
    t->n = cJSON_GetArraySize(node);
    t->keys = ld_alloc(l, (size_t)(t->n + 1) * sizeof *t->keys);
    t->vals = ld_alloc(l, (size_t)(t->n + 1) * sizeof *t->vals);
    if (!t->keys || !t->vals || !t->name)
        return -1;
    for (c = node->child, k = 0; c; c = c->next, k++) {
        snprintf(key, sizeof key, "%d", k);
        t->keys[k] = ld_strdup(l, cJSON_IsObject(node) ? c->string : key);
        if (cJSON_IsString(c)) {
            t->vals[k].type = LK_VT_STR;
            t->vals[k].s = ld_strdup(l, c->valuestring);
            t->vals[k].n = strlen(c->valuestring);
        } else if (ld_int_of(l, c, &t->vals[k].i) == 0) {
            t->vals[k].type = LK_VT_INT;
        } else {
            snprintf(path, sizeof path, "settings.%s.%s", name, t->keys[k] ? t->keys[k] : "");
            ld_err_path(l, c, path,
                        "settings.%s is used as a table (settings.%s[key]), so its "
                        "values must be strings or integers, not %s",
                        name, name, ld_type_name(c));
            bad = 1;
        }
    }
    l->table_nodes[f->ntables] = node;
    f->ntables++;
    return bad ? -1 : f->ntables - 1;
}

/* settings.a.b (a constant) or settings.a.b[expr] (a table lookup). */
static lk_expr *parse_settings(xp *x, size_t at)
{
    const cJSON *node = x->l->settings;
    char name[256] = "";
    size_t nlen = 0;
    lk_expr *e;
    char buf[40];

    if (x->t != T_DOT) {
        xerr(x, x->tpos, "settings needs a key: settings.name");
        return NULL;
    }
    while (x->t == T_DOT) {
        const cJSON *c = NULL;
        char seg[128];
        next(x);
        if ((x->t != T_ID && x->t != T_INT) || x->tlen >= sizeof seg) {
            xerr(x, x->tpos, "expected a settings key after '.', found %s",
                 tok_text(x, buf, sizeof buf));
            return NULL;
        }
        memcpy(seg, x->s + x->tpos, x->tlen);
        seg[x->tlen] = '\0';
        if (cJSON_IsObject(node))
            c = cJSON_GetObjectItemCaseSensitive(node, seg);
        else if (cJSON_IsArray(node) && x->t == T_INT)
            c = cJSON_GetArrayItem(node, (int)x->ival);
        if (!c) {
            if (!x->l->settings)
                xerr(x, x->tpos, "the flow has no settings");
            else
                xerr(x, x->tpos, "no setting '%s' in settings%s%s", seg, nlen ? "." : "", name);
            return NULL;
        }
        nlen += (size_t)snprintf(name + nlen, sizeof name - nlen, "%s%s", nlen ? "." : "", seg);
        if (nlen >= sizeof name)
            nlen = sizeof name - 1;
        node = c;
        next(x);
    }
    if (cJSON_IsString(node))
        return mk_const_str(x, node->valuestring);
    if (cJSON_IsNumber(node)) {
        int64_t v;
        if (ld_int_of(x->l, node, &v) != 0) {
            xerr(x, at, "settings.%s is not an integer", name);
            return NULL;
        }
        return mk_const_int(x, v);
    }
    if (!cJSON_IsObject(node) && !cJSON_IsArray(node)) {
        xerr(x, at, "settings.%s is %s: settings hold strings, integers, arrays and objects", name,
             ld_type_name(node));
        return NULL;
    }
    if (x->t != T_LB) {
        xerr(x, at, "settings.%s is %s: look a value up with settings.%s[key]", name,
             ld_type_name(node), name);
        return NULL;
    }
    next(x);
    e = mk(x, LK_X_INDEX, 1);
    if (!e || !(e->args[0] = parse_expr(x)))
        return NULL;
    if (x->t != T_RB) {
        xerr(x, x->tpos, "expected ']', found %s", tok_text(x, buf, sizeof buf));
        return NULL;
    }
    next(x);
    if ((e->slot = table_of(x, node, name)) < 0) {
        x->failed = 1;
        return NULL;
    }
    return e;
}

static int check_call(xp *x, lk_expr *e, const char *name, size_t at)
{
    lk_flow *f = x->l->f;
    size_t k;
    int i;

    for (k = 0; k < sizeof builtins / sizeof builtins[0]; k++) {
        if (strcmp(builtins[k].name, name) != 0)
            continue;
        e->op = LK_X_BUILTIN;
        e->slot = (int)builtins[k].id;
        if (e->nargs < builtins[k].min || e->nargs > builtins[k].max) {
            if (builtins[k].min == builtins[k].max)
                xerr(x, at, "%s() takes %d argument%s, not %d", name, builtins[k].min,
                     builtins[k].min == 1 ? "" : "s", e->nargs);
            else
                xerr(x, at, "%s() takes at least %d argument, not %d", name, builtins[k].min,
                     e->nargs);
            return -1;
        }
        if (builtins[k].id == LK_FN_MINUTES && e->args[0]->op == LK_X_CONST) {
            const lk_value *v = &e->args[0]->v;
            if (v->type != LK_VT_STR || v->n != 5 || !isdigit((unsigned char)v->s[0]) ||
                !isdigit((unsigned char)v->s[1]) || v->s[2] != ':' ||
                !isdigit((unsigned char)v->s[3]) || !isdigit((unsigned char)v->s[4]) ||
                atoi(v->s) > 24 || atoi(v->s + 3) > 59) {
                xerr(x, at, "minutes() takes a time written \"HH:MM\", such as \"08:00\"");
                return -1;
            }
        }
        return 0;
    }
    for (i = 0; i < f->nfuncs; i++) {
        if (!f->funcs[i].name || strcmp(f->funcs[i].name, name) != 0)
            continue;
        e->op = LK_X_FUNC;
        e->slot = i;
        if (e->nargs != f->funcs[i].nparams) {
            xerr(x, at, "function %s takes %d argument%s, not %d", name, f->funcs[i].nparams,
                 f->funcs[i].nparams == 1 ? "" : "s", e->nargs);
            return -1;
        }
        return 0;
    }
    xerr(x, at,
         "unknown function '%s' (builtins: min, max, abs, if, local_weekday, "
         "local_minutes, minutes, contains, len; or one of the flow's functions)",
         name);
    return -1;
}

static lk_expr *parse_primary(xp *x)
{
    char buf[40], name[128];
    size_t at = x->tpos;
    lk_expr *e;
    int k;

    switch (x->t) {
    case T_INT:
        e = mk_const_int(x, x->ival);
        next(x);
        return e;
    case T_STR:
        e = mk_const_str(x, x->sval);
        next(x);
        return e;
    case T_LP:
        next(x);
        if (!(e = parse_expr(x)))
            return NULL;
        if (x->t != T_RP) {
            xerr(x, x->tpos, "expected ')', found %s", tok_text(x, buf, sizeof buf));
            return NULL;
        }
        next(x);
        return e;
    case T_ID: break;
    default:
        xerr(x, x->tpos, "expected a value, found %s", tok_text(x, buf, sizeof buf));
        return NULL;
    }
    if (x->tlen >= sizeof name) {
        xerr(x, at, "name too long");
        return NULL;
    }
    memcpy(name, x->s + at, x->tlen);
    name[x->tlen] = '\0';
    next(x);
    if (x->t == T_LP) {
        lk_expr *args[64];
        int nargs = 0;
        next(x);
        if (x->t != T_RP) {
            for (;;) {
                if (nargs == 64) {
                    xerr(x, x->tpos, "too many arguments");
                    return NULL;
                }
                if (!(args[nargs++] = parse_expr(x)))
                    return NULL;
                if (x->t == T_RP)
                    break;
                if (x->t != T_COMMA) {
                    xerr(x, x->tpos, "expected ',' or ')' in the arguments of %s(), found %s", name,
                         tok_text(x, buf, sizeof buf));
                    return NULL;
                }
                next(x);
            }
        }
        next(x);
        if (!(e = mk(x, LK_X_BUILTIN, nargs)))
            return NULL;
        if (nargs)
            memcpy(e->args, args, (size_t)nargs * sizeof *args);
        return check_call(x, e, name, at) == 0 ? e : NULL;
    }
    if (strcmp(name, "settings") == 0)
        return parse_settings(x, at);
    for (k = 0; k < x->l->nparams; k++) {
        if (strcmp(x->l->params[k], name) == 0) {
            if ((e = mk(x, LK_X_PARAM, 0)))
                e->slot = k;
            return e;
        }
    }
    if ((k = ld_var(x->l, name)) >= 0) {
        if ((e = mk(x, LK_X_VAR, 0)))
            e->slot = k;
        return e;
    }
    if (x->l->params)
        xerr(x, at, "unknown name '%s': not a parameter of this function and no state sets it",
             name);
    else
        xerr(x, at, "unknown variable '%s': no set, input or choice in the flow sets it", name);
    return NULL;
}

static lk_expr *parse_unary(xp *x)
{
    lk_expr *e, *a;
    lk_op op;

    if (x->depth >= EXPR_MAX_DEPTH) {
        if (!x->failed)
            xerr(x, x->tpos, "the expression is nested too deeply (at most %d levels)",
                 EXPR_MAX_DEPTH);
        return NULL;
    }
    if (x->t == T_NOT || (x->t == T_OP && x->op == LK_X_SUB)) {
        op = x->t == T_NOT ? LK_X_NOT : LK_X_NEG;
        next(x);
        x->depth++;
        a = parse_unary(x);
        x->depth--;
        if (!a)
            return NULL;
        if (op == LK_X_NEG && a->op == LK_X_CONST && a->v.type == LK_VT_INT) {
            a->v.i = -a->v.i;
            return a;
        }
        if (!(e = mk(x, op, 1)))
            return NULL;
        e->args[0] = a;
        return e;
    }
    return parse_primary(x);
}

/* Binary levels, loosest first. */
static int level_of(lk_op op)
{
    switch (op) {
    case LK_X_OR: return 0;
    case LK_X_AND: return 1;
    case LK_X_EQ:
    case LK_X_NE: return 2;
    case LK_X_LT:
    case LK_X_LE:
    case LK_X_GT:
    case LK_X_GE: return 3;
    case LK_X_ADD:
    case LK_X_SUB: return 4;
    case LK_X_MUL:
    case LK_X_DIV:
    case LK_X_MOD: return 5;
    default: return -1;
    }
}

static lk_expr *parse_level(xp *x, int level)
{
    lk_expr *e, *b, *n;

    if (level > 5)
        return parse_unary(x);
    if (!(e = parse_level(x, level + 1)))
        return NULL;
    while (x->t == T_OP && level_of(x->op) == level) {
        lk_op op = x->op;
        next(x);
        if (!(b = parse_level(x, level + 1)) || !(n = mk(x, op, 2)))
            return NULL;
        n->args[0] = e;
        n->args[1] = b;
        e = n;
    }
    return e;
}

static lk_expr *parse_expr(xp *x)
{
    lk_expr *e;

    if (x->failed)
        return NULL;
    x->depth++; /* parentheses, arguments and indexes parse an expression again */
    e = parse_level(x, 0);
    x->depth--;
    return e;
}

lk_expr *ld_expr(ld *l, const cJSON *node, const char *s, size_t start, int in_template,
                 size_t *end)
{
    xp x;
    lk_expr *e;
    char buf[40];

    memset(&x, 0, sizeof x);
    x.l = l;
    x.node = node;
    x.s = s;
    x.n = strlen(s);
    x.start = x.i = start;
    x.in_template = in_template;
    next(&x);
    if (x.t == T_END || x.t == T_CLOSE || x.t == T_PIPE) {
        if (!x.failed)
            xerr(&x, x.tpos, "empty expression");
        return NULL;
    }
    e = parse_expr(&x);
    if (!e || x.failed)
        return NULL;
    if (in_template ? (x.t != T_CLOSE && x.t != T_PIPE && x.t != T_END) : x.t != T_END) {
        if (x.t == T_CLOSE || x.t == T_PIPE)
            xerr(&x, x.tpos, "%s outside a template", tok_text(&x, buf, sizeof buf));
        else if (in_template)
            xerr(&x, x.tpos, "expected an operator, '|' or '}}', found %s",
                 tok_text(&x, buf, sizeof buf));
        else
            xerr(&x, x.tpos, "expected an operator or the end, found %s",
                 tok_text(&x, buf, sizeof buf));
        return NULL;
    }
    if (end)
        *end = x.tpos;
    return e;
}

lk_expr *ld_expr_node(ld *l, const cJSON *node)
{
    int64_t v;

    if (cJSON_IsString(node))
        return ld_expr(l, node, node->valuestring, 0, 0, NULL);
    if (ld_int_of(l, node, &v) == 0) {
        lk_expr *e = ld_alloc(l, sizeof *e);
        if (e) {
            e->op = LK_X_CONST;
            e->v.type = LK_VT_INT;
            e->v.i = v;
        }
        return e;
    }
    ld_want(l, node, LD_STR | LD_INT);
    return NULL;
}

void ld_settings_check(ld *l, const cJSON *node)
{
    const cJSON *c;
    int i = 0;

    for (c = node->child; c; c = c->next, i++) {
        size_t mark = cJSON_IsObject(node) ? ld_push(l, c->string) : ld_push_i(l, i);
        if (cJSON_IsObject(c) || cJSON_IsArray(c))
            ld_settings_check(l, c);
        else if (!ld_is(l, c, LD_STR | LD_INT))
            ld_err(l, c, "settings hold strings, integers, arrays and objects, not %s",
                   ld_type_name(c));
        ld_pop(l, mark);
    }
}
