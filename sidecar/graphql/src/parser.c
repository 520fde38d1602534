/*
 * parser.c — recursive-descent parser for executable GraphQL documents
 * (spec 2.2–2.12) into an arena-allocated AST. Errors unwind with longjmp:
 * everything allocated so far lives in the document arena, so unwinding
 * leaks nothing and keeps each production a few lines long. Nesting depth is
 * bounded (limits.max_depth) so hostile input cannot exhaust the C stack.
 */
#include "lexer.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    gql_lexer_t lx;
    gql_token_t tok;
    byron_graphql_document_t *doc;
    unsigned depth, max_depth;
    jmp_buf jmp;
    byron_status_t status;
    char err[300];
    gql_loc_t err_loc;
} parser_t;

static _Noreturn void parse_fail(parser_t *ps, const gql_loc_t *loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static _Noreturn void parse_fail(parser_t *ps, const gql_loc_t *loc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->err, sizeof(ps->err), fmt, ap);
    va_end(ap);
    ps->err_loc = *loc;
    if (ps->status == BYRON_OK) ps->status = BYRON_EINVAL;
    longjmp(ps->jmp, 1);
}

static void *alloc(parser_t *ps, size_t n) {
    void *p = gql_arena_alloc(&ps->doc->arena, n);
    if (p == NULL) {
        ps->status = BYRON_ENOMEM;
        parse_fail(ps, &ps->tok.loc, "Out of memory.");
    }
    return p;
}

static void advance(parser_t *ps) {
    if (gql_lexer_next(&ps->lx, &ps->tok) < 0) {
        if (ps->lx.limit_hit) ps->status = BYRON_ELIMIT;
        parse_fail(ps, &ps->lx.err_loc, "%s", ps->lx.err);
    }
}

static void describe(const gql_token_t *t, char *buf, size_t n) {
    switch (t->kind) {
    case GQL_TOK_EOF: snprintf(buf, n, "<EOF>"); break;
    case GQL_TOK_NAME:
    case GQL_TOK_INT:
    case GQL_TOK_FLOAT: snprintf(buf, n, "%s \"%.40s\"", gql_token_kind_str(t->kind), t->value); break;
    case GQL_TOK_STRING:
    case GQL_TOK_BLOCK_STRING: snprintf(buf, n, "%s \"%.40s\"", gql_token_kind_str(t->kind), t->value); break;
    default: snprintf(buf, n, "\"%s\"", gql_token_kind_str(t->kind));
    }
}

static _Noreturn void unexpected(parser_t *ps) {
    char d[80];
    describe(&ps->tok, d, sizeof(d));
    parse_fail(ps, &ps->tok.loc, "Syntax Error: Unexpected %s.", d);
}

static void expect(parser_t *ps, gql_token_kind_t k) {
    if (ps->tok.kind != k) {
        char d[80];
        describe(&ps->tok, d, sizeof(d));
        parse_fail(ps, &ps->tok.loc, "Syntax Error: Expected \"%s\", found %s.", gql_token_kind_str(k), d);
    }
    advance(ps);
}

static bool skip(parser_t *ps, gql_token_kind_t k) {
    if (ps->tok.kind == k) {
        advance(ps);
        return true;
    }
    return false;
}

static bool peek_keyword(parser_t *ps, const char *kw) {
    return ps->tok.kind == GQL_TOK_NAME && strcmp(ps->tok.value, kw) == 0;
}

static const char *parse_name(parser_t *ps) {
    if (ps->tok.kind != GQL_TOK_NAME) {
        char d[80];
        describe(&ps->tok, d, sizeof(d));
        parse_fail(ps, &ps->tok.loc, "Syntax Error: Expected Name, found %s.", d);
    }
    const char *n = ps->tok.value;
    advance(ps);
    return n;
}

static void enter(parser_t *ps) {
    if (++ps->depth > ps->max_depth) {
        ps->status = BYRON_ELIMIT;
        parse_fail(ps, &ps->tok.loc, "Document nesting is deeper than %u levels (limit); simplify the query.",
                   ps->max_depth);
    }
}

static void leave(parser_t *ps) { ps->depth--; }

