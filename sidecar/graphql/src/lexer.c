/*
 * lexer.c — GraphQL lexer (spec 2.1 "Source Text"). One pass, no
 * backtracking; string values are decoded into the document arena, block
 * strings get the BlockStringValue() indentation treatment. Columns count
 * Unicode code points, as graphql-js does for non-astral text.
 */
#include "lexer.h"

#include <stdio.h>
#include <string.h>

void gql_lexer_init(gql_lexer_t *lx, const char *src, size_t len, size_t max_tokens, gql_arena_t *arena) {
    memset(lx, 0, sizeof(*lx));
    lx->src = lx->p = lx->col_ptr = src;
    lx->end = src + len;
    lx->line = 1;
    lx->col = 1;
    lx->max_tokens = max_tokens;
    lx->arena = arena;
}

const char *gql_token_kind_str(gql_token_kind_t k) {
    static const char *const names[] = {"<EOF>", "!",    "$",   "&",     "(",      ")",          "...",
                                        ":",     "=",    "@",   "[",     "]",      "{",          "|",
                                        "}",     "Name", "Int", "Float", "String", "BlockString"};
    return names[k];
}

/* Column of `p` on the current line. Amortised O(1): col_ptr only moves forward. */
static gql_loc_t loc_at(gql_lexer_t *lx, const char *p) {
    while (lx->col_ptr < p) {
        if (((unsigned char)*lx->col_ptr & 0xC0) != 0x80) lx->col++;
        lx->col_ptr++;
    }
    return (gql_loc_t){lx->line, lx->col};
}

static void newline(gql_lexer_t *lx, const char *after) {
    lx->line++;
    lx->col = 1;
    lx->col_ptr = after;
}

static int fail(gql_lexer_t *lx, const char *at, const char *fmt, const char *arg) {
    lx->err_loc = loc_at(lx, at);
    char buf[200];
    snprintf(buf, sizeof(buf), fmt, arg ? arg : "");
    snprintf(lx->err, sizeof(lx->err), "Syntax Error: %s", buf);
    return -1;
}

static const char *char_desc(const char *p, const char *end, char *buf, size_t n) {
    if (p >= end) return "<EOF>";
    unsigned char c = (unsigned char)*p;
    if (c == '"')
        snprintf(buf, n, "'\"'");
    else if (c >= 0x20 && c < 0x7F)
        snprintf(buf, n, "\"%c\"", c);
    else
        snprintf(buf, n, "U+%04X", c);
    return buf;
}

static bool is_name_start(int c) { return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

static bool is_digit(int c) { return c >= '0' && c <= '9'; }

/* Skips whitespace, line terminators, commas, comments and the BOM. */
static int skip_ignored(gql_lexer_t *lx) {
    const char *p = lx->p;
    while (p < lx->end) {
        unsigned char c = (unsigned char)*p;
        if (c == ' ' || c == '\t' || c == ',') {
            p++;
        } else if (c == '\n') {
            p++;
            newline(lx, p);
        } else if (c == '\r') {
            p++;
            if (p < lx->end && *p == '\n') p++;
            newline(lx, p);
        } else if (c == 0xEF && lx->end - p >= 3 && (unsigned char)p[1] == 0xBB &&
                   (unsigned char)p[2] == 0xBF) {
            p += 3;
        } else if (c == '#') {
            while (p < lx->end && *p != '\n' && *p != '\r') p++;
        } else {
            break;
        }
    }
    lx->p = p;
    return 0;
}

static void put_utf8(char *out, size_t *n, uint32_t cp) {
    if (cp < 0x80) {
        out[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*n)++] = (char)(0xC0 | (cp >> 6));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out[(*n)++] = (char)(0xE0 | (cp >> 12));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        out[(*n)++] = (char)(0xF0 | (cp >> 18));
        out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    }
}

