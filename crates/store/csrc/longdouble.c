/* INCRBYFLOAT arithmetic in C's long double, as Redis computes it, so that
 * results and their text match redis-server byte for byte. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

/* Parses `len` bytes as a long double the way Redis's string2ld does.
 * Returns 1 on success, 0 if the text is not a valid finite number. */
static int parse_ld(const char *s, size_t len, long double *out) {
    char buf[5120];
    char *eptr;
    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    long double v = strtold(buf, &eptr);
    if (isspace((unsigned char)buf[0]) || eptr[0] != '\0' ||
        (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO)) ||
        isnan(v))
        return 0;
    *out = v;
    return 1;
}

/* Formats like Redis's ld2string in human mode: %.17Lf with trailing zeros removed. */
static int format_human(long double v, char *out, size_t cap) {
    if (isinf(v)) {
        return snprintf(out, cap, "%s", v > 0 ? "inf" : "-inf");
    }
    int l = snprintf(out, cap, "%.17Lf", v);
    if (l <= 0 || (size_t)l >= cap) return -1;
    if (strchr(out, '.') != NULL) {
        char *p = out + l - 1;
        while (*p == '0') { p--; l--; }
        if (*p == '.') l--;
    }
    if (l == 2 && out[0] == '-' && out[1] == '0') { out[0] = '0'; l = 1; }
    out[l] = '\0';
    return l;
}

/* Status: 0 ok, 1 current value not a float, 2 increment not a float, 3 result nan/inf. */
int redoubt_ld_incr(const char *cur, size_t cur_len, const char *incr, size_t incr_len,
                    char *out, size_t cap, size_t *out_len) {
    long double a = 0, b = 0;
    if (cur != NULL && !parse_ld(cur, cur_len, &a)) return 1;
    if (!parse_ld(incr, incr_len, &b)) return 2;
    long double r = a + b;
    if (isnan(r) || isinf(r)) return 3;
    int l = format_human(r, out, cap);
    if (l < 0) return 3;
    *out_len = (size_t)l;
    return 0;
}

/* Parses a double as Redis's getDoubleFromObject (strtod) does: 1 on success. */
int redoubt_strtod(const char *s, size_t len, double *out) {
    char buf[5120];
    char *eptr;
    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    double v = strtod(buf, &eptr);
    if (isspace((unsigned char)buf[0]) || eptr[0] != '\0' ||
        (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || fpclassify(v) == FP_ZERO)) ||
        isnan(v))
        return 0;
    *out = v;
    return 1;
}