static gql_value_t *parse_value(parser_t *ps, bool is_const) {
    gql_value_t *v = alloc(ps, sizeof(*v));
    v->loc = ps->tok.loc;
    switch (ps->tok.kind) {
    case GQL_TOK_DOLLAR:
        if (is_const) parse_fail(ps, &ps->tok.loc, "Syntax Error: Unexpected variable in constant value.");
        advance(ps);
        v->kind = GQL_V_VARIABLE;
        v->str = parse_name(ps);
        return v;
    case GQL_TOK_INT:
    case GQL_TOK_FLOAT:
        v->kind = ps->tok.kind == GQL_TOK_INT ? GQL_V_INT : GQL_V_FLOAT;
        v->str = ps->tok.value;
        v->str_len = ps->tok.value_len;
        advance(ps);
        return v;
    case GQL_TOK_STRING:
    case GQL_TOK_BLOCK_STRING:
        v->kind = GQL_V_STRING;
        v->str = ps->tok.value;
        v->str_len = ps->tok.value_len;
        advance(ps);
        return v;
    case GQL_TOK_NAME:
        if (strcmp(ps->tok.value, "true") == 0 || strcmp(ps->tok.value, "false") == 0) {
            v->kind = GQL_V_BOOLEAN;
            v->boolean = ps->tok.value[0] == 't';
        } else if (strcmp(ps->tok.value, "null") == 0) {
            v->kind = GQL_V_NULL;
        } else {
            v->kind = GQL_V_ENUM;
            v->str = ps->tok.value;
        }
        advance(ps);
        return v;
    case GQL_TOK_LBRACKET: {
        enter(ps);
        advance(ps);
        v->kind = GQL_V_LIST;
        gql_value_t **tail = &v->items;
        while (!skip(ps, GQL_TOK_RBRACKET)) {
            *tail = parse_value(ps, is_const);
            tail = &(*tail)->next;
        }
        leave(ps);
        return v;
    }
    case GQL_TOK_LBRACE: {
        enter(ps);
        advance(ps);
        v->kind = GQL_V_OBJECT;
        gql_value_t **tail = &v->items;
        while (!skip(ps, GQL_TOK_RBRACE)) {
            gql_loc_t nloc = ps->tok.loc;
            const char *name = parse_name(ps);
            expect(ps, GQL_TOK_COLON);
            *tail = parse_value(ps, is_const);
            (*tail)->name = name;
            (*tail)->name_loc = nloc;
            tail = &(*tail)->next;
        }
        leave(ps);
        return v;
    }
    default: unexpected(ps);
    }
}

static gql_argument_t *parse_arguments(parser_t *ps, bool is_const) {
    gql_argument_t *head = NULL, **tail = &head;
    if (ps->tok.kind != GQL_TOK_LPAREN) return NULL;
    advance(ps);
    do {
        gql_argument_t *a = alloc(ps, sizeof(*a));
        a->loc = ps->tok.loc;
        a->name = parse_name(ps);
        expect(ps, GQL_TOK_COLON);
        a->value = parse_value(ps, is_const);
        *tail = a;
        tail = &a->next;
    } while (!skip(ps, GQL_TOK_RPAREN));
    return head;
}

static gql_directive_t *parse_directives(parser_t *ps, bool is_const) {
    gql_directive_t *head = NULL, **tail = &head;
    while (ps->tok.kind == GQL_TOK_AT) {
        gql_directive_t *d = alloc(ps, sizeof(*d));
        d->loc = ps->tok.loc;
        advance(ps);
        d->name = parse_name(ps);
        d->args = parse_arguments(ps, is_const);
        *tail = d;
        tail = &d->next;
    }
    return head;
}

static gql_typeref_t *parse_type(parser_t *ps) {
    gql_typeref_t *t = alloc(ps, sizeof(*t));
    t->loc = ps->tok.loc;
    if (skip(ps, GQL_TOK_LBRACKET)) {
        enter(ps);
        t->kind = GQL_T_LIST;
        t->of = parse_type(ps);
        expect(ps, GQL_TOK_RBRACKET);
        leave(ps);
    } else {
        t->kind = GQL_T_NAMED;
        t->name = parse_name(ps);
    }
    if (ps->tok.kind == GQL_TOK_BANG) {
        advance(ps);
        gql_typeref_t *nn = alloc(ps, sizeof(*nn));
        nn->kind = GQL_T_NON_NULL;
        nn->of = t;
        nn->loc = t->loc;
        return nn;
    }
    return t;
}

static gql_selection_t *parse_selection_set(parser_t *ps);