static int hex4(const char *p, const char *end, uint32_t *out) {
    if (end - p < 4) return -1;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static int lex_string(gql_lexer_t *lx, gql_token_t *tok) {
    const char *p = lx->p + 1;
    /* Decoded text is never longer than the raw text; measure the raw text
     * first, so a document of many strings costs O(n), not O(n) per string. */
    const char *q = p;
    while (q < lx->end && *q != '"' && *q != '\n' && *q != '\r') q += (*q == '\\' && q + 1 < lx->end) ? 2 : 1;
    char *out = gql_arena_alloc(lx->arena, (size_t)(q - p) + 1);
    if (out == NULL) return fail(lx, lx->p, "Out of memory.", NULL);
    size_t n = 0;
    while (p < lx->end) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') {
            out[n] = '\0';
            tok->value = out;
            tok->value_len = n;
            lx->p = p + 1;
            return 0;
        }
        if (c == '\n' || c == '\r') break;
        if (c < 0x20 && c != '\t') {
            char d[16];
            return fail(lx, p, "Invalid character within String: %s.", char_desc(p, lx->end, d, sizeof(d)));
        }
        if (c != '\\') {
            out[n++] = (char)c;
            p++;
            continue;
        }
        if (p + 1 >= lx->end) break;
        char e = p[1];
        const char *esc = p;
        p += 2;
        switch (e) {
        case '"': out[n++] = '"'; break;
        case '\\': out[n++] = '\\'; break;
        case '/': out[n++] = '/'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        case 'u': {
            uint32_t cp, lo;
            if (hex4(p, lx->end, &cp) < 0) return fail(lx, esc, "Invalid Unicode escape sequence.", NULL);
            p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (lx->end - p >= 6 && p[0] == '\\' && p[1] == 'u' && hex4(p + 2, lx->end, &lo) == 0 &&
                    lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p += 6;
                } else {
                    return fail(lx, esc, "Invalid Unicode escape sequence.", NULL);
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return fail(lx, esc, "Invalid Unicode escape sequence.", NULL);
            }
            put_utf8(out, &n, cp);
            break;
        }
        default: {
            char d[16];
            return fail(lx, esc, "Invalid character escape sequence: \\%s.",
                        char_desc(esc + 1, lx->end, d, sizeof(d)));
        }
        }
    }
    return fail(lx, p, "Unterminated string.", NULL);
}

static bool blank_line(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t') return false;
    return true;
}

/* Block string: raw text up to the closing quotes, \""" unescaped, then
 * BlockStringValue(): common indentation removed, blank first/last lines
 * dropped. O(n) over the raw text, two passes. */
