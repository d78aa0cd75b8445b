/* loket masking: personal data as the message log keeps it (src/runtime/mask.c).
 *
 * A flow marks inputs "sensitive" (a NIK, a card number, a date of birth);
 * the engine says which parts of a step were (lk_out_sensitive_input,
 * lk_out_sensitive_values), and the runtime masks them in the log rows of
 * that step, just before they are written. Replies still reach the user as
 * the flow wrote them. */
#ifndef LOKET_MASK_H
#define LOKET_MASK_H

#include "loket/core.h"
#include "loket/engine.h"
#include "loket/store.h"

/* Appends v (n bytes of UTF-8) masked: a value of 12 characters or more
 * keeps its first 4 and last 4 ("3273********8901"), a shorter one becomes
 * all '*'; one '*' per character. */
void lk_mask_value(const char *v, size_t n, lk_buf *out);

/* Masks the log row e of the step whose output is out: an inbound message
 * that a sensitive input read is masked whole; otherwise every sensitive
 * value of 4 bytes or more that the step saw is masked wherever it appears
 * (a reply that repeats the number). When it changes anything, e->text and
 * e->text_len point into buf (reset first; valid until buf changes).
 * Nothing is copied for a step without sensitive data. 0, or -1 when buf ran
 * out of memory (then the row must not be written). */
int lk_log_mask(const lk_out *out, lk_log_entry *e, lk_buf *buf);

#endif