static gql_selection_t *parse_selection(parser_t *ps) {
    gql_selection_t *s = alloc(ps, sizeof(*s));
    s->loc = ps->tok.loc;
    if (skip(ps, GQL_TOK_SPREAD)) {
        if (ps->tok.kind == GQL_TOK_NAME && !peek_keyword(ps, "on")) {
            s->kind = GQL_S_SPREAD;
            s->name = parse_name(ps);
            s->directives = parse_directives(ps, false);
            return s;
        }
        s->kind = GQL_S_INLINE;
        if (peek_keyword(ps, "on")) {
            advance(ps);
            s->type_condition_loc = ps->tok.loc;
            s->type_condition = parse_name(ps);
        }
        s->directives = parse_directives(ps, false);
        s->selections = parse_selection_set(ps);
        return s;
    }
    s->kind = GQL_S_FIELD;
    const char *name = parse_name(ps);
    if (skip(ps, GQL_TOK_COLON)) {
        s->alias = name;
        name = parse_name(ps);
    }
    s->name = name;
    s->args = parse_arguments(ps, false);
    s->directives = parse_directives(ps, false);
    if (ps->tok.kind == GQL_TOK_LBRACE) s->selections = parse_selection_set(ps);
    return s;
}

static gql_selection_t *parse_selection_set(parser_t *ps) {
    gql_selection_t *head = NULL, **tail = &head;
    enter(ps);
    expect(ps, GQL_TOK_LBRACE);
    do {
        *tail = parse_selection(ps);
        tail = &(*tail)->next;
    } while (!skip(ps, GQL_TOK_RBRACE));
    leave(ps);
    return head;
}

static gql_vardef_t *parse_variable_definitions(parser_t *ps) {
    gql_vardef_t *head = NULL, **tail = &head;
    if (!skip(ps, GQL_TOK_LPAREN)) return NULL;
    do {
        gql_vardef_t *v = alloc(ps, sizeof(*v));
        v->loc = ps->tok.loc;
        expect(ps, GQL_TOK_DOLLAR);
        v->name = parse_name(ps);
        expect(ps, GQL_TOK_COLON);
        v->type = parse_type(ps);
        if (skip(ps, GQL_TOK_EQUALS)) v->default_value = parse_value(ps, true);
        v->directives = parse_directives(ps, true);
        *tail = v;
        tail = &v->next;
    } while (!skip(ps, GQL_TOK_RPAREN));
    return head;
}

static bool type_system_keyword(const char *s) {
    static const char *const kws[] = {"schema", "scalar", "type",      "interface", "union",
                                      "enum",   "input",  "directive", "extend",    NULL};
    for (int i = 0; kws[i]; i++)
        if (strcmp(s, kws[i]) == 0) return true;
    return false;
}

static gql_definition_t *parse_definition(parser_t *ps) {
    gql_definition_t *d = alloc(ps, sizeof(*d));
    d->loc = ps->tok.loc;
    if (ps->tok.kind == GQL_TOK_LBRACE) {
        d->kind = GQL_D_OPERATION;
        d->operation = BYRON_GRAPHQL_QUERY;
        d->selections = parse_selection_set(ps);
        return d;
    }
    if (ps->tok.kind == GQL_TOK_STRING || ps->tok.kind == GQL_TOK_BLOCK_STRING)
        parse_fail(ps, &ps->tok.loc,
                   "Type system definitions are not executable; send only operations and "
                   "fragments.");
    if (ps->tok.kind != GQL_TOK_NAME) unexpected(ps);
    const char *kw = ps->tok.value;
    if (strcmp(kw, "fragment") == 0) {
        advance(ps);
        d->kind = GQL_D_FRAGMENT;
        if (peek_keyword(ps, "on")) unexpected(ps);
        d->name = parse_name(ps);
        if (!peek_keyword(ps, "on")) {
            char t[80];
            describe(&ps->tok, t, sizeof(t));
            parse_fail(ps, &ps->tok.loc, "Syntax Error: Expected \"on\", found %s.", t);
        }
        advance(ps);
        d->type_condition_loc = ps->tok.loc;
        d->type_condition = parse_name(ps);
        d->directives = parse_directives(ps, false);
        d->selections = parse_selection_set(ps);
        return d;
    }
    d->kind = GQL_D_OPERATION;
    if (strcmp(kw, "query") == 0)
        d->operation = BYRON_GRAPHQL_QUERY;
    else if (strcmp(kw, "mutation") == 0)
        d->operation = BYRON_GRAPHQL_MUTATION;
    else if (strcmp(kw, "subscription") == 0)
        d->operation = BYRON_GRAPHQL_SUBSCRIPTION;
    else if (type_system_keyword(kw))
        parse_fail(ps, &ps->tok.loc,
                   "The \"%s\" definition is not executable; send only operations and "
                   "fragments.",
                   kw);
    else
        unexpected(ps);
    advance(ps);
    if (ps->tok.kind == GQL_TOK_NAME) d->name = parse_name(ps);
    d->variables = parse_variable_definitions(ps);
    d->directives = parse_directives(ps, false);
    d->selections = parse_selection_set(ps);
    return d;
}