static int lex_block_string(gql_lexer_t *lx, gql_token_t *tok) {
    const char *p = lx->p + 3;
    /* Size the buffers by this string's raw text, not the rest of the document. */
    const char *q = p;
    while (q < lx->end && !(lx->end - q >= 3 && q[0] == '"' && q[1] == '"' && q[2] == '"'))
        q += (lx->end - q >= 4 && q[0] == '\\' && q[1] == '"' && q[2] == '"' && q[3] == '"') ? 4 : 1;
    size_t cap = (size_t)(q - p) + 1;
    char *raw = gql_arena_alloc(lx->arena, cap);
    char *out = gql_arena_alloc(lx->arena, cap);
    if (raw == NULL || out == NULL) return fail(lx, lx->p, "Out of memory.", NULL);
    size_t n = 0;
    for (;;) {
        if (p >= lx->end) return fail(lx, p, "Unterminated string.", NULL);
        unsigned char c = (unsigned char)*p;
        if (c == '"' && lx->end - p >= 3 && p[1] == '"' && p[2] == '"') {
            p += 3;
            break;
        }
        if (c == '\\' && lx->end - p >= 4 && p[1] == '"' && p[2] == '"' && p[3] == '"') {
            // NOLINTNEXTLINE(bugprone-not-null-terminated-result): raw is counted (n), never a C string
            memcpy(raw + n, "\"\"\"", 3);
            n += 3;
            p += 4;
            continue;
        }
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
            char d[16];
            return fail(lx, p, "Invalid character within String: %s.", char_desc(p, lx->end, d, sizeof(d)));
        }
        if (c == '\n') {
            newline(lx, p + 1);
        } else if (c == '\r') {
            if (p + 1 < lx->end && p[1] == '\n') {
                raw[n++] = '\r';
                p++;
            }
            newline(lx, p + 1);
        }
        raw[n++] = (char)c;
        p++;
    }
    lx->p = p;

    /* Split into lines (\r\n, \n, \r). */
    size_t nlines = 1;
    for (size_t i = 0; i < n; i++)
        if (raw[i] == '\n' || (raw[i] == '\r' && !(i + 1 < n && raw[i + 1] == '\n'))) nlines++;
    size_t *ls = gql_arena_alloc(lx->arena, nlines * sizeof(size_t) * 2);
    if (ls == NULL) return fail(lx, lx->p, "Out of memory.", NULL);
    size_t li = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || raw[i] == '\n' || raw[i] == '\r') {
            ls[2 * li] = start;
            ls[2 * li + 1] = i - start;
            li++;
            if (i < n && raw[i] == '\r' && i + 1 < n && raw[i + 1] == '\n') i++;
            start = i + 1;
        }
    }
    size_t common = SIZE_MAX;
    for (size_t l = 1; l < nlines; l++) {
        const char *s = raw + ls[2 * l];
        size_t len = ls[2 * l + 1], ind = 0;
        while (ind < len && (s[ind] == ' ' || s[ind] == '\t')) ind++;
        if (ind < len && ind < common) common = ind;
    }
    size_t first = 0, last = nlines;
    while (first < last && blank_line(raw + ls[2 * first], ls[2 * first + 1])) first++;
    while (last > first && blank_line(raw + ls[2 * (last - 1)], ls[2 * (last - 1) + 1])) last--;
    size_t m = 0;
    for (size_t l = first; l < last; l++) {
        const char *s = raw + ls[2 * l];
        size_t len = ls[2 * l + 1];
        if (l > 0 && common != SIZE_MAX) {
            size_t cut = common < len ? common : len;
            s += cut;
            len -= cut;
        }
        if (l > first) out[m++] = '\n';
        memcpy(out + m, s, len);
        m += len;
    }
    out[m] = '\0';
    tok->value = out;
    tok->value_len = m;
    return 0;
}

static int lex_number(gql_lexer_t *lx, gql_token_t *tok) {
    const char *p = lx->p;
    bool is_float = false;
    char d[16];
    if (*p == '-') p++;
    if (p < lx->end && *p == '0') {
        p++;
        if (p < lx->end && is_digit(*p))
            return fail(lx, p, "Invalid number, unexpected digit after 0: %s.",
                        char_desc(p, lx->end, d, sizeof(d)));
    } else {
        if (p >= lx->end || !is_digit(*p))
            return fail(lx, p, "Invalid number, expected digit but got: %s.",
                        char_desc(p, lx->end, d, sizeof(d)));
        while (p < lx->end && is_digit(*p)) p++;
    }
    if (p < lx->end && *p == '.') {
        is_float = true;
        p++;
        if (p >= lx->end || !is_digit(*p))
            return fail(lx, p, "Invalid number, expected digit but got: %s.",
                        char_desc(p, lx->end, d, sizeof(d)));
        while (p < lx->end && is_digit(*p)) p++;
    }
    if (p < lx->end && (*p == 'e' || *p == 'E')) {
        is_float = true;
        p++;
        if (p < lx->end && (*p == '+' || *p == '-')) p++;
        if (p >= lx->end || !is_digit(*p))
            return fail(lx, p, "Invalid number, expected digit but got: %s.",
                        char_desc(p, lx->end, d, sizeof(d)));
        while (p < lx->end && is_digit(*p)) p++;
    }
    if (p < lx->end && (*p == '.' || is_name_start((unsigned char)*p)))
        return fail(lx, p, "Invalid number, expected digit but got: %s.",
                    char_desc(p, lx->end, d, sizeof(d)));
    tok->kind = is_float ? GQL_TOK_FLOAT : GQL_TOK_INT;
    tok->value = gql_arena_strndup(lx->arena, lx->p, (size_t)(p - lx->p));
    tok->value_len = (size_t)(p - lx->p);
    lx->p = p;
    return tok->value ? 0 : fail(lx, p, "Out of memory.", NULL);
}

