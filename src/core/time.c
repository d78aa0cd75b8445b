/* Civil time without the C library's clock or time zone database: the engine
 * gets the time as a parameter and a fixed UTC offset from the flow, so every
 * run can be replayed exactly. Algorithms after Howard Hinnant's date paper. */
#include "loket/core.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

int64_t lk_days_from_civil(int y, int m, int d)
{
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

void lk_civil_from_ms(int64_t ms, int offset_min, lk_civil *out)
{
    int64_t s = ms / 1000 - (ms % 1000 < 0) + (int64_t)offset_min * 60;
    int64_t days = s / 86400 - (s % 86400 < 0);
    int64_t rem = s - days * 86400;

    civil_from_days(days, &out->year, &out->month, &out->day);
    out->hour = (int)(rem / 3600);
    out->min = (int)(rem / 60 % 60);
    out->sec = (int)(rem % 60);
    out->wday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
}

static int days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

static int digits(const char *s, int n, int *v)
{
    int i;
    *v = 0;
    for (i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        *v = *v * 10 + (s[i] - '0');
    }
    return 0;
}

int lk_date_parse(const char *s, size_t n, int *y, int *m, int *d)
{
    if (n != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    if (digits(s, 4, y) || digits(s + 5, 2, m) || digits(s + 8, 2, d))
        return -1;
    if (*y < 1 || *m < 1 || *m > 12 || *d < 1 || *d > days_in_month(*y, *m))
        return -1;
    return 0;
}

int lk_time_parse_iso(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, sec = 0, oh = 0, om = 0, sign = 1;
    size_t n = strlen(s);
    const char *p;

    if (n < 16 || lk_date_parse(s, 10, &y, &mo, &d) || (s[10] != 'T' && s[10] != ' '))
        return -1;
    if (digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || h > 23 || mi > 59)
        return -1;
    p = s + 16;
    if (*p == ':') {
        if (digits(p + 1, 2, &sec) || sec > 59)
            return -1;
        p += 3;
    }
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 14 || om > 59)
            return -1;
        p += 6;
    } else if (*p) {
        return -1;
    }
    if (*p)
        return -1;
    *ms = ((lk_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) -
           sign * (oh * 3600 + om * 60)) *
          1000;
    return 0;
}

int lk_duration_parse(const char *s, int64_t *ms)
{
    char *end;
    long long v;
    int64_t unit = 1000;

    if (!s || !isdigit((unsigned char)*s))
        return -1;
    v = strtoll(s, &end, 10);
    if (v < 0 || v > 100000000)
        return -1;
    if (*end) {
        switch (*end) {
        case 's': unit = 1000; break;
        case 'm': unit = 60 * 1000; break;
        case 'h': unit = 3600 * 1000; break;
        case 'd': unit = 86400 * 1000; break;
        default: return -1;
        }
        if (end[1])
            return -1;
    }
    *ms = (int64_t)v * unit;
    return 0;
}