byron_status_t byron_graphql_parse(const char *src, size_t len, const byron_graphql_limits_t *limits,
                                   byron_graphql_document_t **out, json_object **errors) {
    byron_graphql_limits_t defaults;
    if (limits == NULL) {
        byron_graphql_limits_init(&defaults);
        limits = &defaults;
    }
    *out = NULL;
    if (errors) *errors = NULL;
    size_t max_bytes = gql_limit(limits->max_document_bytes, BYRON_GRAPHQL_HARD_MAX_DOCUMENT_BYTES);
    if (len > max_bytes) {
        if (errors) {
            *errors = json_object_new_array();
            gql_error_add(*errors, NULL, BYRON_GRAPHQL_CODE_TOO_LARGE,
                          "Document is %zu bytes, more than the %zu allowed.", len, max_bytes);
        }
        return BYRON_ELIMIT;
    }
    byron_graphql_document_t *doc = calloc(1, sizeof(*doc));
    if (doc == NULL) return BYRON_ENOMEM;
    /* volatile: modified between setjmp and longjmp. */
    parser_t *volatile ps = calloc(1, sizeof(parser_t));
    if (ps == NULL) {
        free(doc);
        return BYRON_ENOMEM;
    }
    ps->doc = doc;
    ps->max_depth = (unsigned)gql_limit(limits->max_depth, BYRON_GRAPHQL_HARD_MAX_DEPTH);
    gql_lexer_init(&ps->lx, src ? src : "", src ? len : 0,
                   gql_limit(limits->max_tokens, BYRON_GRAPHQL_HARD_MAX_TOKENS), &doc->arena);
    if (setjmp(ps->jmp) != 0) {
        byron_status_t st = ps->status;
        if (errors) {
            const char *code = BYRON_GRAPHQL_CODE_PARSE;
            if (st == BYRON_ELIMIT)
                code = ps->lx.limit_hit ? BYRON_GRAPHQL_CODE_TOO_MANY_TOKENS : BYRON_GRAPHQL_CODE_TOO_DEEP;
            *errors = json_object_new_array();
            gql_error_add(*errors, &ps->err_loc, code, "%s", ps->err);
        }
        free(ps);
        byron_graphql_document_free(doc);
        return st;
    }
    advance(ps);
    gql_definition_t **tail = &doc->definitions;
    do {
        *tail = parse_definition(ps);
        tail = &(*tail)->next;
    } while (ps->tok.kind != GQL_TOK_EOF);
    free(ps);
    *out = doc;
    return BYRON_OK;
}

void byron_graphql_document_free(byron_graphql_document_t *doc) {
    if (doc == NULL) return;
    gql_arena_cleanup(&doc->arena);
    free(doc);
}

const char *gql_response_key(const gql_selection_t *field) {
    return field->alias ? field->alias : field->name;
}

const gql_definition_t *gql_document_fragment(const byron_graphql_document_t *doc, const char *name) {
    for (const gql_definition_t *d = doc->definitions; d; d = d->next)
        if (d->kind == GQL_D_FRAGMENT && strcmp(d->name, name) == 0) return d;
    return NULL;
}

const char *gql_operation_kind_str(byron_graphql_operation_kind_t k) {
    return k == BYRON_GRAPHQL_MUTATION       ? "mutation"
           : k == BYRON_GRAPHQL_SUBSCRIPTION ? "subscription"
                                             : "query";
}

const gql_definition_t *gql_document_find_operation(const byron_graphql_document_t *doc, const char *name,
                                                    byron_err_t *err) {
    const gql_definition_t *found = NULL;
    size_t n = 0;
    for (const gql_definition_t *d = doc->definitions; d; d = d->next) {
        if (d->kind != GQL_D_OPERATION) continue;
        n++;
        if (name == NULL || (d->name && strcmp(d->name, name) == 0)) found = d;
    }
    if (name == NULL && n > 1) {
        byron_err_set(err, BYRON_EINVAL,
                      "Must provide operation name if query contains multiple "
                      "operations.");
        return NULL;
    }
    if (found == NULL) {
        if (name)
            byron_err_set(err, BYRON_EINVAL, "Unknown operation named \"%s\".", name);
        else
            byron_err_set(err, BYRON_EINVAL, "Must provide an operation.");
    }
    return found;
}

byron_status_t byron_graphql_document_operation(const byron_graphql_document_t *doc,
                                                const char *operation_name,
                                                byron_graphql_operation_kind_t *kind, byron_err_t *err) {
    const gql_definition_t *op = gql_document_find_operation(doc, operation_name, err);
    if (op == NULL) return BYRON_EINVAL;
    *kind = op->operation;
    return BYRON_OK;
}
