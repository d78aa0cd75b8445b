/* The arena every compiled flow lives in: many small allocations that are
 * all freed together with the flow, so the loader never frees piecemeal. */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "flow_model.h"

#define BLOCK_SIZE (64 * 1024)
#define ALIGN alignof(max_align_t)
#define ROUND(n) (((n) + ALIGN - 1) & ~(size_t)(ALIGN - 1))

void *lk_arena_alloc(lk_arena *a, size_t n)
{
    size_t hdr = ROUND(sizeof(lk_arena_block));
    lk_arena_block *b = a->head;

    if (n > ((size_t)1 << 40))
        return NULL;
    n = n ? ROUND(n) : ALIGN;
    if (!b || b->cap - b->used < n) {
        /* Big requests get a block of their own behind the head, so the
         * space left in the current block is not thrown away. */
        size_t cap = n > BLOCK_SIZE / 4 ? n : BLOCK_SIZE;
        lk_arena_block *nb = calloc(1, hdr + cap);
        if (!nb)
            return NULL;
        nb->cap = cap;
        if (b && cap == n) {
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            a->head = nb;
        }
        b = nb;
    }
    b->used += n;
    return (char *)b + hdr + b->used - n; /* calloc-ed, never reused: zero */
}

char *lk_arena_strndup(lk_arena *a, const char *s, size_t n)
{
    char *p = lk_arena_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

char *lk_arena_strdup(lk_arena *a, const char *s)
{
    return lk_arena_strndup(a, s, strlen(s));
}

void lk_arena_free(lk_arena *a)
{
    lk_arena_block *b = a->head;
    while (b) {
        lk_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}