int gql_lexer_next(gql_lexer_t *lx, gql_token_t *tok) {
    skip_ignored(lx);
    memset(tok, 0, sizeof(*tok));
    tok->start = lx->p;
    tok->loc = loc_at(lx, lx->p);
    if (lx->p >= lx->end) {
        tok->kind = GQL_TOK_EOF;
        return 0;
    }
    if (lx->max_tokens && ++lx->ntokens > lx->max_tokens) {
        lx->limit_hit = true;
        lx->err_loc = tok->loc;
        snprintf(lx->err, sizeof(lx->err), "Document has more than %zu tokens (limit); simplify the query.",
                 lx->max_tokens);
        return -1;
    }
    unsigned char c = (unsigned char)*lx->p;
    const char *start = lx->p;
    int rc = 0;
    switch (c) {
    case '!':
        tok->kind = GQL_TOK_BANG;
        lx->p++;
        break;
    case '$':
        tok->kind = GQL_TOK_DOLLAR;
        lx->p++;
        break;
    case '&':
        tok->kind = GQL_TOK_AMP;
        lx->p++;
        break;
    case '(':
        tok->kind = GQL_TOK_LPAREN;
        lx->p++;
        break;
    case ')':
        tok->kind = GQL_TOK_RPAREN;
        lx->p++;
        break;
    case ':':
        tok->kind = GQL_TOK_COLON;
        lx->p++;
        break;
    case '=':
        tok->kind = GQL_TOK_EQUALS;
        lx->p++;
        break;
    case '@':
        tok->kind = GQL_TOK_AT;
        lx->p++;
        break;
    case '[':
        tok->kind = GQL_TOK_LBRACKET;
        lx->p++;
        break;
    case ']':
        tok->kind = GQL_TOK_RBRACKET;
        lx->p++;
        break;
    case '{':
        tok->kind = GQL_TOK_LBRACE;
        lx->p++;
        break;
    case '|':
        tok->kind = GQL_TOK_PIPE;
        lx->p++;
        break;
    case '}':
        tok->kind = GQL_TOK_RBRACE;
        lx->p++;
        break;
    case '.':
        if (lx->end - lx->p >= 3 && lx->p[1] == '.' && lx->p[2] == '.') {
            tok->kind = GQL_TOK_SPREAD;
            lx->p += 3;
        } else {
            return fail(lx, lx->p, "Unexpected \".\".%s", NULL);
        }
        break;
    case '"':
        if (lx->end - lx->p >= 3 && lx->p[1] == '"' && lx->p[2] == '"') {
            tok->kind = GQL_TOK_BLOCK_STRING;
            rc = lex_block_string(lx, tok);
        } else {
            tok->kind = GQL_TOK_STRING;
            rc = lex_string(lx, tok);
        }
        break;
    default:
        if (is_name_start(c)) {
            const char *p = lx->p + 1;
            while (p < lx->end && (is_name_start((unsigned char)*p) || is_digit(*p))) p++;
            tok->kind = GQL_TOK_NAME;
            tok->value = gql_arena_strndup(lx->arena, lx->p, (size_t)(p - lx->p));
            if (tok->value == NULL) return fail(lx, lx->p, "Out of memory.", NULL);
            tok->value_len = (size_t)(p - lx->p);
            lx->p = p;
        } else if (c == '-' || is_digit(c)) {
            rc = lex_number(lx, tok);
        } else {
            char d[16];
            return fail(lx, lx->p, "Unexpected character: %s.", char_desc(lx->p, lx->end, d, sizeof(d)));
        }
    }
    tok->len = (size_t)(lx->p - start);
    return rc;
}
