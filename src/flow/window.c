/* The flow's "outside_window" block: the WhatsApp message template a reply
 * goes as when it would leave more than 24 hours after the user's last
 * message (Meta accepts only approved templates outside that customer
 * service window). The block names the template, its language and the texts
 * of its body parameters {{1}}, {{2}}, ... in order:
 *
 *   "outside_window": {"template": "chika_lanjut", "language": "id",
 *                      "params": ["Sobat JKN"]}
 *
 * Checked here as Meta checks them, so that a flow Meta would refuse fails
 * at load with file:line:col rather than at the first late reply. */
#include <string.h>

#include "load.h"

#define MAX_NAME 512   /* Meta's limit on a template name */
#define MAX_PARAM 1024 /* characters of a body parameter kept here */
#define MAX_PARAMS 20

/* Meta's template names: lowercase letters, digits and underscores. */
static const char *name_problem(const char *s)
{
    size_t n = strlen(s), i;

    if (n == 0 || n > MAX_NAME)
        return "a template name is 1 to 512 characters";
    for (i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return "a template name has only lowercase letters, digits and _";
    return NULL;
}

/* A language code as Meta writes them: "id", "en", "en_US", "pt_BR". */
static int language_ok(const char *s)
{
    size_t n = strlen(s), i;

    if (n < 2 || n > 15)
        return 0;
    for (i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_'))
            return 0;
    return 1;
}

/* Meta refuses a parameter holding a new line or a tab, or more than four
 * spaces in a row. */
static const char *param_problem(const char *s)
{
    size_t i, run = 0, n = strlen(s);

    if (n == 0)
        return "a template parameter is not empty";
    if (n > MAX_PARAM)
        return "a template parameter is at most 1024 bytes";
    for (i = 0; i < n; i++) {
        if (s[i] == '\n' || s[i] == '\r' || s[i] == '\t')
            return "WhatsApp refuses a template parameter with a new line or a tab";
        run = s[i] == ' ' ? run + 1 : 0;
        if (run > 4)
            return "WhatsApp refuses a template parameter with more than four spaces in a row";
    }
    return NULL;
}

void ld_outside_window(ld *l)
{
    static const char *const keys[] = {"template", "language", "params", NULL};
    const cJSON *ow = ld_member(l, l->files[0].root, "outside_window", LD_OBJ, 0, "the flow");
    const cJSON *name, *lang, *params, *c;
    lk_flow_template *t;
    const char *why;
    size_t mark, m2;
    int i = 0;

    if (!ow)
        return;
    mark = ld_push(l, "outside_window");
    ld_check_keys(l, ow, "outside_window", keys);
    name = ld_member(l, ow, "template", LD_STR, 1, "outside_window");
    lang = ld_member(l, ow, "language", LD_STR, 1, "outside_window");
    params = ld_member(l, ow, "params", LD_ARR, 0, "outside_window");
    if (name && (why = name_problem(name->valuestring))) {
        m2 = ld_push(l, "template");
        ld_err(l, name, "%s", why);
        ld_pop(l, m2);
    }
    if (lang && !language_ok(lang->valuestring)) {
        m2 = ld_push(l, "language");
        ld_err(l, lang, "'%s' is not a language code as WhatsApp writes them (id, en_US)",
               lang->valuestring);
        ld_pop(l, m2);
    }
    if (params && cJSON_GetArraySize(params) > MAX_PARAMS) {
        m2 = ld_push(l, "params");
        ld_err(l, params, "a template has at most %d body parameters here", MAX_PARAMS);
        ld_pop(l, m2);
    }
    if (!(t = ld_alloc(l, sizeof *t)) ||
        !(t->params = ld_alloc(l, (size_t)(cJSON_GetArraySize(params) + 1) * sizeof(char *)))) {
        ld_pop(l, mark);
        return;
    }
    for (c = params ? params->child : NULL; c; c = c->next, i++) {
        m2 = ld_push(l, "params");
        ld_push_i(l, i);
        if (!cJSON_IsString(c))
            ld_want(l, c, LD_STR);
        else if ((why = param_problem(c->valuestring)))
            ld_err(l, c, "%s", why);
        else
            ((const char **)t->params)[t->nparams++] = ld_strdup(l, c->valuestring);
        ld_pop(l, m2);
    }
    t->name = ld_strdup(l, name ? name->valuestring : "");
    t->language = ld_strdup(l, lang ? lang->valuestring : "");
    l->f->outside_window = t;
    ld_pop(l, mark);
}

const lk_flow_template *lk_flow_outside_window(const lk_flow *flow)
{
    return flow ? flow->outside_window : NULL;
}
